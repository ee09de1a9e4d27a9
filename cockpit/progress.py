"""What the runbook and a run's state say together: progress, completion, locks.

Owns the derived views every surface shows: a phase's done/total for the run's
release type, whether it is complete, which earlier phases it waits on, whether
it is locked (and overridden), whether any rollback criterion is met, and the
``status --json`` document of DESIGN.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cockpit.clock import parse_iso
from cockpit.events import FINISHED, StepStatus
from cockpit.runbook import Entry, Phase, Runbook, Step, applies
from cockpit.state import RunState


@dataclass(frozen=True)
class PhaseProgress:
    """A phase as the dashboard shows it."""

    phase: Phase
    done: int
    total: int
    complete: bool
    waiting_on: tuple[str, ...]
    overridden: bool
    steps_done: int = 0
    steps_total: int = 0

    @property
    def locked(self) -> bool:
        return bool(self.waiting_on) and not self.overridden

    @property
    def counted(self) -> tuple[int, int, str]:
        """What a phase's progress counts, the same on every surface: its steps when it
        runs commands (a procedure), else its items — (done, total, "steps" | "items")."""
        if self.steps_total and any(s.commands for s in self.phase.steps):
            return self.steps_done, self.steps_total, "steps"
        return self.done, self.total, "items"


def step_state(phase: Phase, step: Step, state: RunState) -> str:
    """A step's state for display: a step without commands is done when its checks are."""
    current = state.step(phase.id, step.id).state
    if current in (StepStatus.PENDING, StepStatus.RUNNING) and not step.commands and step.checks:
        assert state.run is not None
        checks = [c for c in step.checks if applies(c.release_types, state.run.type)]
        if checks and all(state.item(phase.id, c.id).checked for c in checks):
            return StepStatus.DONE
    return current


def step_times(phase: Phase, step: Step, state: RunState) -> tuple[str | None, str | None]:
    """When a step started and ended; a stage ticked by hand ends with its last check."""
    st = state.step(phase.id, step.id)
    if st.finished_at or (st.state == StepStatus.RUNNING and step.commands):
        return st.started_at, st.finished_at
    if st.started_at and step_state(phase, step, state) == StepStatus.DONE:
        ticks = [
            state.item(phase.id, c.id).at for c in step.checks if state.item(phase.id, c.id).at
        ]
        return st.started_at, max(ticks) if ticks else None
    return st.started_at, None


def step_seconds(
    phase: Phase, step: Step, state: RunState, now: datetime | None = None
) -> float | None:
    """How long a step ran: until it ended, or until ``now`` while it runs (None: not yet)."""
    started, finished = step_times(phase, step, state)
    if not started or not (finished or now):
        return None
    end = parse_iso(finished) if finished else now
    assert end is not None
    return max(0.0, (end - parse_iso(started)).total_seconds())


def tasks(phase: Phase, release_type: str) -> list[Entry]:
    """The items that must be ticked for the phase to be complete (criteria excluded)."""
    return [e for e in phase.items_for(release_type) if not e.criterion]


def progress(runbook: Runbook, state: RunState, phase_id: str) -> PhaseProgress:
    assert state.run is not None
    rtype = state.run.type
    phase = runbook.phase(phase_id)
    todo = tasks(phase, rtype)
    done = sum(1 for e in todo if state.item(phase_id, e.item.id).checked)
    waiting = tuple(
        dep
        for dep in phase.after
        if dep in runbook.phases
        and runbook.phases[dep].applies_to(rtype)
        and not is_complete(runbook, state, dep)
    )
    steps = phase.steps_for(rtype)
    steps_done = sum(1 for st in steps if step_state(phase, st, state) in FINISHED)
    return PhaseProgress(
        phase,
        done,
        len(todo),
        is_complete(runbook, state, phase_id),
        waiting,
        phase_id in state.overrides,
        steps_done,
        len(steps),
    )


def is_complete(runbook: Runbook, state: RunState, phase_id: str) -> bool:
    assert state.run is not None
    phase = runbook.phase(phase_id)
    todo = tasks(phase, state.run.type)
    items_done = all(state.item(phase_id, e.item.id).checked for e in todo)
    steps_done = all(
        state.step(phase_id, st.id).state in FINISHED
        for st in phase.steps_for(state.run.type)
        if st.commands
    )
    return items_done and steps_done


def next_phase(runbook: Runbook, state: RunState, phase_id: str) -> Phase | None:
    """The phase to go on with once ``phase_id`` is complete: the first later one in runbook
    order (of the run's release type) that is due (``due``), not complete and not locked."""
    assert state.run is not None
    phases = runbook.for_type(state.run.type)
    ids = [p.id for p in phases]
    if phase_id not in ids:
        return None
    for phase in phases[ids.index(phase_id) + 1 :]:
        if not due(phase, runbook, state):
            continue
        p = progress(runbook, state, phase.id)
        if not p.complete and not p.locked:
            return phase
    return None


def due(phase: Phase, runbook: Runbook, state: RunState) -> bool:
    """Whether a phase can come next at all: the incident's phases only in an incident —
    the decision once a rollback criterion is met (or decided), the rollback once a
    rollback is decided; any other phase always."""
    if phase.kind == "decision":
        return bool(state.decisions or criteria_met(runbook, state))
    if phase.kind == "rollback":
        return any(d.choice == "rollback" for d in state.decisions)
    return True


def criteria(runbook: Runbook, state: RunState) -> list[tuple[Phase, Entry]]:
    """Every rollback criterion (the ``kind: decision`` phase's criteria items), met or not."""
    assert state.run is not None
    out = []
    for phase in runbook.for_type(state.run.type):
        if phase.kind != "decision":
            continue
        out += [(phase, e) for e in phase.items_for(state.run.type) if e.criterion]
    return out


def criteria_met(runbook: Runbook, state: RunState) -> list[tuple[Phase, Entry]]:
    """Every rollback criterion (of the ``kind: decision`` phase) currently ticked as met."""
    return [(p, e) for p, e in criteria(runbook, state) if state.item(p.id, e.item.id).checked]


def status_document(runbook: Runbook, state: RunState) -> dict[str, Any]:
    """``cockpit status --json`` (DESIGN.md shape, with extra fields)."""
    assert state.run is not None
    run = state.run
    phases = []
    for phase in runbook.for_type(run.type):
        p = progress(runbook, state, phase.id)
        items = []
        for entry in phase.items_for(run.type):
            st = state.item(phase.id, entry.item.id)
            items.append(
                {
                    "id": entry.item.id,
                    "text": entry.item.text,
                    "checked": st.checked,
                    "by": st.by if st.checked else None,
                    "signed_by": st.signed_by if st.checked else None,
                    "at": st.at if st.checked else None,
                    "note": st.note,
                    "role": entry.role,
                    "criterion": entry.criterion,
                    "evidence": st.evidence,
                }
            )
        steps = []
        for step in phase.steps_for(run.type):
            st = state.step(phase.id, step.id)
            started_at, finished_at = step_times(phase, step, state)
            steps.append(
                {
                    "id": step.id,
                    "title": step.title,
                    # as every screen judges it: a window whose checks are ticked is done
                    "state": str(step_state(phase, step, state)),
                    "kind": "commands" if step.commands else "window",
                    "started_at": started_at,
                    "finished_at": finished_at,
                    "exit_code": st.exit_code,
                    "reason": st.reason,
                    "attempts": st.attempts,
                    "budget_s": step.budget.high if step.budget else None,
                    "out_of_order": st.out_of_order,
                    "commands": [
                        {
                            "index": c.index,
                            "command": c.command,
                            "started_at": c.started_at,
                            "finished_at": c.finished_at,
                            "exit_code": c.exit_code,
                            "outcome": c.outcome,
                            "url": c.url,
                            "workflow_run": c.workflow_run,
                        }
                        for c in st.commands
                    ],
                }
            )
        phases.append(
            {
                "id": phase.id,
                "title": phase.title,
                "complete": p.complete,
                "locked": p.locked,
                "waiting_on": list(p.waiting_on),
                "done": p.done,
                "total": p.total,
                "steps_done": p.steps_done,
                "steps_total": p.steps_total,
                "progress": dict(zip(("done", "total", "of"), p.counted, strict=True)),
                "override": (
                    {"by": state.overrides[phase.id].by, "reason": state.overrides[phase.id].reason}
                    if p.overridden
                    else None
                ),
                "items": items,
                "steps": steps,
            }
        )
    return {
        "run": {
            "id": run.id,
            "type": run.type,
            "version": run.version,
            "operator": run.operator,
            "started_at": run.started_at,
            "previous_version": run.previous_version,
            "closed": state.closed is not None,
        },
        "rollback_criteria_met": [e.item.id for _, e in criteria_met(runbook, state)],
        "warnings": state.warnings,
        "phases": phases,
    }


def deploy_finished_at(runbook: Runbook, state: RunState) -> str | None:
    """When the deploy phase's last step with commands finished done (or None)."""
    assert state.run is not None
    phase = runbook.of_kind("deploy")
    if phase is None:
        return None
    ends = []
    for step in phase.steps_for(state.run.type):
        if not step.commands:
            continue
        st = state.step(phase.id, step.id)
        if st.state not in FINISHED or not st.finished_at:
            return None
        ends.append(st.finished_at)
    return max(ends) if ends else None


def due_text(seconds_left: float | None) -> tuple[str, str]:
    """("due in 1h12m" | "overdue by 5m" | "due after the deploy", theme colour)."""
    from cockpit.durations import format_duration

    if seconds_left is None:
        return "due after the production deployment", "secondary"
    if seconds_left < 0:
        return f"OVERDUE by {format_duration(-seconds_left)}", "error"
    return (
        f"due in {format_duration(seconds_left)}",
        "warning" if seconds_left < 1800 else "success",
    )
