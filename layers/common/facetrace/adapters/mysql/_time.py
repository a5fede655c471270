"""UTC conversions: MySQL DATETIME holds naive UTC; the domain uses aware datetimes."""

from __future__ import annotations

from datetime import datetime, timezone


def to_db(value: datetime | None) -> datetime | None:
    """Aware datetime -> naive UTC for MySQL."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def from_db(value: datetime | None) -> datetime | None:
    """Naive UTC from MySQL -> aware datetime."""
    return value.replace(tzinfo=timezone.utc) if value is not None else None
