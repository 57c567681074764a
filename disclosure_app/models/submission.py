"""One-time form keys: what makes a double click, a replay or a back-and-resubmit harmless.

Every form that changes something carries a random key, generated when the form is rendered.
The service records the key, under a UNIQUE constraint, in the same transaction as the change
itself: either both are committed or neither is, and a second request with the same key cannot
commit a second change. The row also says what the first request did (which case, which step),
so the repeat can be answered with the original result.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from disclosure_app.db import Base

if TYPE_CHECKING:
    from disclosure_app.models.case import Case


class SubmissionKey(Base):
    __tablename__ = "submission_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # What the form did: "apply", "right_to_know", "step" or "withdraw".
    purpose: Mapped[str] = mapped_column(sa.String(32))
    # The case it created or changed; set before commit (a new case gets its id mid-transaction).
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"))
    event: Mapped[str | None] = mapped_column(sa.String(64))  # the step, for "step"
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))  # None: the public
    created_at: Mapped[datetime]

    case: Mapped[Case | None] = relationship()
