"""The upload of the recipient's signed confidentiality undertaking.

The date, name and notes are the ``record_undertaking`` step's own fields, built from its
specification in ``workflows.steps`` like every step form; the file's SHA-256 and name are not
typed by anyone: the service takes them from the bytes received.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from govuk_frontend_wtf.wtforms_widgets import GovFileInput, GovSubmitInput
from wtforms import IntegerField, SubmitField
from wtforms.validators import NumberRange
from wtforms.widgets import HiddenInput

from disclosure_app.cases.step_forms import Required, rationale_field, wtf_field
from disclosure_app.documents.case_documents import UNDERTAKING_EVENT
from disclosure_app.web.form_keys import SubmissionKeyField
from workflows.steps import step_for

UNDERTAKING_SPEC = step_for(UNDERTAKING_EVENT)
TYPED_FIELDS = ("signed_on", "signed_by")  # the rest of the step comes from the file itself


class SignedUndertakingForm(FlaskForm):
    document = FileField(
        "Signed copy of the undertaking",
        [FileRequired("Select the signed copy of the undertaking")],
        widget=GovFileInput(),
        description="A scan or a clear photo of every page: PDF, PNG or JPEG.",
    )
    signed_on = wtf_field(UNDERTAKING_SPEC.field("signed_on"))
    signed_by = wtf_field(UNDERTAKING_SPEC.field("signed_by"))
    rationale = rationale_field(UNDERTAKING_SPEC)
    expected_version = IntegerField(
        "Case version",
        [Required("This form is out of date: open the case again and start afresh"),
         NumberRange(min=1, message="This form is out of date: open the case again")],
        widget=HiddenInput(),
    )
    submission_key = SubmissionKeyField()
    submit = SubmitField("Save the signed undertaking", widget=GovSubmitInput())
