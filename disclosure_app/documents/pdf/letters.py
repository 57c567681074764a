"""The letter a Right to Ask applicant is sent at the end of a case that did not disclose anything
to them: after a decision not to disclose (the non-disclosure letter), or after a disclosure made
to someone else better placed to protect the child (the neutral closure letter).

**The two are one letter, word for word** (DOMAIN.md §5.4 and §13, neither confirm nor deny). A
third-party applicant may not learn the outcome, and any difference between the letters — a
sentence, the length of the advice, the title, the file name, the PDF metadata, even the page
count — would tell someone who has seen the other kind (a repeat applicant, a neighbour
comparing letters, anyone who has read this code) which outcome theirs is: that something was
found, or that nothing was. So there is a single text, true of both outcomes: the checks are
complete, the application was considered and appropriate action taken where necessary, nothing
will be shared with the applicant, and no inference may be drawn. The case records which of the
two was sent; the letter does not.

The builder's input is an ``OutcomeLetter``, which has no field for anything about the subject
(name, date of birth, address, relationship), so the letter cannot print any of it. All text is
escaped (``records.text``) and the bytes are deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from reportlab.platypus import Flowable, Spacer

from disclosure_app.documents.pdf import layout
from disclosure_app.documents.pdf.records import text

TITLE = "Your application under the Child Sex Offender Disclosure Scheme"
# The PDF's own metadata is the same for both outcomes, for the reason above.
METADATA_SUBJECT = "Child Sex Offender Disclosure Scheme: outcome of an application"

NSPCC_HELPLINE = "0808 800 5000"
STOP_IT_NOW_HELPLINE = "0808 1000 900"


@dataclass(frozen=True)
class OutcomeLetter:
    reference: str
    applicant_name: str
    address: str  # as the applicant gave it, line breaks kept
    postcode: str
    received_on: date
    dated: date
    force_name: str
    non_emergency_phone: str = "101"


def _long_date(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def _address_block(letter: OutcomeLetter) -> list[Flowable]:
    lines = [letter.applicant_name, *letter.address.splitlines(), letter.postcode]
    return [text("\n".join(line.strip() for line in lines if line.strip()))]


def _story(letter: OutcomeLetter) -> list[Flowable]:
    story: list[Flowable] = [
        *_address_block(letter),
        Spacer(1, 8),
        text(_long_date(letter.dated)),
        text(f"Our reference: {letter.reference}"),
        Spacer(1, 8),
        text(f"Dear {letter.applicant_name},"),
        text(TITLE, "h2"),
        text("Thank you for your application under the Child Sex Offender Disclosure Scheme, "
             f"which we received on {_long_date(letter.received_on)}."),
        Spacer(1, 4),
        text("We have completed our checks. Your application has been considered and "
             "appropriate action taken where necessary. No information will be shared with you "
             "under the scheme."),
        text("What this letter means", "h3"),
        text("No inference may be drawn from this letter. It does not mean that the person you "
             "asked about poses no risk to children, and it must not be read as confirming that "
             "they have, or that they do not have, any convictions or any other police record. "
             "It does not say whether anyone else has been given information. Please do not "
             "show this letter to anyone as evidence about the person you asked about."),
        text("Keeping children safe", "h3"),
        layout.bullets([
            "Stay alert to signs that a child may be at risk: an adult who tries to spend time "
            "alone with a child, gives them gifts or money, or asks them to keep secrets; a child "
            "who becomes withdrawn, anxious or secretive, or whose behaviour changes suddenly.",
            "Talk to children about safe and unsafe secrets and about their bodies, and make sure "
            "they know they can tell you, or another adult they trust, about anything that "
            "worries them.",
            "Know who looks after your children and who they spend time with, online as well as "
            "in person.",
            "Do not confront anyone you are worried about, and do not share your concerns about "
            "them with others. Tell the police or children's social care instead.",
        ]),
        text("How to report a concern", "h3"),
        layout.bullets([
            "If a child is in immediate danger, call 999.",
            f"To tell the police about a concern that is not an emergency, call "
            f"{letter.non_emergency_phone}. Quote the reference at the top of this letter.",
            "Children's social care at your local council can act to protect a child, at any "
            "time of the day or night. Your council's website gives its number.",
            f"The NSPCC helpline, for any adult worried about a child: {NSPCC_HELPLINE}.",
            "Stop It Now (the Lucy Faithfull Foundation), confidential advice for anyone "
            f"worried about sexual abuse: {STOP_IT_NOW_HELPLINE}.",
        ]),
        Spacer(1, 4),
        text("If you have new information, or a new concern about a child, you can contact us "
             "or make a new application at any time."),
        Spacer(1, 10),
        text("Yours sincerely,"),
        Spacer(1, 18),
        text("Child Sex Offender Disclosure Scheme team"),
        text(letter.force_name),
    ]
    return story


def build_outcome_letter(letter: OutcomeLetter) -> bytes:
    """The applicant's letter as PDF bytes: the same for both outcomes (see the module's
    docstring)."""
    return layout.build(
        _story(letter),
        force_name=letter.force_name,
        reference=letter.reference,
        title=TITLE,
        subject=METADATA_SUBJECT,
    )
