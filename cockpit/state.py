"""A run's state as a pure function of its journal events (replay).

Owns ``RunState`` and ``apply``: the run's facts, every item's latest tick with
who/when/note/evidence, notes, phase overrides and the lock history. The TUI,
``watch``, ``status`` and ``report`` all read state through this one replay.
Events of types this version does not know are kept in the timeline and
otherwise ignored, so adding event types never breaks older readers.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

RECENT = 200


@dataclass
class RunInfo:
    """What ``run.started`` recorded."""

    id: str
    type: str
    version: str
    operator: str
    started_at: str
    previous_version: str | None = None
    workspace: str | None = None


@dataclass
class ItemState:
    """The latest word on one item."""

    checked: bool = False
    by: str | None = None
    at: str | None = None
    note: str | None = None
    evidence: dict[str, Any] | None = None
    notes: list[dict[str, str]] = field(default_factory=list)


@dataclass
class CommandState:
    """One command of one attempt of a step."""

    index: int
    command: str
    pid: int | None = None
    create_time: float | None = None
    token: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    exit_code: int | None = None
    outcome: str | None = None
    """Words for how it ended: "exit 0", "exit 2", "killed by SIGKILL", "timed out after 10m"."""


@dataclass
class StepState:
    """A timed step as the journal tells it: pending, running, done, failed, skipped, aborted."""

    state: str = "pending"
    attempts: int = 0
    started_at: str | None = None
    finished_at: str | None = None
    exit_code: int | None = None
    reason: str | None = None
    by: str | None = None
    commands: list[CommandState] = field(default_factory=list)
    kind: str = "commands"
    """"commands" (run under a supervisor) or "window" (a timed window without commands)."""
    out_of_order: dict[str, Any] | None = None
    """Started while earlier steps were not done: the reason and those steps."""

    @property
    def running_command(self) -> CommandState | None:
        if self.state != "running":
            return None
        return next((c for c in reversed(self.commands) if c.finished_at is None and c.pid), None)


@dataclass
class Override:
    """A phase opened before the phases it comes after were complete."""

    by: str
    at: str
    reason: str
    waiting: list[str]


@dataclass
class RunState:
    """Everything the journal says about a run."""

    run: RunInfo | None = None
    items: dict[tuple[str, str], ItemState] = field(default_factory=dict)
    overrides: dict[str, Override] = field(default_factory=dict)
    steps: dict[tuple[str, str], StepState] = field(default_factory=dict)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    """Rollback decisions (choice, rationale, commander), oldest first."""
    rollback_target: str | None = None
    branches: list[dict[str, Any]] = field(default_factory=list)
    driver: dict[str, Any] | None = None
    """Who drives the run now (the last lock.acquired not followed by lock.released)."""
    closed: dict[str, Any] | None = None
    event_count: int = 0
    warnings: list[str] = field(default_factory=list)
    health: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The last journaled health state of each environment."""
    health_changes: list[dict[str, Any]] = field(default_factory=list)
    baselines: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Latency baselines by environment (production's is taken when the deploy starts)."""
    recent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=RECENT))
    """The last events, newest last, for activity feeds (the journal keeps them all)."""

    def item(self, phase: str, item: str) -> ItemState:
        return self.items.get((phase, item)) or ItemState()

    def step(self, phase: str, step: str) -> StepState:
        return self.steps.get((phase, step)) or StepState()

    def running_steps(self) -> list[tuple[str, str]]:
        """Command steps running now (windows are timers, not runs), as (phase, step)."""
        return [
            key for key, st in self.steps.items() if st.state == "running" and st.kind == "commands"
        ]

    def apply(self, event: dict[str, Any]) -> None:
        """Fold one event into the state."""
        self.event_count += 1
        self.recent.append(event)
        kind = event.get("type")
        handler = _HANDLERS.get(kind)  # type: ignore[arg-type]
        if handler is not None:
            handler(self, event)


def _started(state: RunState, e: dict[str, Any]) -> None:
    run = e["run"]
    state.run = RunInfo(
        id=run["id"],
        type=run["type"],
        version=run["version"],
        operator=run.get("operator") or e.get("by", "unknown"),
        started_at=run.get("started_at") or e["ts"],
        previous_version=run.get("previous_version"),
        workspace=run.get("workspace"),
    )


def _checked(state: RunState, e: dict[str, Any]) -> None:
    key = (e["phase"], e["item"])
    current = state.items.setdefault(key, ItemState())
    current.checked = True
    current.by = e.get("by")
    current.at = e.get("ts")
    current.note = e.get("note") or current.note
    current.evidence = e.get("evidence")
    if e.get("note"):
        current.notes.append({"by": e.get("by", ""), "at": e.get("ts", ""), "text": e["note"]})


def _unchecked(state: RunState, e: dict[str, Any]) -> None:
    key = (e["phase"], e["item"])
    current = state.items.setdefault(key, ItemState())
    current.checked = False
    current.by = e.get("by")
    current.at = e.get("ts")
    current.evidence = None
    if e.get("note"):
        current.note = e["note"]
        current.notes.append({"by": e.get("by", ""), "at": e.get("ts", ""), "text": e["note"]})


def _noted(state: RunState, e: dict[str, Any]) -> None:
    current = state.items.setdefault((e["phase"], e["item"]), ItemState())
    current.note = e["note"]
    current.notes.append({"by": e.get("by", ""), "at": e.get("ts", ""), "text": e["note"]})


def _unlocked(state: RunState, e: dict[str, Any]) -> None:
    state.overrides[e["phase"]] = Override(
        e.get("by", ""), e.get("ts", ""), e["reason"], e.get("waiting", [])
    )


def _lock(state: RunState, e: dict[str, Any]) -> None:
    if e["type"] == "lock.acquired":
        state.driver = {"operator": e.get("by"), "since": e.get("ts"), **(e.get("driver") or {})}
    elif e["type"] == "lock.released":
        state.driver = None


def _health(state: RunState, e: dict[str, Any]) -> None:
    state.health[e["env"]] = e
    state.health_changes.append(e)


def _baseline(state: RunState, e: dict[str, Any]) -> None:
    state.baselines[e["env"]] = e


def _verify_failed(state: RunState, e: dict[str, Any]) -> None:
    current = state.items.setdefault((e["phase"], e["item"]), ItemState())
    current.evidence = e.get("evidence")


def _step_started(state: RunState, e: dict[str, Any]) -> None:
    st = state.steps.setdefault((e["phase"], e["step"]), StepState())
    st.state = "running"
    st.attempts = e.get("attempt", st.attempts + 1)
    st.started_at = e["ts"]
    st.finished_at = None
    st.exit_code = None
    st.reason = None
    st.by = e.get("by")
    st.commands = [CommandState(i, c) for i, c in enumerate(e.get("commands", []))]
    st.kind = "commands" if st.commands else "window"  # journals before windows had events
    st.out_of_order = e.get("out_of_order")


def _window_started(state: RunState, e: dict[str, Any]) -> None:
    st = state.steps.setdefault((e["phase"], e["step"]), StepState())
    st.kind = "window"
    st.state = "running"
    st.attempts += 1
    st.started_at = e["ts"]
    st.finished_at = None
    st.reason = None
    st.by = e.get("by")
    st.commands = []
    st.out_of_order = e.get("out_of_order")


def _window_ended(state: RunState, e: dict[str, Any]) -> None:
    st = state.steps.setdefault((e["phase"], e["step"]), StepState())
    st.kind = "window"
    st.state = "done"
    st.finished_at = e["ts"]
    st.reason = e.get("how")


def _command(state: RunState, e: dict[str, Any]) -> CommandState | None:
    st = state.steps.get((e["phase"], e["step"]))
    if st is None:
        return None
    index = e.get("index", 0)
    while len(st.commands) <= index:
        st.commands.append(CommandState(len(st.commands), ""))
    return st.commands[index]


def _command_started(state: RunState, e: dict[str, Any]) -> None:
    cmd = _command(state, e)
    if cmd is not None:
        cmd.pid, cmd.create_time, cmd.token = e.get("pid"), e.get("create_time"), e.get("token")
        cmd.started_at = e["ts"]


def _command_finished(state: RunState, e: dict[str, Any]) -> None:
    cmd = _command(state, e)
    if cmd is not None:
        cmd.finished_at, cmd.exit_code, cmd.outcome = e["ts"], e.get("exit_code"), e.get("outcome")


def _step_finished(state: RunState, e: dict[str, Any]) -> None:
    st = state.steps.setdefault((e["phase"], e["step"]), StepState())
    st.state = e["state"]
    st.finished_at = e["ts"]
    st.exit_code = e.get("exit_code")
    st.reason = e.get("reason")
    for cmd in st.commands:
        if cmd.started_at and cmd.finished_at is None:
            cmd.finished_at = e["ts"]
            cmd.outcome = cmd.outcome or st.state


def _step_skipped(state: RunState, e: dict[str, Any]) -> None:
    st = state.steps.setdefault((e["phase"], e["step"]), StepState())
    st.state = "skipped"
    st.finished_at = e["ts"]
    st.reason = e.get("reason")
    st.by = e.get("by")


def _decision(state: RunState, e: dict[str, Any]) -> None:
    state.decisions.append(e)


def _rollback_target(state: RunState, e: dict[str, Any]) -> None:
    state.rollback_target = e["target"]


def _branch(state: RunState, e: dict[str, Any]) -> None:
    state.branches.append(e)


def _closed(state: RunState, e: dict[str, Any]) -> None:
    state.closed = e


_HANDLERS = {
    "run.started": _started,
    "item.checked": _checked,
    "item.unchecked": _unchecked,
    "item.noted": _noted,
    "phase.unlocked": _unlocked,
    "lock.taken_over": _lock,
    "lock.acquired": _lock,
    "lock.released": _lock,
    "run.closed": _closed,
    "health.changed": _health,
    "health.baseline": _baseline,
    "item.verification_failed": _verify_failed,
    "step.started": _step_started,
    "command.started": _command_started,
    "command.finished": _command_finished,
    "step.finished": _step_finished,
    "step.skipped": _step_skipped,
    "window.started": _window_started,
    "window.ended": _window_ended,
    "decision.recorded": _decision,
    "rollback.target_set": _rollback_target,
    "git.branch_created": _branch,
}


def replay(events: list[dict[str, Any]]) -> RunState:
    """The state after ``events``, in order."""
    state = RunState()
    for event in events:
        state.apply(event)
    return state
