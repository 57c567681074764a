"""The risk check's checklist: every source must be resolved before the assessment completes.

A source is resolved when it is recorded as done (date, by whom, result, reference) or as not
applicable (with a reason). The list is configuration (``CasePolicy.check_sources``): a force
adds its own systems there. A "nothing to disclose" given before the checks were complete is
one of the two failures this app exists to prevent, so the workflow itself refuses it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum

DEFAULT_CHECK_SOURCES: tuple[tuple[str, str], ...] = (
    ("pnc", "Police National Computer (PNC)"),
    ("pnd", "Police National Database (PND)"),
    ("visor", "ViSOR / sex offender register"),
    ("local_intelligence", "Local intelligence and incident systems"),
    ("childrens_social_care", "Children's social care"),
    ("probation_mappa", "Probation / MAPPA"),
    ("previous_forces", "Forces where the subject previously lived"),
)


class CheckOutcome(StrEnum):
    done = "done"
    not_applicable = "not_applicable"

    @property
    def label(self) -> str:
        return {"done": "Done", "not_applicable": "Not applicable"}[self.value]


def outstanding(sources: Sequence[tuple[str, str]], resolved: Iterable[str]) -> list[str]:
    """Labels of the configured sources not yet resolved, in checklist order."""
    done = set(resolved)
    return [label for code, label in sources if code not in done]
