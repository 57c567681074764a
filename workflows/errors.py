"""Reasons the workflow refuses a step. Each carries a message a person can act on."""

from __future__ import annotations


class WorkflowRefusal(Exception):
    """Base class: the step was refused and nothing changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ActorNotPermitted(WorkflowRefusal):
    """The actor's role may not send this event, or they are not invited to the case."""


class DecisionMakerNotEligible(WorkflowRefusal):
    """A decision needs a decision-maker of sufficient rank who is not the case officer."""


class RationaleRequired(WorkflowRefusal):
    """Every step must carry a written rationale."""


class GateClosed(WorkflowRefusal):
    """A fact about the case (the subject's identity, the checklist) does not yet allow this step;
    the step's own form cannot fix it."""


class StepDataInvalid(WorkflowRefusal):
    """The step's structured fields are missing or invalid; ``errors`` maps field to message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("Some of the information this step needs is missing or invalid.")
        self.errors = errors


class PreconditionUnmet(WorkflowRefusal):
    """The step is possible at this stage, but something it depends on has not been recorded
    yet (for example the signed undertaking before the disclosure is recorded as delivered)."""
