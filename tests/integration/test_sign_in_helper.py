"""The suite's own sign-in helper must not depend on which 30-second step a request lands in:
on a busy machine the step can roll over between making a code and posting it (issue 11: two
sign-ins were refused under load)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from disclosure_app.security import mfa
from tests.factories import PASSWORD, totp_code


def _end_of_a_step() -> datetime:
    now = datetime.now(UTC)
    step_start = datetime.fromtimestamp(mfa.step_at(now) * 30, UTC)
    return step_start + timedelta(seconds=29.9)


def test_a_code_made_at_the_end_of_a_step_is_accepted_after_the_step_rolls_over(app, staff):
    email = staff["case_officer"].email
    moment = [_end_of_a_step()]
    app.config["CLOCK"] = lambda: moment[0]
    client = app.test_client()
    assert client.post("/staff/sign-in", data={"email": email, "password": PASSWORD}
                       ).status_code == 302
    code = totp_code(app, email)
    moment[0] += timedelta(seconds=31)  # the machine was busy: the next step has begun
    response = client.post("/staff/two-factor", data={"code": code})
    assert response.status_code == 302
    assert "/staff/two-factor" not in response.headers["Location"]


def test_one_person_signed_in_many_times_in_one_step_gets_a_code_each_time(app, staff):
    email = staff["auditor"].email
    moment = _end_of_a_step() - timedelta(seconds=15)
    app.config["CLOCK"] = lambda: moment
    for _ in range(5):
        client = app.test_client()
        client.post("/staff/sign-in", data={"email": email, "password": PASSWORD})
        response = client.post("/staff/two-factor", data={"code": totp_code(app, email)})
        assert "/staff/two-factor" not in response.headers["Location"]
