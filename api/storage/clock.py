"""Time as the tables keep it (naive UTC, to the second) and as responses show it (RFC 3339)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, in UTC, to the second (timestamps are compared and shown to the second)."""
    return datetime.now(UTC).replace(microsecond=0, tzinfo=None)


def as_utc(moment: datetime) -> datetime:
    """A naive UTC datetime (how the tables store time) from an aware or naive one."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def rfc3339(moment: datetime | None) -> str | None:
    """A stored time as responses show it (``2026-12-03T10:00:00Z``); None stays None."""
    return None if moment is None else as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")
