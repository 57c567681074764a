"""The front-end build and the base layout keep the force's branding and the strict CSP.

The compiled assets come from ``npm ci && npm run build:assets``. A missing build is a failure,
not a skip: the app cannot be used without its stylesheet.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from jinja2 import Environment, FileSystemLoader, select_autoescape

# Pure: no database, so the PostgreSQL pass of `make test` leaves it out.
pytestmark = pytest.mark.engine_independent

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "disclosure_app" / "static"
CSS = STATIC / "css" / "app.css"
TEMPLATES = ROOT / "templates"
BASE = TEMPLATES / "base.html"
UI_MACROS = TEMPLATES / "_macros" / "ui.html"

BUILD_HINT = "run `npm ci && npm run build:assets` to compile the front end"

# GDS Transport is GOV.UK's typeface: its name, its CSS family alias and its hashed font files
# (light-94a07e06a1-v2.woff2, bold-b542beb274-v2.woff2, ...).
GDS_FONT_PATTERNS = [
    re.compile(r"GDS Transport", re.IGNORECASE),
    re.compile(r"gds-transport", re.IGNORECASE),
    re.compile(r"\b(light|bold)-[0-9a-f]{6,}(-v\d+)?\b", re.IGNORECASE),
    re.compile(r"\.woff2?\b", re.IGNORECASE),
    re.compile(r"@font-face", re.IGNORECASE),
]

# A reference to a crown (or the Royal Arms crest) as an asset: a url(), a src/href, or a file
# GOV.UK ships for it. Class names such as .govuk-footer__crown are harmless and not matched.
CROWN_REFERENCE = re.compile(
    r"url\([^)]*(crown|crest|govuk-icon|govuk-opengraph)[^)]*\)"
    r"|(src|href)=[\"'][^\"']*(crown|crest|govuk-icon|govuk-opengraph)"
    r"|govuk-crest\.svg|govuk-icon-(mask|\d+)",
    re.IGNORECASE,
)
CROWN_FILE_NAMES = re.compile(r"crown|crest|govuk-icon|govuk-opengraph", re.IGNORECASE)
TEXT_SUFFIXES = {".css", ".js", ".mjs", ".svg", ".html", ".json", ".map", ".txt"}


def _compiled_css() -> str:
    if not CSS.is_file():
        pytest.fail(f"compiled stylesheet {CSS.relative_to(ROOT)} is missing: {BUILD_HINT}")
    return CSS.read_text(encoding="utf-8")


def _static_files() -> list[Path]:
    if not STATIC.is_dir():
        pytest.fail(f"{STATIC.relative_to(ROOT)} is missing: {BUILD_HINT}")
    return sorted(p for p in STATIC.rglob("*") if p.is_file())


# --- compiled CSS -------------------------------------------------------------------------------


def test_compiled_css_has_govuk_frontend_and_our_styles() -> None:
    css = _compiled_css()
    for selector in (
        ".govuk-button",
        ".govuk-template",
        ".govuk-service-navigation",
        ".govuk-notification-banner",
        ".govuk-error-summary",
        ".govuk-tag--red",
        ".app-header",
        ".app-stage-strip__item--current",
        ".app-stage-strip__item--done",
        ".app-timeline__item",
        ".app-emergency-banner",
    ):
        assert selector in css, f"{selector} missing from compiled CSS: {BUILD_HINT}"


def test_compiled_css_is_govuk_frontend_6() -> None:
    assert '--govuk-frontend-version: "6.' in _compiled_css()


def test_compiled_css_uses_the_system_font_stack() -> None:
    css = _compiled_css()
    assert "system-ui" in css
    families = set(re.findall(r"font-family:\s*([^;}]+)", css))
    assert families, "no font-family in compiled CSS"
    assert all("system-ui" in f or f.strip() == "sans-serif" for f in families), families


@pytest.mark.parametrize("pattern", GDS_FONT_PATTERNS, ids=lambda p: p.pattern)
def test_compiled_css_has_no_gds_transport_font(pattern: re.Pattern[str]) -> None:
    match = pattern.search(_compiled_css())
    assert match is None, f"GOV.UK font reference in compiled CSS: {match.group(0)!r}"


def test_compiled_css_points_at_no_image_or_font_files() -> None:
    # GOV.UK Frontend's only image is the footer crest; our settings resolve it to `none`.
    urls = re.findall(r"url\(([^)]*)\)", _compiled_css())
    assert [u for u in urls if not u.strip("\"' ").startswith("data:")] == []


def test_compiled_css_uses_the_force_brand_colour() -> None:
    assert re.search(r"--govuk-brand-colour:\s*#12284c", _compiled_css(), re.IGNORECASE)


# --- everything served from static/ -------------------------------------------------------------


def test_built_scripts_and_favicon_are_present() -> None:
    names = {p.relative_to(STATIC).as_posix() for p in _static_files()}
    for expected in ("css/app.css", "js/govuk-frontend.min.js", "js/app.js", "images/favicon.svg"):
        assert expected in names, f"{expected} missing from static/: {BUILD_HINT}"


def test_no_static_file_is_or_references_a_crown_or_gds_font() -> None:
    offenders = []
    for path in _static_files():
        rel = path.relative_to(STATIC).as_posix()
        if CROWN_FILE_NAMES.search(path.name) or path.suffix.lower() in {".woff", ".woff2"}:
            offenders.append(f"{rel}: GOV.UK crown/crest/font file")
            continue
        if path.suffix.lower() not in TEXT_SUFFIXES or path.suffix.lower() == ".map":
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if match := CROWN_REFERENCE.search(text):
            offenders.append(f"{rel}: {match.group(0)!r}")
        if path.suffix.lower() in {".css", ".svg", ".html"} and re.search(
            r"GDS Transport|gds-transport", text, re.IGNORECASE
        ):
            offenders.append(f"{rel}: GDS Transport font")
    assert offenders == []


def test_app_js_marks_support_and_initialises_govuk_frontend() -> None:
    js = (ROOT / "disclosure_app" / "assets" / "app.js").read_text(encoding="utf-8")
    assert 'from "./govuk-frontend.min.js"' in js
    assert "govuk-frontend-supported" in js
    assert "initAll()" in js


# --- templates: strict CSP, no GOV.UK branding --------------------------------------------------


@pytest.mark.parametrize("template", [BASE, UI_MACROS], ids=lambda p: p.name)
def test_templates_have_no_inline_script_or_style(template: Path) -> None:
    # Jinja comments ({# ... #}) never reach the browser.
    source = re.sub(r"\{#.*?#\}", "", template.read_text(encoding="utf-8"), flags=re.DOTALL)
    scripts = re.findall(r"<script\b[^>]*>", source, re.IGNORECASE)
    assert all(re.search(r"\bsrc\s*=", tag) for tag in scripts), scripts
    assert not re.search(r"\sstyle\s*=", source, re.IGNORECASE)
    assert not re.search(r"<style\b", source, re.IGNORECASE)
    assert not re.search(r"\son[a-z]+\s*=", source, re.IGNORECASE), "inline event handler"


def test_base_layout_loads_our_assets_and_no_govuk_branding() -> None:
    source = BASE.read_text(encoding="utf-8")
    module_script = "<script type=\"module\" src=\"{{ url_for('static', filename='js/app.js') }}\">"
    assert module_script in source
    assert "filename='css/app.css'" in source
    assert "filename='images/favicon.svg'" in source
    assert not CROWN_REFERENCE.search(source)
    assert "govukHeader" not in source
    assert "govukFooter" not in source
    assert "govuk_frontend_jinja/template.html" not in source
    assert "GDS Transport" not in source


# --- macros -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ui():
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("_macros/ui.html").module


class _FakeForm:
    """Just enough of a WTForms form: ``errors``, ``in`` and ``form[name].id``."""

    class _Field:
        def __init__(self, name: str, field_id: str) -> None:
            self.name, self.id = name, field_id

    def __init__(self, errors: dict, ids: dict[str, str]) -> None:
        self.errors = errors
        self._fields = {n: self._Field(n, i) for n, i in ids.items()}

    def __contains__(self, name: object) -> bool:
        return name in self._fields

    def __getitem__(self, name: str) -> _Field:
        return self._fields[name]


def test_error_summary_renders_nothing_without_errors(ui) -> None:
    assert str(ui.error_summary({})).strip() == ""
    assert str(ui.error_summary(_FakeForm({}, {"name": "name"}))).strip() == ""


def test_error_summary_links_each_error_to_its_field(ui) -> None:
    form = _FakeForm(
        {"name": ["Enter your name"], "postcode": ["Enter a postcode", "Too long"]},
        {"name": "name", "postcode": "address-postcode"},
    )
    html = str(ui.error_summary(form))
    assert 'class="govuk-error-summary"' in html
    assert 'data-module="govuk-error-summary"' in html
    assert '<a href="#name">Enter your name</a>' in html
    assert '<a href="#address-postcode">Enter a postcode</a>' in html
    assert '<a href="#address-postcode">Too long</a>' in html


def test_error_summary_accepts_a_plain_dict_and_escapes(ui) -> None:
    html = str(ui.error_summary({"email": ["<b>bad</b>"], None: ["Form-level problem"]}))
    assert '<a href="#email">&lt;b&gt;bad&lt;/b&gt;</a>' in html
    assert "<li>Form-level problem</li>" in html


@pytest.mark.parametrize(
    ("stage", "done", "current"),
    [
        ("intake", [], "intake"),
        ("risk_check", ["intake"], "risk_check"),
        ("decision", ["intake", "risk_check"], "decision"),
        ("disclosure", ["intake", "risk_check", "decision"], "disclosure"),
        ("closed", ["intake", "risk_check", "decision", "disclosure"], None),
    ],
)
def test_stage_strip_marks_done_and_current(ui, stage, done, current) -> None:
    html = str(ui.stage_strip(stage))
    items = re.findall(r'<li class="([^"]+)" data-stage="([a-z_]+)"', html)
    assert [key for _, key in items] == ["intake", "risk_check", "decision", "disclosure"]
    assert [key for cls, key in items if cls.endswith("--done")] == done
    expected_current = [current] if current else []
    assert [key for cls, key in items if cls.endswith("--current")] == expected_current
    assert ("Case closed" in html) is (stage == "closed")
    for label in ("Intake", "Risk check", "Multi-agency decision", "Face-to-face disclosure"):
        assert label in html


def test_status_tag_and_overdue_variant(ui) -> None:
    plain = str(ui.status_tag("Awaiting decision"))
    assert plain.strip() == '<strong class="govuk-tag">Awaiting decision</strong>'
    overdue = str(ui.status_tag("Awaiting decision", overdue=True))
    assert '<strong class="govuk-tag govuk-tag--red app-tag--overdue">Overdue</strong>' in overdue
