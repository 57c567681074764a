"""The confidentiality undertaking the recipient of a disclosure reads and signs at the
face-to-face meeting, before anything is disclosed (DOMAIN.md §5.2 and §13).

It names the case and the recipient and nothing about the subject: the undertaking is handed to
the recipient and may be photographed or left lying about, so the only place the subject's
details are given is the meeting itself. The builder's input (``Undertaking``) has no field for
them. All text is escaped (``records.text``) and the bytes are deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from reportlab.platypus import Flowable, KeepTogether, Spacer, Table, TableStyle

from disclosure_app.documents.pdf import layout
from disclosure_app.documents.pdf.records import text

TITLE = "Confidentiality undertaking"
METADATA_SUBJECT = "Child Sex Offender Disclosure Scheme: confidentiality undertaking"


def conditions(non_emergency_phone: str) -> tuple[str, ...]:
    """What the recipient agrees to (DOMAIN.md §5.2)."""
    return (
        "I will use the information only to protect the child or children it concerns, and to "
        "keep myself safe.",
        "I will not pass the information on to anyone else, including family, friends, "
        "neighbours, my employer, or anyone on social media or any website, unless I have first "
        "spoken to the police and they have agreed who I may tell and how.",
        "I may use the information to keep the child safe, to ask the police or children's "
        "social care what support is available, to ask who to contact if the child or I are at "
        "risk, and to ask for advice on keeping safe.",
        "I will not confront the person the information is about, or take any action against "
        "them, their family or their home, and I will not encourage or help anyone else to do "
        "so.",
        "I understand that misusing the information, for example to harass, threaten or harm "
        "anyone, or to make it public, may be a criminal offence and may also lead to civil "
        "proceedings against me.",
        "I understand that if I break this undertaking, the police may pass on information about "
        "the breach to others who need to act on it, such as prosecutors, courts or other "
        "agencies.",
        "If I am worried about a child's safety I will call 999 in an emergency, or "
        f"{non_emergency_phone} otherwise.",
    )


@dataclass(frozen=True)
class Undertaking:
    reference: str
    recipient_name: str
    prepared_on: date
    force_name: str
    non_emergency_phone: str = "101"


def _long_date(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def _signatures(recipient_name: str) -> Flowable:
    """The recipient's and the officer's signature boxes side by side, so that the undertaking
    is one sheet to sign."""
    half = (layout.content_width() - 12) / 2
    widths = (0.38 * half, 0.62 * half)

    def block(heading: str, rows: list[tuple[str, str]]) -> list[Flowable]:
        return [text(heading, "label"), Spacer(1, 3),
                layout.grid(rows, widths, min_height=24)]

    recipient = block("Signed by the person receiving the information",
                      [("Name", recipient_name or " "), ("Signature", " "), ("Date", " ")])
    officer = block("Witnessed by the police officer",
                    [("Name", " "), ("Rank and number", " "), ("Signature", " "), ("Date", " ")])
    table = Table([[recipient, officer]], colWidths=[half + 6, half + 6], hAlign="LEFT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("RIGHTPADDING", (0, 0), (0, -1), 6),
                               ("LEFTPADDING", (1, 0), (1, -1), 6)]))
    return KeepTogether([text("Signatures", "h3"), table])


def _story(undertaking: Undertaking) -> list[Flowable]:
    width = layout.content_width()
    return [
        text(TITLE, "title"),
        layout.grid(
            [("Scheme", "Child Sex Offender Disclosure Scheme"),
             ("Case reference", undertaking.reference),
             ("Person receiving the information", undertaking.recipient_name or " "),
             ("Prepared", _long_date(undertaking.prepared_on))],
            (0.35 * width, 0.65 * width),
        ),
        Spacer(1, 6),
        text(f"{undertaking.force_name} is going to share information with you under the Child "
             "Sex Offender Disclosure Scheme so that you can protect a child. The information is "
             "confidential. Before it is shared, please read this undertaking, ask about anything "
             "you do not understand, and sign it to show that you agree to keep to it."),
        text("By signing, I agree that:", "h3"),
        layout.numbered(conditions(undertaking.non_emergency_phone)),
        text("Why confidentiality matters", "h3"),
        text("People who fear being exposed can go into hiding, which makes them harder to "
             "manage and more dangerous to children. Innocent people have been attacked after "
             "being mistaken for someone else. Keeping the information to yourself protects the "
             "child, and it protects others too."),
        text("If you do not sign", "h3"),
        text("You do not have to sign. If you do not, the police will consider whether the "
             "information should still be shared with you."),
        _signatures(undertaking.recipient_name),
        Spacer(1, 6),
        text("You may keep a copy of this undertaking. The police keep the signed original with "
             "the case record.", "small"),
    ]


def build_undertaking(undertaking: Undertaking) -> bytes:
    """The undertaking for signature, as PDF bytes."""
    return layout.build(
        _story(undertaking),
        force_name=undertaking.force_name,
        reference=undertaking.reference,
        title=TITLE,
        subject=METADATA_SUBJECT,
    )
