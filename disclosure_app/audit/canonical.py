"""Canonical JSON and hashing for the audit chain (SECURITY.md §3.3).

UTF-8, NFC-normalised strings, sorted keys, no insignificant whitespace, no floats. The same data
always yields the same bytes, so a hash computed today verifies in ten years.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from datetime import date, datetime
from enum import Enum
from typing import Any


def _normalise(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, Enum):
        return _normalise(value.value)
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    raise TypeError(f"{type(value).__name__} cannot be put in a canonical payload")


def canonical_json(value: Any) -> str:
    return json.dumps(
        _normalise(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chain_hash(prev_hash: str, payload: str) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + payload.encode("utf-8")).hexdigest()
