"""Documents kept on a case that the app did not generate itself: the scanned, signed copy of the
recipient's confidentiality undertaking.

Generated PDFs (decision record, undertaking for signature, letters) are not stored: they are
rebuilt deterministically from the case, and the SHA-256 of every copy handed out is written into
the audit chain at generation. An uploaded document cannot be rebuilt, so its bytes are kept here,
its SHA-256 in the audit chain; the row is never updated.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from disclosure_app.db import Base
from disclosure_app.privacy.sealed import Sealed

if TYPE_CHECKING:
    from disclosure_app.models.case import Case
    from disclosure_app.models.user import User


class StoredDocument(Base):
    __tablename__ = "stored_documents"
    __table_args__ = (sa.Index("ix_stored_documents_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(sa.String(40))  # e.g. "signed_undertaking"
    filename: Mapped[str] = mapped_column(Sealed())  # names people, often
    media_type: Mapped[str] = mapped_column(sa.String(100))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    # Deferred: listing a case's documents must not pull megabytes of scans into memory.
    # Sealed under the case's key (the SHA-256 above is of the plain bytes).
    content: Mapped[bytes] = mapped_column(Sealed("bytes"), deferred=True)
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[datetime]
    audit_seq: Mapped[int | None] = mapped_column(sa.ForeignKey("audit_entries.seq"))

    case: Mapped[Case] = relationship()
    uploaded_by: Mapped[User] = relationship()
