"""workflows/ is pure domain code: it must never import the web, ORM or form layers."""

import ast
from pathlib import Path

import pytest

# Pure: no database, so the PostgreSQL pass of `make test` leaves it out.
pytestmark = pytest.mark.engine_independent

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
FORBIDDEN = {"flask", "flask_login", "flask_wtf", "sqlalchemy", "wtforms", "disclosure_app",
             "alembic", "govuk_frontend_wtf", "govuk_frontend_jinja"}


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("path", sorted(WORKFLOWS.rglob("*.py")), ids=lambda p: p.name)
def test_workflow_module_imports_no_web_orm_or_form_library(path):
    assert not (_imported_roots(path) & FORBIDDEN)


def test_the_purity_check_would_catch_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from sqlalchemy.orm import Session\nimport flask\n")
    assert _imported_roots(bad) & FORBIDDEN == {"sqlalchemy", "flask"}
