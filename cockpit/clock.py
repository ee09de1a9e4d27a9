"""Time for the whole cockpit: one ``Clock`` that can be frozen for tests and snapshots.

Owns "now" (timezone-aware UTC), ISO-8601 formatting and parsing of journal
timestamps. Everything that stamps or measures time takes a Clock, so a test can
pin it and a snapshot never shows a moving clock.
"""

from __future__ import annotations

from datetime import UTC, datetime


class Clock:
    """The real clock; ``now()`` is timezone-aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock(Clock):
    """A clock that says what it is told; ``advance`` moves it."""

    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        from datetime import timedelta

        self.at = self.at + timedelta(seconds=seconds)


def iso(moment: datetime) -> str:
    """A journal timestamp: ISO-8601 with milliseconds and offset."""
    return moment.isoformat(timespec="milliseconds")


def parse_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def local_hms(text: str | None) -> str:
    """``14:02:37`` in local time from a journal timestamp ('' for None): the time of day
    every screen, the report and the lock's holder show."""
    if not text:
        return ""
    return parse_iso(text).astimezone().strftime("%H:%M:%S")
