"""The README stays a front door (at most 15 KB), and no link in the README or docs/ is broken.

A relative link must point to a file or folder that exists; when it carries a ``#fragment``
into a Markdown file, that file must have a heading with that anchor (GitHub's rule: lower
case, punctuation dropped, spaces to hyphens, ``-1``, ``-2`` … for repeats). Links inside code
(fenced blocks and backticks) are text, not links.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

pytestmark = pytest.mark.engine_independent  # no database: not run again on PostgreSQL

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
README_MAX_BYTES = 15_000  # "at most 15 KB", read strictly as 15,000 bytes

LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def documents() -> list[Path]:
    return [README, *sorted((ROOT / "docs").rglob("*.md"))]


def prose(text: str) -> str:
    return INLINE_CODE.sub("", FENCE.sub("", text))


def anchors(markdown: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCE.sub("", markdown.read_text(encoding="utf-8"))):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def relative_links(doc: Path) -> list[str]:
    targets = LINK.findall(prose(doc.read_text(encoding="utf-8")))
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t, re.I)]


def test_the_readme_is_at_most_15_kb():
    size = len(README.read_bytes())
    assert size <= README_MAX_BYTES, (
        f"README.md is {size} bytes; keep it under {README_MAX_BYTES} and move detail to docs/")


def test_every_relative_link_points_to_something_that_exists():
    broken = []
    for doc in documents():
        for target in relative_links(doc):
            path_part, _, fragment = target.partition("#")
            path = (doc.parent / unquote(path_part)).resolve() if path_part else doc
            if not path.exists():
                broken.append(f"{doc.relative_to(ROOT)}: {target} (no such file)")
            elif fragment and path.suffix == ".md" and unquote(fragment) not in anchors(path):
                broken.append(f"{doc.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_the_link_check_sees_the_readme_links_to_docs():
    # Guards the test itself: a link pattern that matched nothing would pass every time.
    targets = relative_links(README)
    assert "docs/README.md" in targets and "docs/testing.md#timings" in targets
    assert "timings" in anchors(ROOT / "docs" / "testing.md")
