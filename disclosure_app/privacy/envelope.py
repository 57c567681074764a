"""AES-256-GCM, as used for every personal value and for wrapping data keys.

A sealed value is ``version (1 byte) | key id (16 bytes) | nonce (12 bytes) | ciphertext+tag``.
The key id says which case key opens it, so reading needs no context; the associated data binds
the version, the key id and the column the value belongs to, so a sealed value copied into
another column or another case's row fails to open rather than being read as something else.
Nonces are 96 random bits: with one key per case (a few hundred values each) the birthday bound
is nowhere near.
"""

from __future__ import annotations

import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = b"\x01"
KEY_ID_BYTES = 16
NONCE_BYTES = 12
HEADER_BYTES = 1 + KEY_ID_BYTES + NONCE_BYTES
KEY_BYTES = 32  # AES-256


class SealBroken(Exception):
    """A sealed value failed its integrity check: altered, truncated or moved."""


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def new_key_id() -> str:
    return uuid.uuid4().hex


def is_sealed(value: object) -> bool:
    return isinstance(value, bytes | bytearray | memoryview) and bytes(value[:1]) == VERSION and (
        len(value) >= HEADER_BYTES + 16)


def key_id_of(sealed: bytes) -> str:
    return bytes(sealed[1:1 + KEY_ID_BYTES]).hex()


def seal(cipher: AESGCM, key_id: str, plaintext: bytes, label: str) -> bytes:
    kid = bytes.fromhex(key_id)
    nonce = os.urandom(NONCE_BYTES)
    header = VERSION + kid + nonce
    return header + cipher.encrypt(nonce, plaintext, header[:1 + KEY_ID_BYTES] + label.encode())


def open_sealed(cipher: AESGCM, sealed: bytes, label: str) -> bytes:
    sealed = bytes(sealed)
    nonce = sealed[1 + KEY_ID_BYTES:HEADER_BYTES]
    try:
        return cipher.decrypt(nonce, sealed[HEADER_BYTES:],
                              sealed[:1 + KEY_ID_BYTES] + label.encode())
    except InvalidTag as exc:
        raise SealBroken(f"a sealed value in {label} failed its integrity check") from exc


def wrap(kek: bytes, kek_id: str, key_id: str, data_key: bytes) -> bytes:
    """A data key encrypted under a KEK; the associated data names both keys."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(kek).encrypt(nonce, data_key, f"{kek_id}/{key_id}".encode())


def unwrap(kek: bytes, kek_id: str, key_id: str, wrapped: bytes) -> bytes:
    wrapped = bytes(wrapped)
    try:
        return AESGCM(kek).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:],
                                   f"{kek_id}/{key_id}".encode())
    except InvalidTag as exc:
        raise SealBroken(f"data key {key_id} does not open under KEK {kek_id}") from exc
