"""Case references and private status links.

References are random (not sequential) so they cannot be enumerated; status tokens are 256-bit
secrets of which only the SHA-256 is stored, so a database leak does not reveal working links.
"""

from __future__ import annotations

import hashlib
import secrets

# Crockford's base32 without I, L, O, U: easy to read out over the phone.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference(prefix: str = "CSD") -> str:
    body = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"{prefix}-{body[:4]}-{body[4:]}"


def new_status_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
