"""Why someone opened a case's sensitive sections (DPA 2018 s.62(2): a consultation log must
make it possible to establish its justification).

The reason code and the SHA-256 of the note are in the consultation's audit entry; the note
itself lives here, with the case, so that erasing a case's personal data can remove it without
breaking the chain, and the auditor's console can show that the note still matches its hash.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from disclosure_app.db import Base


class AccessReason(Base):
    __tablename__ = "access_reasons"
    __table_args__ = (sa.Index("ix_access_reasons_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    reason_code: Mapped[str] = mapped_column(sa.String(32))
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime]
    audit_seq: Mapped[int] = mapped_column(sa.ForeignKey("audit_entries.seq"), unique=True)
