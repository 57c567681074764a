"""The applicant's outcome letter and the recipient's confidentiality undertaking: what each says,
that neither can say anything about the subject, that the two outcome letters cannot be told
apart, and that markup typed by anyone is printed literally (SECURITY.md SEC-22)."""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import date

import pytest
from pypdf import PdfReader

from disclosure_app.documents.pdf.letters import OutcomeLetter, build_outcome_letter
from disclosure_app.documents.pdf.undertaking import Undertaking, build_undertaking

# Pure: no database, so the PostgreSQL pass of `make test` leaves it out.
pytestmark = pytest.mark.engine_independent

FORCE = "Northshire Police"
HOSTILE = ('<b>unclosed <img src="/etc/passwd"> <a href="javascript:alert(1)">x</a> '
           '<font color="red">red</font> <link href="file:///etc/hosts">y</link> &amp; <para>')
LETTER = OutcomeLetter(
    reference="CSD-7K2M-9QXD", applicant_name="Alice Applicant",
    address="11 Demo Terrace\nNorthshire", postcode="NS1 4DM", received_on=date(2026, 1, 5),
    dated=date(2026, 2, 27), force_name=FORCE, non_emergency_phone="101",
)
UNDERTAKING = Undertaking(reference="CSD-7K2M-9QXD", recipient_name="Laura Bennett",
                          prepared_on=date(2026, 2, 27), force_name=FORCE)


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", " ", "\n".join(page.extract_text() for page in reader.pages))


def test_the_letter_says_the_checks_are_complete_and_no_inference_may_be_drawn():
    text = _text(build_outcome_letter(LETTER))
    for expected in (
        "We have completed our checks.",
        "Your application has been considered and appropriate action taken where necessary.",
        "No information will be shared with you under the scheme.",
        "No inference may be drawn from this letter.",
        "does not mean that the person you asked about poses no risk to children",
        "It does not say whether anyone else has been given information.",
    ):
        assert expected in text


def test_the_letter_gives_safeguarding_advice_and_every_way_to_report_a_concern():
    text = _text(build_outcome_letter(LETTER))
    assert "Keeping children safe" in text
    assert "Do not confront anyone you are worried about" in text
    assert "If a child is in immediate danger, call 999." in text
    assert "call 101" in text
    assert "Children's social care at your local council" in text
    assert "NSPCC helpline" in text and "0808 800 5000" in text


def test_the_letter_is_addressed_to_the_applicant_with_the_reference_and_dates():
    text = _text(build_outcome_letter(LETTER))
    assert "Alice Applicant 11 Demo Terrace Northshire NS1 4DM" in text
    assert "Dear Alice Applicant," in text
    assert "Our reference: CSD-7K2M-9QXD" in text
    assert "27 February 2026" in text and "received on 5 January 2026" in text
    assert FORCE in text


def test_the_configured_non_emergency_number_is_used():
    text = _text(build_outcome_letter(dataclasses.replace(LETTER,
                                                          non_emergency_phone="0300 123 4567")))
    assert "call 0300 123 4567" in text


def test_nothing_about_the_subject_can_reach_a_letter_or_an_undertaking():
    """The builders' inputs have no field for the subject, so nothing about them can be
    printed (the integration tests check the served PDFs against a seeded subject too)."""
    for document in (OutcomeLetter, Undertaking):
        names = {f.name for f in dataclasses.fields(document)}
        assert not any(word in name for name in names
                       for word in ("subject", "birth", "dob", "offence", "relationship"))


def test_the_same_letter_gives_the_same_bytes_and_a_new_date_new_bytes():
    assert build_outcome_letter(LETTER) == build_outcome_letter(LETTER)
    assert build_outcome_letter(LETTER) != build_outcome_letter(
        dataclasses.replace(LETTER, dated=date(2026, 2, 28)))


def test_the_letter_is_one_page_marked_at_top_and_bottom():
    reader = PdfReader(io.BytesIO(build_outcome_letter(LETTER)))
    assert len(reader.pages) == 1
    page = reader.pages[0].extract_text()
    assert page.count("OFFICIAL-SENSITIVE") == 2 and "Page 1 of 1" in page


def test_the_metadata_names_no_person_and_no_outcome():
    info = PdfReader(io.BytesIO(build_outcome_letter(LETTER))).metadata
    values = " ".join(str(v) for v in info.values())
    assert "Alice" not in values
    assert "non-disclosure" not in values.lower() and "no disclosure" not in values.lower()
    assert info.title == "Your application under the Child Sex Offender Disclosure Scheme"


def test_the_undertaking_names_the_case_and_the_recipient_and_sets_out_every_condition():
    text = _text(build_undertaking(UNDERTAKING))
    for expected in (
        "Confidentiality undertaking",
        "Case reference CSD-7K2M-9QXD",
        "Person receiving the information Laura Bennett",
        "I will use the information only to protect the child",
        "I will not pass the information on to anyone else",
        "unless I have first spoken to the police and they have agreed who I may tell and how",
        "may be a criminal offence and may also lead to civil proceedings against me",
        "the police may pass on information about the breach",
        "If you do not sign",
    ):
        assert expected in text


def test_the_undertaking_is_one_sheet_with_signature_boxes_for_recipient_and_officer():
    pdf = build_undertaking(UNDERTAKING)
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
    text = _text(pdf)
    assert "Signed by the person receiving the information" in text
    assert "Witnessed by the police officer" in text
    assert text.count("Signature") >= 2 and "Rank and number" in text


@pytest.mark.parametrize("build", [
    lambda: build_outcome_letter(dataclasses.replace(
        LETTER, applicant_name=HOSTILE[:100], address=HOSTILE + "\n" + HOSTILE)),
    lambda: build_undertaking(dataclasses.replace(UNDERTAKING, recipient_name=HOSTILE)),
], ids=["letter", "undertaking"])
def test_markup_in_names_and_addresses_is_printed_literally(build):
    pdf = build()
    text = _text(pdf)
    assert re.sub(r"\s+", " ", HOSTILE[:100]) in text
    for marker in (b"/URI", b"/JavaScript", b"/Launch", b"/XObject"):
        assert marker not in pdf
