"""The ``Sealed`` column type: personal values encrypted under their case's data key.

In memory a sealed attribute holds the plain value (``str``, ``date``, ``int``, a JSON ``dict``
or ``bytes``); in the database, and so in every backup and dump, only the sealed envelope.

- Writing: just before a flush, ``_seal_before_flush`` tags each sealed value of every new or
  changed row with its case's data key id (a case gets its key the first time it has something
  to seal). The column type encrypts a tagged value; an untagged one (a SQL filter on a sealed
  column, or a bulk insert that skipped ``tag``) is refused, never written in clear.
- Reading: the envelope names its key, so a value opens anywhere in the app with no context.
  Once the key has been destroyed (disposal) it reads as empty (``""``, ``None``, ``{}``,
  ``b""``): the pages say "personal data disposed of" from the case's own record.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from disclosure_app.privacy import envelope
from disclosure_app.privacy.keys import keystore
from disclosure_app.privacy.keystore import KeyDestroyed

KINDS = ("text", "date", "int", "json", "bytes")
DISPOSED: dict[str, Any] = {"text": "", "date": None, "int": None, "json": {}, "bytes": b""}
log = logging.getLogger(__name__)


class Unreadable(str):
    """A stored value that is not a sealed envelope, or fails its integrity check: written
    behind the app's back. Reads as empty; the auditor's trail names it (audit.queries)."""


class UnreadableDict(dict):  # type: ignore[type-arg]
    """The JSON kind of ``Unreadable``."""


class UnreadableBytes(bytes):
    """The bytes kind of ``Unreadable``."""


_UNREADABLE: dict[str, Any] = {"text": Unreadable(""), "date": None, "int": None,
                               "json": None, "bytes": UnreadableBytes(b"")}


class UnsealedValue(Exception):
    """A personal value was about to reach the database without its case's key."""


# Plain values with the key id they are to be sealed under. Subclasses, so that code reading
# the attribute before the flush sees an ordinary str, date, dict…


class _Str(str):
    seal_key: str


class _Int(int):
    seal_key: str


class _Date(date):
    seal_key: str


class _Dict(dict):  # type: ignore[type-arg]
    seal_key: str


class _List(list):  # type: ignore[type-arg]
    seal_key: str


class _Bytes(bytes):
    seal_key: str


def tag(value: Any, key_id: str) -> Any:
    """``value`` marked for sealing under ``key_id`` (for bulk inserts that skip the ORM)."""
    if value is None or getattr(value, "seal_key", None) == key_id:
        return value
    tagged: Any
    if isinstance(value, bool):
        raise TypeError("booleans are not sealed")
    if isinstance(value, str):
        tagged = _Str(value)
    elif isinstance(value, int):
        tagged = _Int(value)
    elif isinstance(value, date):
        tagged = _Date(value.year, value.month, value.day)
    elif isinstance(value, dict):
        tagged = _Dict(value)
    elif isinstance(value, list):
        tagged = _List(value)
    elif isinstance(value, bytes | bytearray | memoryview):
        tagged = _Bytes(value)
    else:
        raise TypeError(f"cannot seal a {type(value).__name__}")
    tagged.seal_key = key_id
    return tagged


def _encode(kind: str, value: Any) -> bytes:
    if kind == "text":
        return str(value).encode("utf-8")
    if kind == "date":
        return value.isoformat().encode("ascii")
    if kind == "int":
        return str(int(value)).encode("ascii")
    if kind == "json":
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return bytes(value)


def _decode(kind: str, raw: bytes) -> Any:
    if kind == "text":
        return raw.decode("utf-8")
    if kind == "date":
        return date.fromisoformat(raw.decode("ascii"))
    if kind == "int":
        return int(raw)
    if kind == "json":
        return json.loads(raw.decode("utf-8"))
    return raw


class Sealed(TypeDecorator[Any]):
    impl = sa.LargeBinary
    cache_ok = True

    def __init__(self, kind: str = "text") -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown sealed kind {kind!r}")
        super().__init__()
        self.kind = kind

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        key_id = getattr(value, "seal_key", None)
        if key_id is None and value in ("", b""):
            return b""  # a column default: nothing to hide, and no case key at hand yet
        if key_id is None:
            if envelope.is_sealed(value) and isinstance(value, bytes) and self.kind != "bytes":
                return value  # already sealed (a copy between tables, a migration)
            raise UnsealedValue(
                f"a {self.kind} value reached a sealed column without its case's key (sealed "
                "columns cannot be filtered on: use a blind index)")
        return envelope.seal(keystore().cipher(key_id), key_id, _encode(self.kind, value),
                             self.kind)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        sealed = bytes(value)
        if not sealed:
            return DISPOSED[self.kind] if self.kind in ("text", "bytes") else None
        if not envelope.is_sealed(sealed):
            return self._unreadable("is not a sealed envelope")
        try:
            cipher = keystore().cipher(envelope.key_id_of(sealed))
        except KeyDestroyed:
            return DISPOSED[self.kind]
        try:
            return _decode(self.kind, envelope.open_sealed(cipher, sealed, self.kind))
        except envelope.SealBroken:
            return self._unreadable("failed its integrity check")

    def _unreadable(self, why: str) -> Any:
        # Someone wrote to the database behind the app's back: say so in the log, and let the
        # pages show nothing rather than fail (the auditor's trail flags the record).
        log.error("a stored %s value %s: it was changed outside the app", self.kind, why)
        return UnreadableDict() if self.kind == "json" else _UNREADABLE[self.kind]

    def copy(self, **kw: Any) -> Sealed:
        return Sealed(self.kind)


# --- The flush hook -----------------------------------------------------------------------------

_sealed_columns: dict[type, tuple[str, ...]] = {}
# The model whose ``data_key_id`` every sealed row takes its key from (disclosure_app.models
# registers Case): rows find their case through their ``case_id``.
_case_model: list[type] = []


def register_case_model(model: type) -> None:
    _case_model[:] = [model]


def sealed_attributes(cls: type) -> tuple[str, ...]:
    found = _sealed_columns.get(cls)
    if found is None:
        mapper = sa.inspect(cls)
        found = tuple(prop.key for prop in mapper.column_attrs
                      if isinstance(prop.columns[0].type, Sealed))
        _sealed_columns[cls] = found
    return found


def case_key(session: Session, case: Any) -> str:
    """The case's data key id, made (in the key store) the first time the case needs one."""
    if not case.data_key_id:
        case.data_key_id = keystore().create_data_key()
    return str(case.data_key_id)


def _owning_case(session: Session, obj: Any) -> Any:
    if hasattr(obj, "data_key_id"):
        return obj
    case = obj.__dict__.get("case")
    if case is None and getattr(obj, "case_id", None) is not None:
        with session.no_autoflush:
            case = session.get(_case_model[0], obj.case_id)
    if case is None:
        raise UnsealedValue(f"a {type(obj).__name__} has no case to take its key from")
    return case


@event.listens_for(Session, "before_flush")
def _seal_before_flush(session: Session, _ctx: object, _instances: object) -> None:
    for obj in list(session.new) + list(session.dirty):
        attrs = sealed_attributes(type(obj))
        if not attrs:
            continue
        values = obj.__dict__
        pending = [a for a in attrs if values.get(a) is not None
                   and getattr(values[a], "seal_key", None) is None]
        if not pending:
            continue
        key_id = case_key(session, _owning_case(session, obj))
        for attr in pending:
            # Straight into the instance's dict: the attribute's change history (and so which
            # columns the flush writes) is left exactly as the service made it.
            values[attr] = tag(values[attr], key_id)
