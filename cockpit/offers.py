"""What a step's output offers the operator to pick (``offers:`` on a command).

Owns reading the step's log back — the latest attempt, the output of the command that
offers (its ``# $`` banner marks where it starts) as plain text — and collecting the
matches of the command's ``pattern`` in the order printed, lines matching ``skip`` left
out, each value once; and whether a done step still waits for the operator's pick (no
choice of that value was journaled since the step ended).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cockpit.events import StepStatus
from cockpit.runbook import Offers, Step
from cockpit.runner import step_commands
from cockpit.safefiles import read_bytes
from cockpit.session import RunSession
from cockpit.termtext import plain

MAX_OFFERED = 50
"""At most this many values are offered (the first printed)."""


@dataclass(frozen=True)
class Offer:
    """The values one command of a step offers for ``{var}``."""

    var: str
    values: list[str]
    command: str
    """The command that printed them, as written in the runbook."""


def outputs(log: Path, count: int, anchor: Path | None = None) -> list[list[str]]:
    """The plain output lines of each of the ``count`` commands of the log's last attempt
    (read as every state file is, never through a link: ``anchor`` is the state folder)."""
    try:
        text = (read_bytes(log, anchor) or b"").decode("utf-8", "replace")
    except OSError:
        return [[] for _ in range(count)]
    out: list[list[str]] = [[] for _ in range(count)]
    index = -1
    for line in text.split("\n"):  # only \n ends a log line: \r is part of its text
        parts = line.split(" ", 2)
        if len(parts) < 2:
            continue
        tag, rest = parts[1], parts[2] if len(parts) == 3 else ""
        if tag == "#" and rest.startswith("=== ") and "(attempt " in rest:
            out, index = [[] for _ in range(count)], -1  # a new attempt starts over
        elif tag == "#" and rest.startswith("$ "):
            index += 1
        elif tag in ("O", "E", "o", "e") and 0 <= index < count:
            if tag in ("o", "e"):
                continue  # a progress line still being rewritten
            out[index].append(plain(rest))
    return out


def matches(lines: list[str], offers: Offers) -> list[str]:
    """Every match of the pattern (its first group, if it has one), in order, once."""
    pattern = re.compile(offers.pattern)
    skip = re.compile(offers.skip) if offers.skip else None
    found: dict[str, None] = {}
    for line in lines:
        if skip is not None and skip.search(line):
            continue
        for match in pattern.finditer(line):
            value = (match.group(1) if pattern.groups else match.group(0)).strip()
            if value and "\n" not in value:
                found.setdefault(value)
    return list(found)[:MAX_OFFERED]


def offered(session: RunSession, phase_id: str, step: Step) -> list[Offer]:
    """What the step's commands offer, read from its log (nothing before it ran)."""
    commands = step_commands(step)
    if not any(c.offers for c in commands):
        return []
    lines = outputs(session.log_path(phase_id, step.id), len(commands), session.ws.state_dir)
    return [
        Offer(c.offers.var, matches(lines[i], c.offers), c.run or "")
        for i, c in enumerate(commands)
        if c.offers is not None
    ]


def unchosen(session: RunSession, phase_id: str, step: Step) -> set[str]:
    """The vars a done step offers that were not chosen since it ended (from the state
    alone: no file is read)."""
    st = session.state.step(phase_id, step.id)
    if st.state != StepStatus.DONE or not st.finished_at:
        return set()
    out = set()
    for command in step_commands(step):
        if command.offers is not None:
            chosen = session.state.chosen.get(command.offers.var)
            if chosen is None or chosen.ts < st.finished_at:
                out.add(command.offers.var)
    return out


def waiting(session: RunSession, phase_id: str, step: Step) -> list[Offer]:
    """The offers of a done step whose value was not chosen since it ended; reads the
    step's log only when there is one (blocking: call it in a thread)."""
    open_vars = unchosen(session, phase_id, step)
    if not open_vars:
        return []
    return [o for o in offered(session, phase_id, step) if o.var in open_vars]
