"""Evidence in words: what a verified item, a failed verification or a flag keeps, as read.

Owns ``evidence_words``, the one way every display (the checklist's item detail, the
activity feed and ``watch``, the report) turns an evidence mapping into a line a person
reads — ``READY · HTTP 200 · 212 ms · db ok · redis ok`` — never a Python dict. Known
fields read in their own words and order (what was found first, then where and when);
any other field reads as ``name value``, so evidence that gains fields still reads. Every
text in it came from outside (a ready body, GitHub, the journal) and is shown inert.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from cockpit.clock import local_hms
from cockpit.termtext import inert

SEPARATOR = " · "
EXCERPT = 80
"""At most this many characters of a body excerpt are shown."""

Words = Callable[[Any, Mapping[str, Any]], str | None]
"""A field's words, given its value and the whole evidence (None: nothing to add)."""


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, Mapping):
        return SEPARATOR.join(f"{_text(k)} {_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    return inert(" ".join(str(value).split()))


def _said(value: Any, _: Mapping[str, Any]) -> str:
    return _text(value)


def _labelled(label: str, cut: int | None = None) -> Words:
    return lambda value, _: f"{label} {_text(value)[:cut]}"


def _ms(label: str) -> Words:
    def words(value: Any, _: Mapping[str, Any]) -> str:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{label}{_text(value)}"
        return f"{label}{value:.0f} ms"

    return words


def _time(label: str) -> Words:
    def words(value: Any, _: Mapping[str, Any]) -> str:
        try:
            return f"{label} {local_hms(value) if isinstance(value, str) else _text(value)}"
        except ValueError:  # not a time: shown as the text it is, made inert
            return f"{label} {_text(value)}"

    return words


def _conclusion(value: Any, evidence: Mapping[str, Any]) -> str | None:
    return None if value == evidence.get("state") else f"concluded {_text(value)}"


def _error(value: Any, evidence: Mapping[str, Any]) -> str | None:
    return None if str(value) in str(evidence.get("reason") or "") else _text(value)


def _name(value: Any, evidence: Mapping[str, Any]) -> str:
    source = evidence.get("source")
    return f"{_text(source)} {_text(value)}" if source else _text(value)


def _sha(value: Any, evidence: Mapping[str, Any]) -> str:
    ref = evidence.get("ref")
    return f"on {_text(value)[:7]}" + (f" ({_text(ref)})" if ref else "")


def _excerpt(value: Any, _: Mapping[str, Any]) -> str:
    text = _text(value)
    return f"body “{text[:EXCERPT]}{'…' if len(text) > EXCERPT else ''}”"


FOUND: dict[str, Words] = {
    "signal": _said,
    "state": _said,
    "http_status": _labelled("HTTP"),
    "latency_ms": _ms(""),
    "p50_ms": _ms("p50 "),
    "p95_ms": _ms("p95 "),
    "budget": _labelled("budget"),
    "baseline_p95_ms": _ms("baseline p95 "),
    "checks": _said,
    "dependencies": _said,
    "body_status": _labelled("status"),
    "conclusion": _conclusion,
    "reason": _said,
    "error": _error,
}
"""What was found, in the order it reads (all a brief line says)."""

WHERE: dict[str, Words] = {
    "name": _name,
    "branch": _said,
    "tag": _labelled("from"),
    "commit": _labelled("commit", 8),
    "sha": _sha,
    "url": _said,
    "since": _time("since"),
    "at": _time("at"),
    "excerpt": _excerpt,
    "window": _labelled("judged on"),
}
"""Where and when it was found, after what was found."""

UNSAID = {"kind", "status", "source", "ref"}
"""Fields the others say: ``kind`` and ``source`` (with the name), ``ref`` (with the sha),
GitHub's ``status`` (``state`` and ``conclusion`` say it)."""


def evidence_words(evidence: Mapping[str, Any] | None, *, brief: bool = False) -> str:
    """``evidence`` as one line of words (``""`` for none). ``brief``: what was found only
    (signal, state, code, latency, dependencies, reason), for a line in a feed."""
    if not evidence:
        return ""
    tables = (FOUND,) if brief else (FOUND, WHERE)
    said = [
        words(evidence[key], evidence)
        for table in tables
        for key, words in table.items()
        if evidence.get(key) not in (None, "", {}, [])
    ]
    if not brief:
        said += [
            f"{_text(key).replace('_', ' ')} {_text(value)}"
            for key, value in evidence.items()
            if key not in FOUND
            and key not in WHERE
            and key not in UNSAID
            and value not in (None, "", {}, [])
        ]
    return SEPARATOR.join(w for w in said if w)
