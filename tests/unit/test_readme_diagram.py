"""The README's workflow diagram is the one generated from the machine."""

import re
from pathlib import Path

from workflows.diagram import mermaid

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_diagram_matches_the_workflow():
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```mermaid\n(.*?)```", text, flags=re.S)
    assert blocks, "README.md has no mermaid block"
    assert blocks[0] == mermaid(), (
        "README diagram is out of date: run `flask --app disclosure_app workflow-diagram` "
        "and paste its output into README.md"
    )


def test_cli_prints_the_same_diagram(app):
    result = app.test_cli_runner().invoke(args=["workflow-diagram"])
    assert result.exit_code == 0
    assert result.output == mermaid()


def test_diagram_shows_every_stage_and_every_state():
    text = mermaid()
    for stage in ("Intake", "Risk check", "Multi-agency decision", "Face-to-face disclosure"):
        assert f'state "{stage}"' in text
    from workflows.status import Status

    for status in Status:
        if status is not Status.draft:
            assert f" as {status.value}" in text
