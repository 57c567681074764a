"""The layering is written as import-linter contracts in pyproject.toml ([tool.importlinter]):
workflows/ is pure domain, blueprints never import one another, nothing below the blueprints
imports one, and the concern packages import one another without cycles. These tests run the
real `lint-imports`, and prove on a throwaway copy of the code that it does catch a breach."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine_independent  # no database: not run again on PostgreSQL

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # The copy under test comes first on the path, ahead of the editable install.
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([str(LINT_IMPORTS), "--no-logo", "--no-cache", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=120, check=False)


def test_the_code_keeps_every_import_contract():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture
def copy_of_the_code(tmp_path: Path) -> Path:
    skip = shutil.ignore_patterns("__pycache__", "static", "*.pyc")
    for package in ("disclosure_app", "workflows"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=skip)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(("module", "line", "contract", "reported"), [
    ("workflows/_probe.py", "import flask\n", "pure-workflows", "workflows._probe -> flask"),
    ("workflows/_probe.py", "from sqlalchemy.orm import Session\n", "pure-workflows",
     "workflows._probe -> sqlalchemy"),
    ("workflows/_probe.py", "from disclosure_app.db import get_session\n", "pure-workflows",
     "workflows._probe -> disclosure_app.db"),
    ("workflows/_probe.py", "import holidays\n", "pure-workflows", "workflows._probe -> holidays"),
    ("disclosure_app/risk/_probe.py", "from disclosure_app.cases.views import bp\n",
     "services-below-views", "disclosure_app.risk._probe -> disclosure_app.cases.views"),
    ("disclosure_app/security/_probe.py", "from disclosure_app.web.access import allow\n",
     "services-below-views", "disclosure_app.security._probe -> disclosure_app.web.access"),
], ids=["flask", "sqlalchemy", "the-app", "bank-holidays", "service-imports-view",
        "service-imports-access"])
def test_a_forbidden_import_breaks_its_contract(copy_of_the_code, module, line, contract,
                                                reported):
    (copy_of_the_code / module).write_text(line, encoding="utf-8")
    result = _lint_imports(copy_of_the_code, "--contract", contract)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 broken" in result.stdout
    assert reported in result.stdout


def test_one_blueprint_importing_another_breaks_their_independence(copy_of_the_code):
    views = copy_of_the_code / "disclosure_app" / "risk" / "views.py"
    views.write_text(views.read_text(encoding="utf-8")
                     + "\nfrom disclosure_app.cases.views import bp as _staff_bp  # noqa\n",
                     encoding="utf-8")
    result = _lint_imports(copy_of_the_code, "--contract", "independent-blueprints")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "disclosure_app.risk.views -> disclosure_app.cases.views" in result.stdout


def test_a_cycle_between_two_security_modules_is_caught(copy_of_the_code):
    # The cycle this contract was written to end: rate limits log their breaches as security
    # events, so the event log may never reach back into the rate limits.
    events = copy_of_the_code / "disclosure_app" / "security" / "events.py"
    events.write_text(events.read_text(encoding="utf-8")
                      + "\nfrom disclosure_app.security import rate_limits  # noqa\n",
                      encoding="utf-8")
    result = _lint_imports(copy_of_the_code, "--contract", "acyclic-concerns")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "No cycles are allowed in disclosure_app.security" in result.stdout
