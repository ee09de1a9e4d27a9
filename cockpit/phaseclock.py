"""A phase's time on the wall clock: the one deployment time every surface states.

Owns measuring a phase's steps together: the wall clock from its first step's start to
its last step's end (or to now while a step runs), how much of that no step ran (the
pauses between steps, reported separately), and the sum of the step budgets it runs
against — every attempt counted, a timed window ended by its last tick as the screens
judge it (``cockpit.progress.step_times``). The deploy screen, the dashboard's deploy
panel, ``cockpit status`` (text and ``--json``) and the report all take the deployment
time (the runbook's ``kind: deploy`` phase) from ``deployment_clock``, so they agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cockpit.clock import iso, parse_iso
from cockpit.durations import format_duration
from cockpit.events import FINISHED, StepStatus
from cockpit.progress import step_state, step_times
from cockpit.runbook import Phase, Runbook
from cockpit.state import RunState


@dataclass(frozen=True)
class PhaseClock:
    """How long a phase's steps have taken, on the wall clock."""

    phase_id: str
    budget_s: float
    """The sum of the phase's step budgets (the high end of a range) for the release type."""
    started_at: str | None = None
    """When its first step started (None: no step has started)."""
    ended_at: str | None = None
    """When its last step ended (None while a step runs, or before any started)."""
    wall_s: float | None = None
    """First start to last end, or to now while a step runs (None: not started)."""
    paused_s: float = 0.0
    """The part of ``wall_s`` when no step of the phase ran."""
    running: bool = False
    finished: bool = False
    """Every step that started has finished (done or skipped) and none runs."""

    def words(self, label: str = "") -> str:
        """``deployment 12:04 wall clock (2:10 paused) of budget 1h35m`` (``label`` first)."""
        lead = f"{label} " if label else ""
        if self.wall_s is None:
            return f"{lead}{self.clock_words()} · {self.budget_words()}"
        return f"{lead}{self.clock_words()} of {self.budget_words()}"

    def clock_words(self) -> str:
        """``12:04 wall clock (2:10 paused)``, or ``not started``."""
        if self.wall_s is None:
            return "not started"
        paused = f" ({_clock(self.paused_s)} paused)" if self.paused_s >= 1 else ""
        return f"{_clock(self.wall_s)} wall clock{paused}"

    def budget_words(self) -> str:
        """``budget 1h35m`` (the sum of the step budgets), or ``no budget``."""
        return f"budget {format_duration(self.budget_s)}" if self.budget_s else "no budget"

    @property
    def over_budget(self) -> bool:
        return bool(self.budget_s) and (self.wall_s or 0.0) > self.budget_s

    def fields(self, label: str = "deployment") -> dict[str, Any]:
        """The figures ``status --json`` and ``report --format json`` carry, and the words."""
        return {
            "phase": self.phase_id,
            "wall_clock_s": self.wall_s,
            "paused_s": self.paused_s if self.wall_s is not None else None,
            "budget_s": self.budget_s,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "running": self.running,
            "finished": self.finished,
            "words": self.words(label),
        }


def _clock(seconds: float) -> str:
    """``0:09``, ``12:04``, ``1:02:09``: a wall clock as short as it can be."""
    total = max(0, int(seconds))
    hours, rem = divmod(total, 3600)
    minutes, secs = divmod(rem, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _busy(spans: list[tuple[datetime, datetime]]) -> float:
    """Seconds covered by at least one span (overlaps counted once)."""
    total = 0.0
    end: datetime | None = None
    for start, stop in sorted(spans):
        if end is None or start > end:
            total += (stop - start).total_seconds()
            end = stop
        elif stop > end:
            total += (stop - end).total_seconds()
            end = stop
    return total


def phase_clock(phase: Phase, state: RunState, now: datetime) -> PhaseClock:
    """The phase's wall clock, its pauses and its budget, as the run's state has them."""
    assert state.run is not None
    steps = phase.steps_for(state.run.type)
    budget = float(sum(s.budget.high for s in steps if s.budget))
    spans: list[tuple[datetime, datetime]] = []
    running = False
    finished = True
    for step in steps:
        st = state.step(phase.id, step.id)
        for start, end in st.spans[:-1]:  # earlier attempts (a failed one, then a retry)
            if end is not None:
                spans.append((parse_iso(start), parse_iso(end)))
        started, ended = step_times(phase, step, state)
        shown = step_state(phase, step, state)
        if shown not in FINISHED:
            finished = False  # a step never started keeps the phase unfinished too
        if started is None:
            continue
        if shown == StepStatus.RUNNING:
            running = True
            spans.append((parse_iso(started), max(now, parse_iso(started))))
        elif ended is not None:
            spans.append((parse_iso(started), parse_iso(ended)))
    if not spans:
        return PhaseClock(phase.id, budget)
    first = min(s for s, _ in spans)
    last = max(e for _, e in spans)
    wall = max(0.0, (last - first).total_seconds())
    return PhaseClock(
        phase.id,
        budget,
        started_at=iso(first),
        ended_at=None if running else iso(last),
        wall_s=round(wall, 3),
        paused_s=round(max(0.0, wall - _busy(spans)), 3),
        running=running,
        finished=finished and not running,
    )


def deployment_clock(runbook: Runbook, state: RunState, now: datetime) -> PhaseClock | None:
    """The deployment time: the clock of the runbook's ``kind: deploy`` phase (None when
    the runbook has none)."""
    phase = runbook.of_kind("deploy")
    return phase_clock(phase, state, now) if phase is not None else None
