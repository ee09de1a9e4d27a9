"""Budgets from the durations written in a markdown runbook's step titles.

Owns finding a duration in a title ("(15 minutes)", "(2-4 hours)", "30 min", "1h30m"),
turning it into a budget the cockpit accepts (``15m``, ``2h-4h``; a range from zero keeps
its upper bound), and taking it out of the title when it stands in parentheses or at the
end.
"""

from __future__ import annotations

import re

from cockpit.durations import Budget, DurationError, format_duration

_UNIT = r"(?:weeks?|wks?|w|days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)"
_NUM = r"\d+(?:\.\d+)?"
_START = r"(?<![\w.<>≤≥~+/-])"
_RANGE = re.compile(
    rf"{_START}(?P<a>{_NUM})\s*(?P<au>{_UNIT})?(?![A-Za-z])\s*(?:-|–|—|to)\s*"
    rf"(?P<b>{_NUM})\s*(?P<bu>{_UNIT})(?![A-Za-z])"
)
_SINGLE = re.compile(rf"{_START}(?:{_NUM}\s*{_UNIT}(?![A-Za-z])\s*)+")
_PAIR = re.compile(rf"({_NUM})\s*({_UNIT})(?![A-Za-z])")
_UNIT_SECONDS = {"w": 7 * 86400.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}


def _seconds(number: str, unit: str) -> float:
    return float(number) * _UNIT_SECONDS[unit[0]]


def _in_parens(title: str, m: re.Match[str]) -> bool:
    return bool(re.search(r"\(\s*$", title[: m.start()])) and bool(
        re.match(r"\s*\)", title[m.end() :])
    )


def _duration(title: str) -> tuple[re.Match[str], bool] | None:
    """The duration of ``title`` (one in parentheses first, else the first one) and whether
    it is a range; None when the title has none."""
    spans = [(m, True) for m in _RANGE.finditer(title)]
    taken = [m.span() for m, _ in spans]
    for m in _SINGLE.finditer(title):
        if not any(a < m.end() and m.start() < b for a, b in taken):
            spans.append((m, False))
    if not spans:
        return None
    return min(spans, key=lambda s: (not _in_parens(title, s[0]), s[0].start()))


def _budget(match: re.Match[str], is_range: bool) -> str | None:
    """The budget a duration stands for, or None when it is zero or not a valid budget."""
    budget: str | None
    if is_range:
        high_unit = match.group("bu")
        low = _seconds(match.group("a"), match.group("au") or high_unit)
        high = _seconds(match.group("b"), high_unit)
        if 0 < low < high:
            budget = f"{format_duration(low)}-{format_duration(high)}"
        else:
            budget = format_duration(high) if high > 0 else None
    else:
        total = sum(_seconds(n, u) for n, u in _PAIR.findall(match.group(0)))
        budget = format_duration(total) if total > 0 else None
    if budget is not None:
        try:
            Budget.parse(budget)
        except (DurationError, ValueError):
            return None
    return budget


def _without(title: str, match: re.Match[str]) -> str:
    """``title`` with the duration taken out when it stands in parentheses or at the end."""
    before, after = title[: match.start()], title[match.end() :]
    if _in_parens(title, match):
        before = re.sub(r"\(\s*$", "", before)
        after = re.sub(r"^\s*\)", "", after)
        cleaned = f"{before.rstrip()} {after.lstrip()}".strip()
    elif not after.strip(" .:)"):
        cleaned = re.sub(r"[\s:,;–—-]*$", "", before)
    else:
        cleaned = title
    return " ".join(cleaned.split()) or title


def budget_of(title: str) -> tuple[str, str | None]:
    """``title`` without its duration, and the duration as a budget (``15m``, ``2h-4h``).

    A range keeps both ends (the cockpit warns past the low end); a range from zero ("0-2
    hours") keeps its upper bound. The duration is taken out of the title when it stands in
    parentheses or at the end; a title without one comes back as it was, with None.
    """
    found = _duration(title)
    budget = None if found is None else _budget(*found)
    if found is None or budget is None:
        return title, None
    return _without(title, found[0]), budget
