"""The local offender register: the built-in records source (standing in for a force's
ViSOR/RMS extract), filled by ``flask register import`` (``disclosure_app.risk.register``).

Names (with aliases) and addresses are rows of their own so that candidate search reads only
indexes: ``surname_key`` (a phonetic key), ``date_of_birth`` and ``postcode_key``. Convictions and
civil orders are only ever read whole, for one confirmed person, so they are kept as validated
JSON on the person.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from disclosure_app.db import Base


class RegisterImport(Base):
    __tablename__ = "register_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    imported_at: Mapped[datetime]
    file_name: Mapped[str] = mapped_column(sa.String(255))
    file_sha256: Mapped[str] = mapped_column(sa.String(64))
    lines: Mapped[int]
    created: Mapped[int]
    updated: Mapped[int]
    audit_seq: Mapped[int | None] = mapped_column(sa.ForeignKey("audit_entries.seq"))


class RegisterPerson(Base):
    __tablename__ = "register_people"
    __table_args__ = (sa.Index("ix_register_people_dob", "date_of_birth", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    surname: Mapped[str] = mapped_column(sa.String(100))
    forenames: Mapped[str] = mapped_column(sa.String(100))
    date_of_birth: Mapped[date]
    gender: Mapped[str] = mapped_column(sa.String(16))
    convictions: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    civil_orders: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    mappa_category: Mapped[int | None]
    mappa_level: Mapped[int | None]
    risk_level: Mapped[str | None] = mapped_column(sa.String(16))
    management: Mapped[str | None] = mapped_column(sa.String(16))
    source: Mapped[str] = mapped_column(sa.String(100))
    import_id: Mapped[int] = mapped_column(sa.ForeignKey("register_imports.id"))
    updated_at: Mapped[datetime]

    names: Mapped[list[RegisterName]] = relationship(
        back_populates="person", order_by="RegisterName.id", cascade="all, delete-orphan"
    )
    addresses: Mapped[list[RegisterAddress]] = relationship(
        back_populates="person", order_by="RegisterAddress.id", cascade="all, delete-orphan"
    )
    last_import: Mapped[RegisterImport] = relationship()

    @property
    def full_name(self) -> str:
        return f"{self.forenames} {self.surname}".strip()


class RegisterName(Base):
    """The person's name (kind "name") and each alias (kind "alias")."""

    __tablename__ = "register_names"
    __table_args__ = (
        sa.Index("ix_register_names_key", "surname_key", "person_pk"),
        sa.Index("ix_register_names_prefix", "surname_prefix", "person_pk"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_pk: Mapped[int] = mapped_column(sa.ForeignKey("register_people.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(8))
    surname: Mapped[str] = mapped_column(sa.String(100))
    forenames: Mapped[str] = mapped_column(sa.String(100))
    surname_key: Mapped[str] = mapped_column(sa.String(16))
    # The first letters of the folded surname: finds spellings the phonetic key splits
    # (Quartermain / Quatermaine).
    surname_prefix: Mapped[str] = mapped_column(sa.String(8))

    person: Mapped[RegisterPerson] = relationship(back_populates="names")


class RegisterAddress(Base):
    __tablename__ = "register_addresses"
    __table_args__ = (sa.Index("ix_register_addresses_postcode", "postcode_key", "person_pk"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_pk: Mapped[int] = mapped_column(sa.ForeignKey("register_people.id"), index=True)
    line: Mapped[str] = mapped_column(sa.String(200))
    postcode: Mapped[str] = mapped_column(sa.String(10))
    postcode_key: Mapped[str] = mapped_column(sa.String(10))
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]

    person: Mapped[RegisterPerson] = relationship(back_populates="addresses")
