"""A run's state as a pure function of its journal events (replay).

Owns ``RunState`` and ``apply``: the run's facts, every item's latest tick with
who/when/note/evidence, notes, phase overrides, the lock history and each
environment's journaled health (its last change, its latest samples). The TUI,
``watch``, ``status`` and ``report`` all read state through this one replay.
Events of types this version does not know are kept in the timeline and
otherwise ignored, so adding event types never breaks older readers.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from functools import singledispatch
from typing import Any

from cockpit.events import (
    BaselineTaken,
    BranchCreated,
    CommandFinished,
    CommandStarted,
    DecisionRecorded,
    Event,
    HealthChanged,
    HealthSampled,
    ItemChecked,
    ItemNoted,
    ItemUnchecked,
    LockAcquired,
    LockReleased,
    PhaseUnlocked,
    RollbackTargetSet,
    RunClosed,
    RunStarted,
    StepFinished,
    StepSkipped,
    StepStarted,
    StepStatus,
    ValueChosen,
    VerificationFailed,
    ViewOpened,
    WindowEnded,
    WindowStarted,
    parse,
)

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
    since_tag: str | None = None
    """The production tag the release range starts at, as it was when the run started
    (None: there was none)."""
    since_commit: str | None = None
    """That tag's commit then (a tag moved later never moves the range)."""
    range_recorded: bool = False
    """``run.started`` recorded the range's start (runs journaled before did not)."""


@dataclass
class ItemState:
    """The latest word on one item."""

    checked: bool = False
    by: str | None = None
    at: str | None = None
    note: str | None = None
    evidence: dict[str, Any] | None = None
    notes: list[dict[str, str]] = field(default_factory=list)
    signed_by: str | None = None
    """Who signed a sign-off, when not ``by`` (the operator who recorded it)."""
    answer: str | None = None
    """A question's answer: yes, no or unknown (None: not answered)."""


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
    url: str | None = None
    """A ``workflow:`` command: the page of the GitHub Actions run it follows."""
    workflow_run: int | None = None
    """… and that run's id."""


@dataclass
class StepState:
    """A timed step as the journal tells it: pending, running, done, failed, skipped, aborted."""

    state: str = StepStatus.PENDING
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
    spans: list[tuple[str, str | None]] = field(default_factory=list)
    """Every attempt's (start, end) as journaled, oldest first (end None: not ended yet);
    the wall clock's busy time counts the earlier attempts too (``cockpit.phaseclock``)."""

    @property
    def running_command(self) -> CommandState | None:
        if self.state != StepStatus.RUNNING:
            return None
        return next((c for c in reversed(self.commands) if c.finished_at is None and c.pid), None)

    @property
    def followed_run(self) -> CommandState | None:
        """The ``workflow:`` command whose GitHub run is being followed now, if any."""
        if self.state != StepStatus.RUNNING:
            return None
        return next(
            (c for c in reversed(self.commands) if c.finished_at is None and c.workflow_run),
            None,
        )


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
    decisions: list[DecisionRecorded] = field(default_factory=list)
    """Rollback decisions (choice, rationale, commander), oldest first."""
    rollback_target: str | None = None
    chosen: dict[str, ValueChosen] = field(default_factory=dict)
    driver_view: ViewOpened | None = None
    """What the driver has on screen (the latest ``view.opened``)."""
    """Values picked from a command's output (``offers:``), by placeholder name."""
    branches: list[BranchCreated] = field(default_factory=list)
    driver: dict[str, Any] | None = None
    """Who drives the run now (the last lock.acquired not followed by lock.released)."""
    closed: RunClosed | None = None
    event_count: int = 0
    warnings: list[str] = field(default_factory=list)
    health: dict[str, HealthChanged] = field(default_factory=dict)
    """The last journaled health state of each environment."""
    health_changes: list[HealthChanged] = field(default_factory=list)
    health_samples: dict[str, HealthSampled] = field(default_factory=dict)
    """The last journaled sample of each environment (``health.sample``)."""
    sample_window: int = 0
    """How many of each environment's latest samples ``health_windows`` keeps (0: none;
    a run's session keeps ``health.window``, what a watcher draws its panels from)."""
    health_windows: dict[str, deque[HealthSampled]] = field(default_factory=dict)
    """Each environment's latest ``sample_window`` journaled samples, oldest first."""
    worst_p95: dict[str, float] = field(default_factory=dict)
    """The worst p95 each environment showed, in any journaled sample or change (ms)."""
    baselines: dict[str, BaselineTaken] = field(default_factory=dict)
    """Latency baselines by environment (production's is taken when the deploy starts)."""
    recent: deque[Event] = field(default_factory=lambda: deque(maxlen=RECENT))
    """The last events, newest last, for activity feeds (the journal keeps them all)."""

    def item(self, phase: str, item: str) -> ItemState:
        return self.items.get((phase, item)) or ItemState()

    def step(self, phase: str, step: str) -> StepState:
        return self.steps.get((phase, step)) or StepState()

    def apply(self, event: Event | dict[str, Any]) -> None:
        """Fold one event (typed, or a journal line) into the state."""
        if isinstance(event, dict):
            event = parse(event)
        self.event_count += 1
        if not event.LIGHT:
            self.recent.append(event)
        fold(event, self)

    def running_steps(self) -> list[tuple[str, str]]:
        """Command steps running now (windows are timers, not runs), as (phase, step)."""
        return [
            key
            for key, st in self.steps.items()
            if st.state == StepStatus.RUNNING and st.kind == "commands"
        ]


@singledispatch
def fold(event: Event, state: RunState) -> None:
    """What one event changes in the state (event types without a fold change nothing)."""


@fold.register
def _started(e: RunStarted, state: RunState) -> None:
    run = e.run
    state.run = RunInfo(
        id=run["id"],
        type=run["type"],
        version=run["version"],
        operator=run.get("operator") or e.by or "unknown",
        started_at=run.get("started_at") or e.ts,
        previous_version=run.get("previous_version"),
        workspace=run.get("workspace"),
        since_tag=run.get("since_tag"),
        since_commit=run.get("since_commit"),
        range_recorded="since_commit" in run,
    )


def _note(current: ItemState, e: ItemChecked | ItemUnchecked | ItemNoted) -> None:
    if e.note:
        current.notes.append({"by": e.by, "at": e.ts, "text": e.note})


@fold.register
def _checked(e: ItemChecked, state: RunState) -> None:
    current = state.items.setdefault((e.phase, e.item), ItemState())
    current.checked = True
    current.by = e.by
    current.at = e.ts
    current.note = e.note or current.note
    current.evidence = e.evidence
    current.signed_by = e.signed_by
    current.answer = e.answer
    _note(current, e)


@fold.register
def _unchecked(e: ItemUnchecked, state: RunState) -> None:
    current = state.items.setdefault((e.phase, e.item), ItemState())
    current.checked = False
    current.by = e.by
    current.at = e.ts
    current.evidence = None
    current.answer = None
    if e.note:
        current.note = e.note
    _note(current, e)


@fold.register
def _noted(e: ItemNoted, state: RunState) -> None:
    current = state.items.setdefault((e.phase, e.item), ItemState())
    current.note = e.note
    _note(current, e)


@fold.register
def _unlocked(e: PhaseUnlocked, state: RunState) -> None:
    state.overrides[e.phase] = Override(e.by, e.ts, e.reason, list(e.waiting))


@fold.register
def _lock_acquired(e: LockAcquired, state: RunState) -> None:
    state.driver = {"operator": e.by, "since": e.ts, **e.driver}


@fold.register
def _lock_released(e: LockReleased, state: RunState) -> None:
    state.driver = None


@fold.register
def _view(e: ViewOpened, state: RunState) -> None:
    state.driver_view = e


def _worst(state: RunState, env: str, p95_ms: float | None) -> None:
    if isinstance(p95_ms, int | float) and p95_ms > state.worst_p95.get(env, float("-inf")):
        state.worst_p95[env] = float(p95_ms)


@fold.register
def _health(e: HealthChanged, state: RunState) -> None:
    state.health[e.env] = e
    state.health_changes.append(e)
    _worst(state, e.env, e.p95_ms)


@fold.register
def _health_sample(e: HealthSampled, state: RunState) -> None:
    state.health_samples[e.env] = e
    if state.sample_window > 0:
        window = state.health_windows.get(e.env)
        if window is None:
            window = state.health_windows[e.env] = deque(maxlen=state.sample_window)
        window.append(e)
    _worst(state, e.env, e.p95_ms)


@fold.register
def _baseline(e: BaselineTaken, state: RunState) -> None:
    state.baselines[e.env] = e


@fold.register
def _verify_failed(e: VerificationFailed, state: RunState) -> None:
    state.items.setdefault((e.phase, e.item), ItemState()).evidence = e.evidence


def _begin(state: RunState, e: StepStarted | WindowStarted, attempt: int) -> StepState:
    """A new attempt of a step (a run of its commands, or its window's timer) begins."""
    st = state.steps.setdefault((e.phase, e.step), StepState())
    st.state = StepStatus.RUNNING
    st.attempts = attempt or st.attempts + 1
    st.started_at = e.ts
    st.finished_at = None
    st.exit_code = None
    st.reason = None
    st.by = e.by
    st.out_of_order = e.out_of_order
    st.spans.append((e.ts, None))
    return st


def _end_span(st: StepState, ts: str) -> None:
    """The running attempt ended at ``ts`` (an attempt ends once: the first end counts)."""
    if st.spans and st.spans[-1][1] is None:
        st.spans[-1] = (st.spans[-1][0], ts)


@fold.register
def _step_started(e: StepStarted, state: RunState) -> None:
    st = _begin(state, e, e.attempt)
    st.commands = [CommandState(i, c) for i, c in enumerate(e.commands)]
    st.kind = "commands" if st.commands else "window"  # journals before windows had events


@fold.register
def _window_started(e: WindowStarted, state: RunState) -> None:
    st = _begin(state, e, 0)
    st.commands = []
    st.kind = "window"


@fold.register
def _window_ended(e: WindowEnded, state: RunState) -> None:
    st = state.steps.setdefault((e.phase, e.step), StepState())
    st.kind = "window"
    st.state = StepStatus.DONE
    st.finished_at = e.ts
    st.reason = e.how
    _end_span(st, e.ts)


def _command(state: RunState, e: CommandStarted | CommandFinished) -> CommandState | None:
    st = state.steps.get((e.phase, e.step))
    if st is None:
        return None
    while len(st.commands) <= e.index:
        st.commands.append(CommandState(len(st.commands), ""))
    return st.commands[e.index]


@fold.register
def _command_started(e: CommandStarted, state: RunState) -> None:
    cmd = _command(state, e)
    if cmd is not None:
        cmd.pid, cmd.create_time, cmd.token = e.pid, e.create_time, e.token
        cmd.started_at = cmd.started_at or e.ts
        if e.workflow_run is not None:  # a workflow's run, said once it is found
            cmd.url, cmd.workflow_run = e.url, e.workflow_run


@fold.register
def _command_finished(e: CommandFinished, state: RunState) -> None:
    cmd = _command(state, e)
    if cmd is not None:
        cmd.finished_at, cmd.exit_code, cmd.outcome = e.ts, e.exit_code, e.outcome


@fold.register
def _step_finished(e: StepFinished, state: RunState) -> None:
    st = state.steps.setdefault((e.phase, e.step), StepState())
    st.state = e.state
    st.finished_at = e.ts
    st.exit_code = e.exit_code
    _end_span(st, e.ts)
    st.reason = e.reason
    for cmd in st.commands:
        if cmd.started_at and cmd.finished_at is None:
            cmd.finished_at = e.ts
            cmd.outcome = cmd.outcome or st.state


@fold.register
def _step_skipped(e: StepSkipped, state: RunState) -> None:
    st = state.steps.setdefault((e.phase, e.step), StepState())
    st.state = StepStatus.SKIPPED
    # an attempt that ended (failed, aborted) keeps its end: waiting is not running time
    st.finished_at = st.finished_at if st.started_at and st.finished_at else e.ts
    if not st.finished_at or not st.started_at:
        st.started_at = None
    st.reason = e.reason
    st.by = e.by


@fold.register
def _decision(e: DecisionRecorded, state: RunState) -> None:
    state.decisions.append(e)


@fold.register
def _rollback_target(e: RollbackTargetSet, state: RunState) -> None:
    state.rollback_target = e.target
    state.chosen["rollback_target"] = ValueChosen(
        ts=e.ts, by=e.by, name="rollback_target", value=e.target
    )


@fold.register
def _chosen(e: ValueChosen, state: RunState) -> None:
    state.chosen[e.name] = e
    if e.name == "rollback_target":
        state.rollback_target = e.value


@fold.register
def _branch(e: BranchCreated, state: RunState) -> None:
    state.branches.append(e)


@fold.register
def _closed(e: RunClosed, state: RunState) -> None:
    state.closed = e


def replay(events: list[dict[str, Any]] | list[Event]) -> RunState:
    """The state after ``events``, in order."""
    state = RunState()
    for event in events:
        state.apply(event)
    return state
