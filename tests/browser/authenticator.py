"""The code a person's authenticator app shows, for sign-ins in the browser journeys.

The service accepts the code of the current 30-second step or of one step either side, once
each (a used step and every step before it are refused). ``authenticator_code`` gives the code
of the current step, or of the next one if the current one was used by an earlier sign-in, so
that the code is still accepted if the step rolls over (even twice) between reading it and
sending the form on a busy machine. If both were used, it waits for the next step, as a person
would wait for their app to show a new code: nothing in the database is set back.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from disclosure_app.security import mfa
from tests.factories import totp_secret_for


def authenticator_code(server: Any, email: str) -> str:
    """A code for ``email``'s test authenticator that ``server`` (a ``ShippedServer``) will
    accept now and for at least the next 30 seconds."""
    secret = totp_secret_for(email)
    for _ in range(3):
        now_step = mfa.step_at(datetime.now(UTC))
        rows = server.query("SELECT totp_last_step FROM users WHERE email = :email",
                            email=email.strip().lower())
        assert rows, f"no account {email}"
        last = rows[0][0] if rows[0][0] is not None else -1
        for step in (now_step, now_step + 1):
            if step > last:
                return mfa.code_for_step(secret, step)
        # Both codes were used in the last few seconds: wait for the app's next code.
        time.sleep(max(0.0, (now_step + 1) * mfa.STEP_SECONDS - time.time()) + 0.5)
    raise AssertionError(f"no unused authenticator code for {email} after waiting")
