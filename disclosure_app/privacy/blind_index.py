"""Keyed blind indexes: equal personal values give equal digests, and nobody without the key
can test a guess against the stored digests (a plain hash of a name and date of birth could be
reversed by trying every name and date).

The key is a secret in the key store, wrapped like a data key; it is never rotated in place
(that would need every value in clear again): see docs/security.md.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

from disclosure_app.privacy.keys import keystore

DIGEST_HEX = 64


def digest(purpose: str, value: str) -> str:
    """HMAC-SHA-256 over ``purpose`` and the (already normalised) value, as hex."""
    message = purpose.encode("utf-8") + b"\x00" + value.encode("utf-8")
    return hmac.new(keystore().blind_index_key(), message, hashlib.sha256).hexdigest()


def name_search_key(name: str) -> str:
    """A name as searches compare it: Unicode NFC (so "José" typed as e + combining accent
    finds "José"), case folded, spacing collapsed."""
    return " ".join(unicodedata.normalize("NFC", name).split()).casefold()


def subject_name_digest(name: str) -> str:
    return digest("subject_name", name_search_key(name))
