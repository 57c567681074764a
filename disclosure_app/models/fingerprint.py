"""Fingerprints of decision rationales, for spotting text copied from another case.

Each legal limb of a recorded decision is cut into overlapping word shingles; each shingle is
stored as a 64-bit hash. A new rationale's shingles are looked up through the index on
``shingle``, so finding near-verbatim copies costs one indexed query however many cases exist,
rather than a comparison with every earlier decision. Hashes, not words: the text itself stays in
``case_steps`` only.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from disclosure_app.db import Base


class RationaleFingerprint(Base):
    __tablename__ = "rationale_fingerprints"
    __table_args__ = (
        sa.Index("ix_rationale_fingerprints_shingle", "shingle", "case_id"),
        sa.Index("ix_rationale_fingerprints_case", "case_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    step_id: Mapped[int] = mapped_column(sa.ForeignKey("case_steps.id"))
    field: Mapped[str] = mapped_column(sa.String(40))
    shingle: Mapped[int] = mapped_column(sa.BigInteger)
