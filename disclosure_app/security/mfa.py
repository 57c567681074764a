"""The second factor: time-based one-time passwords (RFC 6238) with pyotp.

Codes are 6 digits on a 30-second step; a code from one step either side of now is accepted
(clock drift), never more. pyotp does not remember which codes were used, so the caller gets the
matched step back and stores it: a code is accepted only for a step later than the last one
accepted for that person, which makes every code single-use (SECURITY.md SEC-02).

Secrets are made by the operating system's CSPRNG (``secrets``, via pyotp.random_base32) and
stored encrypted with Fernet (AES-128-CBC + HMAC-SHA-256) under ``TOTP_ENCRYPTION_KEY``, a key
held in instance config or the environment, never in the database (SEC-37). Earlier keys listed
in ``TOTP_ENCRYPTION_KEY_FALLBACKS`` still decrypt, so the key can be rotated. Outside production
a key is derived from ``SECRET_KEY`` so that the demo and the tests need no extra setting;
production refuses to start without its own key (``disclosure_app.security.production``).
"""

from __future__ import annotations

import base64
import hmac
import io
from collections.abc import Iterable
from datetime import datetime

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask, current_app

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1


class SecretUnreadable(Exception):
    """The stored secret cannot be decrypted with any configured key."""


class SecretCipher:
    def __init__(self, keys: Iterable[bytes]) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("ascii")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("ascii")
        except InvalidToken as exc:
            raise SecretUnreadable("the TOTP secret cannot be decrypted") from exc


def derived_key(secret_key: str) -> bytes:
    """A Fernet key derived from SECRET_KEY: development and tests only."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"disclosure_app totp secrets").derive(secret_key.encode("utf-8"))
    return base64.urlsafe_b64encode(raw)


def init_app(app: Flask) -> None:
    configured = app.config.get("TOTP_ENCRYPTION_KEY")
    keys = [configured.encode("ascii") if isinstance(configured, str) else configured] \
        if configured else [derived_key(str(app.config["SECRET_KEY"]))]
    keys += [k.encode("ascii") if isinstance(k, str) else k
             for k in app.config.get("TOTP_ENCRYPTION_KEY_FALLBACKS") or []]
    app.extensions["totp_cipher"] = SecretCipher(keys)


def cipher() -> SecretCipher:
    return current_app.extensions["totp_cipher"]


def new_secret() -> str:
    """160 random bits (RFC 4226's recommended length), base32."""
    return pyotp.random_base32(32)


def step_at(moment: datetime) -> int:
    return int(moment.timestamp()) // STEP_SECONDS


def code_for_step(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step)


def matching_step(secret: str, code: str, moment: datetime) -> int | None:
    """The time-step ``code`` belongs to, within one step of ``moment``; None if it matches none.
    Every candidate is compared (in constant time) so the work does not depend on which."""
    code = (code or "").strip().replace(" ", "")
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    now_step = step_at(moment)
    found = None
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        if hmac.compare_digest(code_for_step(secret, step), code):
            found = step
    return found


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account, issuer_name=issuer)


def qr_svg(uri: str) -> bytes:
    """The enrolment QR code as SVG (served from our own origin: no inline images under the CSP)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=5, border=4, xmldecl=True,
                                    svgns=True, title="QR code for your authenticator app")
    return out.getvalue()


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
