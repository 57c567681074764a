"""Who can act on a case: staff roles, police ranks, partner agencies and the acting person."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum


class Role(StrEnum):
    """Roles stored on staff accounts, plus ``applicant`` for the public (who have no account)."""

    applicant = "applicant"
    case_officer = "case_officer"
    decision_maker = "decision_maker"
    partner = "partner"
    auditor = "auditor"
    admin = "admin"
    # Reviews closed records under MoPI, sets legal holds, approves disposal; never sees an open
    # case (disclosure_app.records).
    records_manager = "records_manager"

    @property
    def label(self) -> str:
        return {
            "applicant": "Applicant",
            "case_officer": "Case officer",
            "decision_maker": "Decision-maker",
            "partner": "Partner agency",
            "auditor": "Auditor",
            "admin": "Administrator",
            "records_manager": "Records manager",
        }[self.value]


STAFF_ROLES = (Role.case_officer, Role.decision_maker, Role.partner, Role.auditor, Role.admin,
               Role.records_manager)


class Rank(IntEnum):
    """Police ranks in order, so that "at least Inspector" is a comparison."""

    constable = 1
    sergeant = 2
    inspector = 3
    chief_inspector = 4
    superintendent = 5
    chief_superintendent = 6

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").title()

    @classmethod
    def parse(cls, value: str | int | Rank | None) -> Rank | None:
        if value is None or value == "":
            return None
        if isinstance(value, Rank):
            return value
        if isinstance(value, int):
            return cls(value)
        return cls[str(value).strip().lower().replace(" ", "_").replace("-", "_")]


class Agency(StrEnum):
    """Partner agencies consulted on the multi-agency decision."""

    probation = "probation"
    childrens_social_care = "childrens_social_care"
    health = "health"
    education = "education"
    other = "other"

    @property
    def label(self) -> str:
        return {
            "probation": "Probation",
            "childrens_social_care": "Children's social care",
            "health": "Health",
            "education": "Education",
            "other": "Other agency",
        }[self.value]


@dataclass(frozen=True)
class Actor:
    """The person sending an event. ``id`` is None for a member of the public."""

    id: int | None
    role: Role
    name: str
    rank: Rank | None = None
    agency: Agency | None = None

    @classmethod
    def applicant(cls) -> Actor:
        return cls(id=None, role=Role.applicant, name="Applicant (public)")
