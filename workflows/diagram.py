"""Mermaid state diagram of the workflow, generated from the machine and grouped by stage."""

from __future__ import annotations

from workflows.disclosure import DisclosureWorkflow
from workflows.status import STAGE_LABELS, Stage, Status, stage_of
from workflows.steps import step_for


def mermaid() -> str:
    lines = ["stateDiagram-v2", "    direction TB"]
    states = [s for s in DisclosureWorkflow.states if s.value is not Status.draft]
    for stage in Stage:
        members = [s for s in states if stage_of(s.value) is stage]
        lines.append(f'    state "{STAGE_LABELS[stage]}" as stage_{stage.value} {{')
        for s in members:
            lines.append(f'        state "{s.name}" as {s.id}')
        lines.append("    }")
    lines.append("    [*] --> received : Submit an application (Right to Ask)")
    lines.append("    [*] --> referred : Open a Right to Know case")
    for s in states:
        if s.final:
            lines.append(f"    {s.id} --> [*]")
    seen: set[tuple[str, str, str]] = set()
    for s in states:
        for t in s.transitions:
            if t.internal or t.target is s:
                continue
            key = (s.id, t.target.id, str(t.event))
            if key in seen:
                continue
            seen.add(key)
            lines.append(f"    {s.id} --> {t.target.id} : {step_for(str(t.event)).title}")
    lines.append(
        "    note right of received\n"
        "        From any open state: raise urgent safeguarding; ask for,\n"
        "        authorise or refuse a target date extension.\n"
        "        During the risk check and decision: invite partner\n"
        "        agencies, who record their views; record the decision meeting.\n"
        "        Once a disclosure is approved: schedule the meeting,\n"
        "        record the signed undertaking. None changes the state.\n"
        "    end note"
    )
    return "\n".join(lines) + "\n"
