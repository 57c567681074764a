"""Errors services raise; ``disclosure_app.web.errors`` turns each into the right HTTP answer."""

from __future__ import annotations

from datetime import datetime


class ServiceError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    """Missing, or outside the user's scope: both answer the same 404."""

    def __init__(self, message: str = "Page not found") -> None:
        super().__init__(message)


class OutOfScope(NotFound):
    """The case exists but not for this user. Answered exactly like a missing case (404); the
    app records it as an authorisation denial, never as a consultation (SEC-15)."""


class StaleCase(ServiceError):
    """The case changed after the form was opened. Nothing was saved."""

    def __init__(self, changed_by: str, changed_at: datetime) -> None:
        when = changed_at.strftime("%d %B %Y at %H:%M UTC")
        super().__init__(
            f"This case was changed by {changed_by} on {when}, after you opened this form. "
            "Nothing you entered has been saved over their change: review the case and try again."
        )
        self.changed_by = changed_by
        self.changed_at = changed_at


class StepNotAllowed(ServiceError):
    """The step cannot be taken from the case's current state (HTTP 409)."""


class InputInvalid(ServiceError):
    """Submitted data failed validation. ``errors`` maps field name to message."""

    def __init__(self, errors: dict[str, str], message: str = "There is a problem") -> None:
        super().__init__(message)
        self.errors = errors
