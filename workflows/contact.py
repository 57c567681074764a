"""Which ways of telling the applicant the outcome are safe (DOMAIN.md §9.3 #21, #22).

The applicant said on the public form how we may contact them (phone, email or letter), whether we
may leave a message, and anything we must know to contact them safely ("my partner reads my
post"). Those answers decide which outcome routes the officer is offered and which the workflow
accepts: an outcome letter only if the applicant asked for letters and did not say their post is
unsafe; a phone call only if they gave a number and, unless they asked to be phoned, did not say
their phone is unsafe. In person, arranged at the safe times they gave, is always possible.

The notes are free text, so the reading errs towards caution: a note that mentions post at all
rules out a letter. A needless refusal costs the officer a phone call or a visit; a letter read by
an abusive partner can cost far more. Pure Python: no Flask, no database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

IN_PERSON, LETTER, PHONE = "in_person", "letter", "phone"

_POST_WORDS = re.compile(
    r"\b(post|posts|posted|postal|postie|postman|mail|mails|letters?|envelopes?|letterbox|"
    r"letter box|doormat)\b", re.IGNORECASE)
_PHONE_WORDS = re.compile(
    r"\b(phones?|mobiles?|calls?|calling|called|rings?|ringing|texts?|texting|voicemails?|"
    r"messages?|whatsapp)\b", re.IGNORECASE)
_METHOD_WORDS = {"phone": "by phone", "email": "by email", "letter": "by letter"}


@dataclass(frozen=True)
class SafeContact:
    """The applicant's own answers about contacting them safely."""

    contact_method: str  # "phone", "email" or "letter"
    has_phone: bool
    messages_ok: bool
    notes: str


def safe_contact_of(case: Any) -> SafeContact | None:
    """The answers on the case's applicant record; None for a case without an applicant."""
    applicant = getattr(case, "applicant", None)
    if applicant is None:
        return None
    return SafeContact(
        contact_method=str(getattr(applicant, "contact_method", "") or ""),
        has_phone=bool(str(getattr(applicant, "phone", "") or "").strip()),
        messages_ok=bool(getattr(applicant, "messages_ok", False)),
        notes=str(getattr(applicant, "contact_notes", "") or ""),
    )


def refused_routes(contact: SafeContact | None) -> dict[str, str]:
    """Routes that are not safe for this applicant, each with the reason (route -> reason)."""
    if contact is None:
        return {}
    refused: dict[str, str] = {}
    if contact.contact_method != LETTER:
        asked = _METHOD_WORDS.get(contact.contact_method, "another way")
        refused[LETTER] = (f"The applicant did not agree to letters: they asked to be "
                           f"contacted {asked}")
    elif _POST_WORDS.search(contact.notes):
        refused[LETTER] = ("The applicant's note on contacting them safely mentions their post "
                           "(for example that someone else reads it), so a letter is not safe")
    if not contact.has_phone:
        refused[PHONE] = "The applicant gave no phone number"
    elif contact.contact_method != PHONE and _PHONE_WORDS.search(contact.notes):
        refused[PHONE] = ("The applicant did not ask to be phoned and their note on contacting "
                          "them safely mentions their phone, so a call is not safe")
    return refused


def route_problem(method: str | None, case: Any, labels: Mapping[str, str]) -> str | None:
    """Why ``method`` may not be used to tell this case's applicant, naming the safe routes."""
    refused = refused_routes(safe_contact_of(case))
    if not method or method not in refused:
        return None
    safe = [label for code, label in labels.items() if code not in refused]
    return f"{refused[method]}. Choose a safe way: {', or '.join(safe)}" if safe else \
        refused[method]
