"""Whether a journal line is an event this version can fold, and if not, why in words.

Owns the rules a hand-edited or damaged journal line is held to before anything replays
it: a JSON object with a ``type`` and an ISO-8601 ``ts``; for the event types
``cockpit.events`` knows, the fields each one cannot do without (an item's ``phase`` and
``item``, a step's ``phase`` and ``step`` …) and every field of the type its dataclass
declares, including the few nested shapes the state and the report read (the run of
``run.started``, a step's ``out_of_order``). ``problem`` answers with a short sentence
that the journal reader turns into a warning naming the file and line; the line is then
skipped. Unknown types and unknown keys are not problems: newer versions add them.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Callable
from datetime import datetime
from typing import Any

from cockpit.events import REGISTRY, Event

REQUIRED: dict[str, tuple[str, ...]] = {
    "run.started": ("run",),
    "item.checked": ("phase", "item"),
    "item.unchecked": ("phase", "item"),
    "item.noted": ("phase", "item"),
    "item.verification_failed": ("phase", "item"),
    "phase.unlocked": ("phase",),
    "step.started": ("phase", "step"),
    "command.started": ("phase", "step"),
    "command.finished": ("phase", "step"),
    "step.finished": ("phase", "step", "state"),
    "step.skipped": ("phase", "step"),
    "window.started": ("phase", "step"),
    "window.ended": ("phase", "step"),
    "health.changed": ("env", "state"),
    "health.sample": ("env", "state"),
    "health.baseline": ("env",),
    "decision.recorded": ("choice",),
    "rollback.target_set": ("target",),
    "value.chosen": ("name", "value"),
    "git.branch_created": ("branch",),
    "tag.created": ("tag",),
    "tag.pushed": ("tag",),
    "tag.push_failed": ("tag",),
    "release.created": ("tag",),
    "release.failed": ("tag",),
}
"""Fields an event of each type is meaningless without (text ones must not be empty)."""

COMMIT = re.compile(r"^[0-9a-f]{7,64}$")
"""A commit's sha as ``run.started`` records where the release range starts."""

MAX_COMMANDS = 1000
"""A command's ``index`` beyond this is a typo, not a step (the state grows a list to it)."""

_NAMES = {str: "text", int: "a whole number", bool: "true or false", dict: "an object"}
_NAMES |= {list: "a list"}


@dataclasses.dataclass(frozen=True)
class _Field:
    name: str
    kinds: tuple[type, ...]
    nullable: bool
    item: type | None
    required: bool


_CHECKS: dict[type[Event], tuple[_Field, ...]] = {}


def _accepts(hint: Any) -> tuple[tuple[type, ...], bool, type | None]:
    """The Python types a field's annotation accepts, whether null does, a list's item type."""
    union = isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union
    kinds: list[type] = []
    nullable, item = False, None
    for arg in typing.get_args(hint) if union else (hint,):
        if arg is type(None):
            nullable = True
            continue
        if arg is Any:
            return (object,), True, None
        origin = typing.get_origin(arg) or arg
        if origin is float:
            kinds += [int, float]
        elif origin is list:
            kinds.append(list)
            args = typing.get_args(arg)
            item = args[0] if args and isinstance(args[0], type) else None
        else:
            kinds.append(origin)
    return tuple(kinds), nullable, item


def _checks(cls: type[Event]) -> tuple[_Field, ...]:
    checks = _CHECKS.get(cls)
    if checks is None:
        hints = typing.get_type_hints(cls)
        required = REQUIRED.get(cls.TYPE, ())
        out = []
        for f in dataclasses.fields(cls):
            if f.name in ("ts", "by", "extra"):
                continue
            kinds, nullable, item = _accepts(hints[f.name])
            out.append(_Field(f.name, kinds, nullable, item, f.name in required))
        checks = _CHECKS[cls] = tuple(out)
    return checks


def _what(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    if isinstance(value, int | float):
        return f"the number {value}"
    return "an object" if isinstance(value, dict) else "a list"


def _expected(kinds: tuple[type, ...]) -> str:
    if float in kinds:
        return "a number"
    return " or ".join(_NAMES.get(k, k.__name__) for k in kinds)


def _fits(value: Any, kinds: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in kinds:
        return False  # JSON true is not the number 1
    return isinstance(value, kinds)


def is_time(text: Any) -> bool:
    """True for an ISO-8601 time as the journal writes it (``2026-11-24T14:00:00+00:00``)."""
    if not isinstance(text, str):
        return False
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _run_started(line: dict[str, Any]) -> str | None:
    run = line["run"]
    for key in ("id", "type", "version"):
        if not isinstance(run.get(key), str) or not run[key].strip():
            return f"run.started: its run has no {key} (text)"
    for key in ("operator", "started_at", "previous_version", "workspace", "since_tag"):
        if run.get(key) is not None and not isinstance(run[key], str):
            return f"run.started: the run's {key} is {_what(run[key])}, not text"
    since = run.get("since_commit")
    if since is not None and not (isinstance(since, str) and COMMIT.match(since)):
        return f"run.started: the run's since_commit is {_what(since)}, not a commit's sha"
    if run.get("started_at") and not is_time(run["started_at"]):
        return f"run.started: the run's started_at {run['started_at']!r} is not an ISO-8601 time"
    return None


def _out_of_order(line: dict[str, Any]) -> str | None:
    order = line.get("out_of_order")
    if not order:
        return None
    kind = line["type"]
    if order.get("reason") is not None and not isinstance(order["reason"], str):
        return f"{kind}: out_of_order.reason is {_what(order['reason'])}, not text"
    earlier = order.get("earlier", [])
    if not isinstance(earlier, list) or not all(
        isinstance(x, dict) and isinstance(x.get("step"), str) and isinstance(x.get("state"), str)
        for x in earlier
    ):
        return f"{kind}: out_of_order.earlier is not a list of steps with their state"
    return None


def _index(line: dict[str, Any]) -> str | None:
    index = line.get("index", 0)
    if not 0 <= index < MAX_COMMANDS:
        return f"{line['type']}: index {index} is not a command's place in its step"
    return None


_SHAPES: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "run.started": _run_started,
    "step.started": _out_of_order,
    "window.started": _out_of_order,
    "command.started": _index,
    "command.finished": _index,
}


def problem(line: Any) -> str | None:
    """Why ``line`` (a decoded journal line) cannot be folded, in words; None when it can."""
    if not isinstance(line, dict):
        return f"not an event but {_what(line)}"
    kind = line.get("type")
    if not isinstance(kind, str) or not kind.strip():
        return "no event type"
    ts = line.get("ts")
    if ts is None:
        return f"{kind} without its time (ts)"
    if not is_time(ts):
        return f"{kind}: its time (ts) is {_what(ts)}, not an ISO-8601 time"
    by = line.get("by")
    if by is not None and not isinstance(by, str):
        return f"{kind}: by is {_what(by)}, not text"
    cls = REGISTRY.get(kind)
    if cls is None:
        return None  # a type a newer version writes: kept, never folded
    for f in _checks(cls):
        value = line.get(f.name)
        if value is None:
            if f.required:
                return f"{kind} without {f.name}"
            if f.name in line and not f.nullable:
                return f"{kind}: {f.name} is null, not {_expected(f.kinds)}"
            continue
        if not _fits(value, f.kinds):
            return f"{kind}: {f.name} is {_what(value)}, not {_expected(f.kinds)}"
        if f.required and isinstance(value, str) and not value.strip():
            return f"{kind} without {f.name}"
        if f.item is not None and not all(_fits(x, (f.item,)) for x in value):
            return f"{kind}: {f.name} holds something other than {_expected((f.item,))}"
    shape = _SHAPES.get(kind)
    return shape(line) if shape else None
