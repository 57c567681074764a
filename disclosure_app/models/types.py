"""Column types shared by the models."""

from __future__ import annotations

from enum import Enum
from typing import Any

import sqlalchemy as sa


def enum_column(enum: type[Enum], length: int = 32) -> sa.Enum:
    """Store an enum's *value* as plain text (no native enum), so stored data never depends on
    Python member names and adding a value needs no ALTER TYPE."""
    return sa.Enum(
        enum,
        native_enum=False,
        length=length,
        values_callable=lambda e: [str(m.value) for m in e],
        validate_strings=True,
        create_constraint=False,
    )


def rank_column() -> Any:
    from workflows.roles import Rank

    return sa.Enum(
        Rank,
        native_enum=False,
        length=32,
        values_callable=lambda e: [m.name for m in e],
        create_constraint=False,
    )
