"""Durations as the runbook writes them: ``90s``, ``800ms``, ``15m``, ``1h30m``, ``2h-4h``.

Owns parsing and formatting of time spans for budgets, timeouts and intervals.
A budget may be a range (``2h-4h``: the runbook's "2-4 hours"): the timer warns
past the low end and is over budget past the high end. Budgets, timeouts and intervals
must be more than zero (``positive_duration``): a ``0s`` timeout would fail every probe
and a ``0s`` interval would poll without pause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


class DurationError(ValueError):
    """A duration string that does not parse; the message says what is expected."""


LONGEST = 366 * 24 * 3600.0
"""The longest duration anything in a runbook or config may say."""


def parse_duration(text: object) -> float:
    """Seconds in ``text`` (``"15m"``, ``"1h30m"``, ``"800ms"``); raises DurationError."""
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise DurationError(f"expected a duration like 90s, 15m or 1h30m, got {text!r}")
    if isinstance(text, int | float):
        raise DurationError(f"duration {text!r} needs a unit: write {text}s or {text}m")
    s = text.strip().replace(" ", "")
    pos, total = 0, 0.0
    for m in _PART.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if not s or pos != len(s):
        raise DurationError(f"bad duration {text!r}: write it like 90s, 800ms, 15m, 1h or 1h30m")
    if total > LONGEST:  # no release waits a year; a sleep that long is a typo
        raise DurationError(f"duration {text!r} is longer than a year")
    return total


def positive_duration(text: object) -> float:
    """Seconds in ``text`` like ``parse_duration``, refusing zero (or less) in words."""
    negative = isinstance(text, str) and text.strip().startswith("-")
    value = -1.0 if negative else parse_duration(text)
    if value <= 0:
        raise DurationError(f"duration {text!r} must be more than zero (like 90s, 15m or 1h)")
    return value


@dataclass(frozen=True)
class Budget:
    """A step's time budget: ``low`` seconds expected, ``high`` the limit (equal unless a range)."""

    low: float
    high: float

    @classmethod
    def parse(cls, text: object) -> Budget:
        if isinstance(text, str) and "-" in text.strip()[1:]:
            a, _, b = text.partition("-")
            low, high = positive_duration(a), positive_duration(b)
            if low > high:
                raise DurationError(f"budget range {text!r} runs backwards")
            return cls(low, high)
        value = positive_duration(text)
        return cls(value, value)

    @property
    def warn_at(self) -> float:
        """Seconds after which the timer warns: 80 % of a plain budget, the low end of a range."""
        return self.low if self.low < self.high else 0.8 * self.high

    def __str__(self) -> str:
        if self.low < self.high:
            return f"{format_duration(self.low)}–{format_duration(self.high)}"
        return format_duration(self.high)


def format_duration(seconds: float) -> str:
    """Compact human form: ``45s``, ``15m``, ``1h30m``, ``24h``; sub-second as ``800ms``."""
    if seconds < 1 and seconds > 0:
        return f"{round(seconds * 1000)}ms"
    total = round(seconds)
    hours, rem = divmod(total, 3600)
    minutes, secs = divmod(rem, 60)
    parts = []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if secs or not parts:
        parts.append(f"{secs}s")
    return "".join(parts[:2])


def format_clock(seconds: float) -> str:
    """Elapsed time as a clock: ``04:07`` or ``1:02:09``."""
    total = max(0, int(seconds))
    hours, rem = divmod(total, 3600)
    minutes, secs = divmod(rem, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
