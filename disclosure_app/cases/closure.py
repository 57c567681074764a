"""What ending a case gives it: its retention group and first MoPI review date
(workflows.retention), set in the same transaction as the step that ended it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from disclosure_app.models import Case
from workflows.policy import CasePolicy
from workflows.retention import first_review, outcome_of, rule_for


def assign_at_closure(case: Case, data: Mapping[str, Any], policy: CasePolicy,
                      now: datetime) -> None:
    """Give a case that has just reached a final state its retention group and first review
    date (in the caller's transaction). An earlier review date entered on closing is kept."""
    if case.is_open or case.retention_group is not None:
        return
    rule = rule_for(policy.retention, outcome_of(case.decision_outcome))
    earlier = data.get("review_date")
    if isinstance(earlier, str) and earlier:
        earlier = date.fromisoformat(earlier)
    today = now.astimezone(ZoneInfo(policy.local_tz)).date()
    case.retention_group = rule.outcome.value
    case.review_due_on = first_review(today, rule, earlier if isinstance(earlier, date) else None)
