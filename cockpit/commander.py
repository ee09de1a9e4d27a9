"""What an incident commander needs to see at a glance: who drives, what runs, what is next,
and how long the incident has lasted.

Owns turning a run's state (and its lock) into the facts every screen's header states, in
the same words everywhere: whether a live process drives the run (``driver_facts``: the
journal names the driver, the lock says whether that process still holds it, so a watcher
notices a driver killed with ``kill -9``), the step running now with its time against its
budget and the step or phase that comes next with its budget (``now_and_next``), and the
incident clocks (``incident_clocks``: since the first rollback criterion now met was met,
since the latest decision, since the deploy environment went DOWN). Pure reads: callers
poll it; nothing here writes.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import datetime

from cockpit.clock import parse_iso
from cockpit.describe import decision_words
from cockpit.events import FINISHED, StepStatus
from cockpit.lock import Holder, RunLock
from cockpit.progress import criteria_met, due, progress, step_seconds, step_state
from cockpit.runbook import Phase, Runbook, Step
from cockpit.state import RunState
from cockpit.termtext import inert


@dataclass(frozen=True)
class DriverFacts:
    """Who drives the run, as far as this process can tell."""

    state: str
    """"driving" (this process), "driven" (another live process holds the lock), "gone"
    (the journal names a driver whose process no longer holds the lock), "nobody"."""
    operator: str | None = None
    pid: int | None = None
    host: str | None = None
    why: str | None = None
    """For "gone": why, in words (``pid 4242 is no longer running``)."""


def driver_facts(state: RunState, lock: RunLock, driving: bool) -> DriverFacts:
    """Read the lock (blocking file IO: call it from a thread in a front end); every text
    from the lock file or the journal made inert (it reaches a terminal)."""
    facts = _driver_facts(state, lock, driving)
    return DriverFacts(
        facts.state,
        inert(str(facts.operator)) if facts.operator else None,
        facts.pid if isinstance(facts.pid, int) and not isinstance(facts.pid, bool) else None,
        inert(str(facts.host)) if facts.host else None,
        inert(facts.why) if facts.why else None,
    )


def _driver_facts(state: RunState, lock: RunLock, driving: bool) -> DriverFacts:
    if driving:
        driver = state.driver or {}
        return DriverFacts("driving", driver.get("operator"), driver.get("pid"), driver.get("host"))
    holder: Holder | None = lock.read()
    named = state.driver
    if lock.is_held_elsewhere():
        if holder is not None:
            return DriverFacts("driven", holder.operator, holder.pid, holder.host)
        named = named or {}
        return DriverFacts("driven", named.get("operator"), named.get("pid"), named.get("host"))
    if named is None:
        return DriverFacts("nobody")
    pid, host = named.get("pid"), named.get("host")
    if holder is not None and holder.pid == pid:
        why = holder.gone_reason()
        if why.endswith("released the lock"):  # flock gone, process alive: it let go
            why = f"pid {pid} no longer holds the lock"
    elif host and host != socket.gethostname():
        why = f"its lock was taken on host {host} and is not held"
    else:
        why = f"pid {pid} no longer holds the lock"
    return DriverFacts("gone", named.get("operator"), pid, host, why)


@dataclass(frozen=True)
class StepFacts:
    """A step (or a phase, for what is next) with its time against its budget."""

    title: str
    phase_title: str
    elapsed: float | None = None
    """Seconds it has run (None: not started)."""
    budget: str | None = None
    """The budget in words (``30m``, ``2h–4h``); None: it has none."""
    over: bool = False
    """It has run past its budget."""


def now_and_next(
    runbook: Runbook, state: RunState, now: datetime
) -> tuple[StepFacts | None, StepFacts | None]:
    """The step running now (a command step or a timed window) and what comes after it: the
    next unfinished step of its phase, else the first open phase after it in runbook order
    (when nothing runs: the phase the driver has open first, then runbook order)."""
    assert state.run is not None
    release_type = state.run.type
    running: tuple[Phase, Step] | None = None
    for phase in runbook.phases.values():
        for step in phase.steps_for(release_type):
            if step_state(phase, step, state) == StepStatus.RUNNING:
                running = (phase, step)
                break
        if running:
            break
    current = None
    if running is not None:
        phase, step = running
        elapsed = step_seconds(phase, step, state, now)
        budget = step.budget
        over = bool(budget and elapsed is not None and elapsed > budget.high)
        current = StepFacts(step.title, phase.title, elapsed, str(budget) if budget else None, over)
    return current, _next(runbook, state, running)


def _next(
    runbook: Runbook, state: RunState, running: tuple[Phase, Step] | None
) -> StepFacts | None:
    assert state.run is not None
    release_type = state.run.type
    phases = [p for p in runbook.phases.values() if p.applies_to(release_type)]
    if running is not None:
        phase, step = running
        steps = phase.steps_for(release_type)
        for later in steps[steps.index(step) + 1 :]:
            if step_state(phase, later, state) not in FINISHED:
                return _step_facts(phase, later)
        # the phases after it, then the rest (it may be one not due: a stage timed early)
        at = phases.index(phase) + 1 if phase in phases else 0
        phases = phases[at:] + phases[:at]
    phases = [p for p in phases if due(p, runbook, state)]
    waited_on = running[0].id if running is not None else None
    if running is None:
        # nothing runs: the phase the driver has open comes first
        opened = state.driver_view.phase if state.driver_view else None
        first = [p for p in phases if p.id == opened]
        phases = first + [p for p in phases if p.id != opened]
    for phase in phases:
        p = progress(runbook, state, phase.id)
        if p.complete or (p.locked and waited_on not in p.waiting_on):
            continue  # while a step runs, the phase waiting for its phase is what is next
        for step in phase.steps_for(release_type):
            if step_state(phase, step, state) not in (*FINISHED, StepStatus.RUNNING):
                return _step_facts(phase, step)
        if p.total and p.done < p.total:
            return StepFacts(f"{p.total - p.done} item(s) to tick", phase.title)
    return None


def _step_facts(phase: Phase, step: Step) -> StepFacts:
    return StepFacts(step.title, phase.title, budget=str(step.budget) if step.budget else None)


@dataclass(frozen=True)
class IncidentClocks:
    """Seconds since each moment of the incident that has happened (None: it has not)."""

    since_criterion: float | None = None
    since_decision: float | None = None
    since_down: float | None = None
    decision: str | None = None
    """The latest decision in words: ``ROLL BACK`` or ``FIX FORWARD``."""


def incident_clocks(runbook: Runbook, state: RunState, now: datetime) -> IncidentClocks:
    """Since when a rollback criterion is met (the earliest tick of those met now), since the
    latest decision, and since the deploy environment is DOWN (while it is)."""
    met = [state.item(phase.id, e.item.id).at for phase, e in criteria_met(runbook, state)]
    first = min((parse_iso(t) for t in met if t), default=None)
    since_criterion = (now - first).total_seconds() if first else None
    since_decision, decision = None, None
    if state.decisions:
        last = state.decisions[-1]
        since_decision = (now - parse_iso(last.ts)).total_seconds()
        decision = decision_words(last.choice).upper()
    since_down = None
    env = runbook.deploy_environment
    if env and (health := state.health.get(env)) is not None and health.state == "DOWN":
        down_at = health.ts
        for change in reversed(state.health_changes):  # when this stretch of DOWN began
            if change.env != env:
                continue
            if change.state != "DOWN":
                break
            down_at = change.ts
        since_down = (now - parse_iso(down_at)).total_seconds()
    return IncidentClocks(
        *(max(0.0, s) if s is not None else None for s in (since_criterion, since_decision)),
        max(0.0, since_down) if since_down is not None else None,
        decision,
    )
