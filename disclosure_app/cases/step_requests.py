"""A step's form, sent: one call that answers it, and what became of it.

``send`` takes what the person sent (plain values: the form's data, whether its own checks
passed, whether "Check my reasons" was pressed) and answers, in this order:

- ``StepUpNeeded``: a decision or its approval, and no fresh code (SEC-13). Nothing is saved.
- ``ReasonsChecked``: "Check my reasons" on a decision: the checks' findings. Nothing is saved.
- ``Replayed``: this form was saved before (back and resubmit, a double click). Nothing is
  saved again, even if the form would no longer pass its checks now that the step is taken.
- ``FieldErrors``: the form's own checks failed, its one-time key cannot be ours, or the
  workflow found a field (or the rationale) wrong.
- ``Refused``: something the step depends on is missing (the signed undertaking, a confirmed
  identity): nothing is saved, and the outcome says what is missing.
- ``Stale``: someone else changed the case after the form was opened.
- ``Saved``: the step was taken (``workflow.take_step``: the one transaction that changes the
  case's state).

``send_signed_undertaking`` answers the one step whose form carries a file (the signed
undertaking) the same way.

Other refusals (a step the case cannot take, a person the step is not for, a case out of scope)
are raised as before, for the app's error pages. After a refused save the outcome carries the
case read afresh, as the page must show it.

Confirming a step-up code is the sign-in service's business (its own transaction, and the
session's): the caller passes ``confirm_step_up``, asked only when a fresh code is needed.
Nothing here knows about Flask.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from disclosure_app.cases import workflow
from disclosure_app.core import idempotency
from disclosure_app.core.errors import InputInvalid, StaleCase
from disclosure_app.core.idempotency import AlreadySubmitted, Purpose
from disclosure_app.models import Case, CaseStep, StoredDocument, User
from workflows.errors import GateClosed, PreconditionUnmet, RationaleRequired
from workflows.policy import APPROVAL_EVENTS, CasePolicy
from workflows.rationale_quality import ACKNOWLEDGEMENT_FIELD, EXPLANATION_FIELD, Finding, Severity
from workflows.steps import StepSpec, step_for

log = logging.getLogger(__name__)


def needs_step_up(spec: StepSpec) -> bool:
    """Deciding, or approving a decision, needs a fresh code from the person (SEC-13)."""
    return spec.is_decision or spec.event in APPROVAL_EVENTS


@dataclass(frozen=True)
class SentStep:
    """What the person sent on a step's form."""

    event: str
    expected_version: int | None
    data: dict[str, Any]  # the spec's fields only (``step_forms.form_data_to_step``)
    rationale: str
    submission_key: str | None
    form_valid: bool  # the form's own checks passed
    check_reasons: bool = False  # "Check my reasons" was pressed


@dataclass(frozen=True)
class ReasonFinding:
    text: str
    open: bool  # still to be fixed, acknowledged or explained before the decision is recorded


@dataclass(frozen=True)
class Findings:
    """What the rationale checks found in a draft decision (none: nothing to fix)."""

    findings: tuple[ReasonFinding, ...]


@dataclass(frozen=True)
class Saved:
    record: CaseStep | StoredDocument  # the step taken, or the kept signed undertaking


@dataclass(frozen=True)
class Replayed:
    """Saved from this form before: nothing was saved again."""


@dataclass(frozen=True)
class StepUpNeeded:
    """No fresh code for a decision or its approval: nothing saved, everything typed kept."""


@dataclass(frozen=True)
class ReasonsChecked:
    findings: Findings | None  # None: the fields themselves are not yet valid


@dataclass(frozen=True)
class FieldErrors:
    case: Case
    errors: dict[str, str]  # the workflow's, by field name (the form's own are on the form)
    findings: Findings | None = None


@dataclass(frozen=True)
class Refused:
    case: Case
    message: str  # what is missing


@dataclass(frozen=True)
class Stale:
    case: Case  # as it is now
    message: str  # who changed it, and when (no personal data)


StepOutcome = Saved | Replayed | StepUpNeeded | ReasonsChecked | FieldErrors | Refused | Stale


def send(
    session: Session,
    user: User,
    case: Case,
    sent: SentStep,
    *,
    confirm_step_up: Callable[[], bool],
    policy: CasePolicy,
    now: datetime,
) -> StepOutcome:
    """Answer one sent step form on ``case`` (loaded in ``user``'s scope)."""
    spec = step_for(sent.event)
    # "Check my reasons" saves nothing, so it needs no code; it exists on decision pages only.
    checking_only = spec.is_decision and sent.check_reasons
    if needs_step_up(spec) and not checking_only and not confirm_step_up():
        return StepUpNeeded()
    if checking_only:
        # The same checks run again, and are recorded, when the decision is sent.
        return ReasonsChecked(_findings(session, user, case.id, spec, sent.data, policy, now))
    if idempotency.earlier(session, sent.submission_key, Purpose.step, case_id=case.id,
                           event=sent.event, user_id=user.id) is not None:
        return Replayed()
    if not (sent.form_valid and idempotency.is_well_formed(sent.submission_key)):
        return FieldErrors(case, {})
    return _save(session, user, case.id, spec, sent, policy=policy, now=now)


def _save(session: Session, user: User, case_id: int, spec: StepSpec, sent: SentStep, *,
          policy: CasePolicy, now: datetime) -> StepOutcome:
    request = workflow.StepRequest(
        case_id=case_id,
        event=sent.event,
        expected_version=sent.expected_version,  # type: ignore[arg-type]  # an int: checked
        data=sent.data,
        rationale=sent.rationale,
        submission_key=sent.submission_key,
    )
    try:
        step = workflow.take_step(session, request, user=user, policy=policy, now=now)
    except AlreadySubmitted:  # the same form, sent at the same moment
        return Replayed()
    except InputInvalid as exc:
        fresh = _reload(session, user, case_id)
        return FieldErrors(fresh, exc.errors,
                           _findings(session, user, fresh.id, spec, sent.data, policy, now))
    except RationaleRequired as exc:
        return FieldErrors(_reload(session, user, case_id), {"rationale": exc.message})
    except (PreconditionUnmet, GateClosed) as exc:
        return Refused(_reload(session, user, case_id), exc.message)
    except StaleCase as exc:
        # Two people on one case: the other got there first (ids only; no personal data).
        log.info("step %s on case %s by user %s refused: the case changed after the form was "
                 "opened", sent.event, case_id, user.id)
        return Stale(_reload(session, user, case_id), exc.message)
    return Saved(step)


def _reload(session: Session, user: User, case_id: int) -> Case:
    return workflow.load_case_in_scope(session, user, case_id)


def _findings(session: Session, user: User, case_id: int, spec: StepSpec, data: dict[str, Any],
              policy: CasePolicy, now: datetime) -> Findings | None:
    """The checks' findings on a draft decision, or None if its fields are not yet valid
    (their own errors come first) or the step is not a decision."""
    if not spec.is_decision:
        return None
    try:
        report, unresolved = workflow.preview_reasons(session, user, case_id, spec.event, data,
                                                      policy=policy, now=now)
    except InputInvalid:
        return None
    return Findings(tuple(ReasonFinding(f.text, _still_open(f, unresolved))
                          for f in report.findings))


def _still_open(finding: Finding, unresolved: dict[str, str]) -> bool:
    answered_in = {Severity.acknowledge: ACKNOWLEDGEMENT_FIELD,
                   Severity.countersign: EXPLANATION_FIELD}.get(finding.severity)
    return finding.field in unresolved or (answered_in is not None and answered_in in unresolved)
