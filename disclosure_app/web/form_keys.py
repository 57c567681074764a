"""The one-time key every form that changes something carries (``services.idempotency``).

A fresh key is made when the form is first shown and travels in a hidden field; the service
records it with the change. A post without a sound key is shown again with a message and a new
key (HTTP 400), and nothing is stored.
"""

from __future__ import annotations

from typing import Any

from wtforms import HiddenField

from disclosure_app.core.idempotency import KEY_PROBLEM, is_well_formed, new_key


class SubmissionKeyField(HiddenField):
    """A new key when the form is shown; on a post, exactly what was posted (or nothing)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("One-time form key", default=new_key, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = valuelist[0] if valuelist else ""


def key_is_sound(form: Any) -> bool:
    """True if the posted key could have come from this service. Otherwise the form gets a
    form-level error (no link: the field is hidden) and a fresh key, so that it can be sent
    again once the person has checked it."""
    field = form.submission_key
    if is_well_formed(field.data):
        return True
    form.form_errors.append(KEY_PROBLEM)
    field.data = new_key()
    return False


def renew_unless_sound(form: Any) -> None:
    """For pages that store nothing (the application before its check-answers page): quietly
    give the form a sound key to carry on with."""
    if not is_well_formed(form.submission_key.data):
        form.submission_key.data = new_key()
