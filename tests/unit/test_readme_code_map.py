"""The README's map of the code names every folder there is, and only folders that exist.

The map is about folders, never modules, so that moving a module does not break it. Required:

- every Python package folder under ``disclosure_app/`` (those with an ``__init__.py``, at any
  depth, and ``disclosure_app/`` itself), ignoring ``__pycache__``;
- the project's top-level folders (``TOP_LEVEL``).

``disclosure_app/assets/`` and ``disclosure_app/static/`` (with ``static/css``, ``js`` and
``images``) are not required, because they are not packages: they hold Sass and JS sources and
the files built from them, sorted by file type rather than by concern, and listing each of those
buckets would make the map longer without telling a newcomer more. The README names ``assets/``
and ``static/`` anyway; like every folder it names, they must exist.

A helper who adds a package folder (say ``disclosure_app/reports/``) makes this test fail until
the README says, in one line, what lives there.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine_independent  # no database: not run again on PostgreSQL

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "disclosure_app"
TOP_LEVEL = ("workflows", "templates", "tests", "migrations", "benchmarks", "scripts", "deploy",
             "instance", "docs")

# "- `disclosure_app/web/` — what lives there", at any indentation.
ENTRY = re.compile(r"^\s*[-*] `(?P<folder>[^`]+?)/` — \S", re.M)


def code_map() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "\n## Map of the code\n" in text, "README.md has no '## Map of the code' section"
    return text.split("\n## Map of the code\n", 1)[1].split("\n## ", 1)[0]


def named_folders() -> list[str]:
    return ENTRY.findall(code_map())


def package_folders() -> set[str]:
    found = {"disclosure_app"}
    for init in PACKAGE.rglob("__init__.py"):
        folder = init.parent
        if "__pycache__" not in folder.parts:
            found.add(folder.relative_to(ROOT).as_posix())
    return found


def test_the_map_names_folders_one_line_each():
    folders = named_folders()
    assert folders, "the README's map of the code names no folder"
    assert len(folders) == len(set(folders)), "a folder is named twice in the map"
    entry_lines = [line for line in code_map().splitlines()
                   if line.lstrip().startswith(("- ", "* "))]
    assert len(entry_lines) == len(folders), (
        "every entry of the map is one line: - `folder/` — what lives there")


def test_every_folder_the_map_names_exists():
    missing = [f for f in named_folders() if not (ROOT / f).is_dir()]
    assert not missing, f"the README's map names folders that do not exist: {missing}"


def test_every_package_folder_and_top_level_folder_is_in_the_map():
    required = package_folders() | set(TOP_LEVEL)
    unnamed = sorted(required - set(named_folders()))
    assert not unnamed, (
        f"add a line for each of these folders to the README's map of the code: {unnamed}")


def test_the_required_folders_are_found_at_all():
    # Guards the test itself: a broken search would require nothing and pass.
    packages = package_folders()
    assert {"disclosure_app", "disclosure_app/web", "disclosure_app/risk/register"} <= packages
    assert not any("__pycache__" in p for p in packages)
    assert all((ROOT / t).is_dir() for t in TOP_LEVEL)
