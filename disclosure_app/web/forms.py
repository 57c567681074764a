"""Helpers every blueprint's forms share: choices in the shape WTForms wants, and a service's
refusal put back on the form it came from."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

try:  # WTForms 3.3 deprecates (value, label) tuples in favour of SelectChoice.
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - older WTForms
    SelectChoice = None


def choice_list(pairs: Iterable[tuple[str, str]]) -> list[Any]:
    """Choices in the shape the installed WTForms prefers."""
    if SelectChoice is None:  # pragma: no cover
        return [(value, label) for value, label in pairs]
    return [SelectChoice(value, label) for value, label in pairs]


def add_errors(form: Any, errors: dict[str, str]) -> None:
    """Put service errors (``InputInvalid.errors``) on the fields they name, nested fields
    included; anything else goes to the form's own errors, shown in the error summary."""
    fields = dict(_named_fields(form))
    for name, message in errors.items():
        field = fields.get(name)
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            form.form_errors = [*form.form_errors, message]


def _named_fields(form: Any) -> Iterator[tuple[str, Any]]:
    for field in form:
        yield field.name, field
        if hasattr(field, "form"):  # FormField
            yield from _named_fields(field.form)
        elif hasattr(field, "entries"):  # FieldList
            for entry in field.entries:
                yield entry.name, entry
                if hasattr(entry, "form"):
                    yield from _named_fields(entry.form)
