"""Journal events as types: one dataclass per event, the step status, and reading a line back.

Owns the shape of every event the journal holds. The session's rules return these
events, the driver and the supervisor write them (``Journal.append(event.TYPE,
**event.fields())``), ``cockpit.state`` folds them, ``cockpit.describe`` and the
report dispatch on their types. The on-disk format is the one the journal always had
(``v``, ``ts``, ``type``, ``by`` and the event's fields; optional fields left out when
empty), so journals written before these types existed load unchanged; keys this
version does not know are kept in ``extra``, and an event type it does not know reads
as ``Unknown`` (kept in the timeline, otherwise ignored).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar


class StepStatus(StrEnum):
    """Where a step stands. A ``str``: it compares and serializes as its word."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    ABORTED = "aborted"

    @property
    def finished(self) -> bool:
        """Done or skipped: the phase can go on past it."""
        return self in FINISHED


FINISHED = frozenset({StepStatus.DONE, StepStatus.SKIPPED})
"""Step states that let a phase complete and later steps run in order."""
ENDED = frozenset({StepStatus.DONE, StepStatus.FAILED, StepStatus.ABORTED, StepStatus.SKIPPED})
"""How a step's supervisor can end it (skipped: its ``when:`` guard said so)."""

_HEADER = frozenset({"v", "type", "ts", "by"})
_OWN = frozenset({"ts", "by", "extra"})


@dataclass(kw_only=True)
class Event:
    """One journal line. ``by`` written only when set (else the journal's operator)."""

    TYPE: ClassVar[str] = ""
    LIGHT: ClassVar[bool] = False
    """A light event (what the driver has on screen): folded into the state, never shown in
    the activity, the timeline or the report."""
    OPTIONAL: ClassVar[tuple[str, ...]] = ()
    """Fields left out of the line when empty (as the journal always wrote them)."""

    ts: str = ""
    by: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys of the line this version does not know (kept, written back as they were)."""

    @property
    def type(self) -> str:
        return self.TYPE

    def fields(self) -> dict[str, Any]:
        """What the journal line carries besides ``v``, ``ts`` and ``type``."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name in ("ts", "extra") or (f.name == "by" and not self.by):
                continue
            value = getattr(self, f.name)
            if f.name in self.OPTIONAL and value in (None, "", [], {}, False):
                continue
            out[f.name] = value
        out.update(self.extra)
        return out


_NAMES: dict[type, frozenset[str]] = {}


def _names(cls: type[Event]) -> frozenset[str]:
    """The field names of an event type (computed once per type: replay reads 100k lines)."""
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = frozenset(f.name for f in dataclasses.fields(cls))
    return names


# -- the run and its driver ---------------------------------------------------------------


@dataclass(kw_only=True)
class RunStarted(Event):
    TYPE = "run.started"
    run: dict[str, Any] = field(default_factory=dict)
    runbook: str = ""
    config: str = ""


@dataclass(kw_only=True)
class RunClosed(Event):
    TYPE = "run.closed"
    OPTIONAL = ("note",)
    note: str | None = None


@dataclass(kw_only=True)
class LockAcquired(Event):
    TYPE = "lock.acquired"
    driver: dict[str, Any] = field(default_factory=dict)


@dataclass(kw_only=True)
class LockReleased(Event):
    TYPE = "lock.released"
    OPTIONAL = ("reason",)
    reason: str | None = None


@dataclass(kw_only=True)
class LockTakenOver(Event):
    TYPE = "lock.taken_over"
    previous: dict[str, Any] = field(default_factory=dict)
    reason: str = ""


# -- checklists ---------------------------------------------------------------------------


@dataclass(kw_only=True)
class ItemChecked(Event):
    TYPE = "item.checked"
    OPTIONAL = ("note", "evidence", "auto", "signed_by", "answer")
    phase: str = ""
    item: str = ""
    note: str | None = None
    evidence: dict[str, Any] | None = None
    auto: bool = False
    """Ticked by the cockpit itself (the health signal), not by a person."""
    signed_by: str | None = None
    """A sign-off (an item with a ``role:``): who signed, when not the operator (``by``)
    who recorded it."""
    answer: str | None = None
    """A question's answer (``answer: yes-no`` items): yes, no or unknown."""


@dataclass(kw_only=True)
class ItemUnchecked(Event):
    TYPE = "item.unchecked"
    OPTIONAL = ("note",)
    phase: str = ""
    item: str = ""
    note: str | None = None


@dataclass(kw_only=True)
class ItemNoted(Event):
    TYPE = "item.noted"
    phase: str = ""
    item: str = ""
    note: str = ""


@dataclass(kw_only=True)
class VerificationFailed(Event):
    TYPE = "item.verification_failed"
    phase: str = ""
    item: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(kw_only=True)
class PhaseUnlocked(Event):
    TYPE = "phase.unlocked"
    phase: str = ""
    reason: str = ""
    waiting: list[str] = field(default_factory=list)


# -- steps ---------------------------------------------------------------------------------


@dataclass(kw_only=True)
class StepStarted(Event):
    TYPE = "step.started"
    OPTIONAL = ("out_of_order",)
    phase: str = ""
    step: str = ""
    attempt: int = 0
    commands: list[str] = field(default_factory=list)
    out_of_order: dict[str, Any] | None = None


@dataclass(kw_only=True)
class CommandStarted(Event):
    TYPE = "command.started"
    OPTIONAL = ("url", "workflow_run")
    phase: str = ""
    step: str = ""
    index: int = 0
    command: str = ""
    pid: int | None = None
    create_time: float | None = None
    token: str | None = None
    url: str | None = None
    """A ``workflow:`` command: the GitHub Actions run it dispatched and follows (its page)."""
    workflow_run: int | None = None
    """… and that run's id (``GET /repos/{repo}/actions/runs/{id}``)."""


@dataclass(kw_only=True)
class CommandFinished(Event):
    TYPE = "command.finished"
    phase: str = ""
    step: str = ""
    index: int = 0
    exit_code: int | None = None
    outcome: str | None = None
    duration_s: float = 0.0


@dataclass(kw_only=True)
class StepFinished(Event):
    TYPE = "step.finished"
    phase: str = ""
    step: str = ""
    state: str = StepStatus.FAILED
    exit_code: int | None = None
    reason: str | None = None
    duration_s: float = 0.0


@dataclass(kw_only=True)
class StepSkipped(Event):
    TYPE = "step.skipped"
    phase: str = ""
    step: str = ""
    reason: str = ""


@dataclass(kw_only=True)
class WindowStarted(Event):
    TYPE = "window.started"
    OPTIONAL = ("out_of_order",)
    phase: str = ""
    step: str = ""
    out_of_order: dict[str, Any] | None = None


@dataclass(kw_only=True)
class WindowEnded(Event):
    TYPE = "window.ended"
    phase: str = ""
    step: str = ""
    how: str = ""


# -- health --------------------------------------------------------------------------------


@dataclass(kw_only=True)
class HealthChanged(Event):
    TYPE = "health.changed"
    env: str = ""
    state: str = ""
    http_status: int | None = None
    latency_ms: float | None = None
    error: str | None = None
    reason: str | None = None
    p95_ms: float | None = None
    previous: str | None = None


@dataclass(kw_only=True)
class HealthSampled(Event):
    """One probe of an environment as its panel judged it, self-contained (the state, the
    answer's latency and HTTP status, the window's p50/p95; the reason and the error only
    when set). Journaled with every state change and otherwise at most once per health
    interval per environment; light: never shown in the activity, the timeline or the
    report's list of events."""

    TYPE = "health.sample"
    LIGHT = True
    OPTIONAL = ("reason", "error")
    NUMBERS: ClassVar[tuple[str, ...]] = ("latency_ms", "http_status", "p50_ms", "p95_ms")
    """Figures left out of the line when there is none (a probe without an answer)."""
    env: str = ""
    state: str = ""
    latency_ms: float | None = None
    http_status: int | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    reason: str | None = None
    error: str | None = None

    def fields(self) -> dict[str, Any]:
        out = super().fields()
        for name in self.NUMBERS:
            if out.get(name, 0) is None and name not in self.extra:
                del out[name]
        return out


@dataclass(kw_only=True)
class BaselineTaken(Event):
    TYPE = "health.baseline"
    env: str = ""
    p50_ms: float | None = None
    p95_ms: float | None = None
    samples: int = 0


# -- incident command ------------------------------------------------------------------------


@dataclass(kw_only=True)
class DecisionRecorded(Event):
    TYPE = "decision.recorded"
    choice: str = ""
    rationale: str = ""
    commander: str = ""
    criteria: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class RollbackTargetSet(Event):
    TYPE = "rollback.target_set"
    target: str = ""


@dataclass(kw_only=True)
class ValueChosen(Event):
    """The operator picked a value a command's output offered (``offers:``): the value of
    ``{name}`` in the commands from then on."""

    TYPE = "value.chosen"
    OPTIONAL = ("phase", "step")
    name: str = ""
    value: str = ""
    phase: str | None = None
    step: str | None = None
    """The step whose output offered it."""


@dataclass(kw_only=True)
class ViewOpened(Event):
    """What the driver has on screen: a phase (and the step selected there), or the
    dashboard (no phase). Journaled at most once a second; a watcher follows it."""

    TYPE = "view.opened"
    LIGHT = True
    OPTIONAL = ("phase", "step")
    phase: str | None = None
    step: str | None = None


@dataclass(kw_only=True)
class BranchCreated(Event):
    TYPE = "git.branch_created"
    branch: str = ""
    from_tag: str = ""
    commit: str = ""


# -- release management ----------------------------------------------------------------------


@dataclass(kw_only=True)
class ChangelogWritten(Event):
    TYPE = "changelog.written"
    path: str = ""
    version: str = ""


@dataclass(kw_only=True)
class TagCreated(Event):
    TYPE = "tag.created"
    tag: str = ""
    commit: str = ""


@dataclass(kw_only=True)
class TagPushed(Event):
    TYPE = "tag.pushed"
    tag: str = ""
    command: str = ""
    exit_code: int | None = None
    output: str = ""


@dataclass(kw_only=True)
class TagPushFailed(TagPushed):
    TYPE = "tag.push_failed"


@dataclass(kw_only=True)
class MessagesSaved(Event):
    TYPE = "messages.saved"
    files: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class NotificationSent(Event):
    TYPE = "notification.sent"
    OPTIONAL = ("to",)
    channel: str = ""
    to: list[str] | None = None
    """An e-mail's recipients."""


@dataclass(kw_only=True)
class NotificationFailed(Event):
    TYPE = "notification.failed"
    channel: str = ""
    error: str = ""


@dataclass(kw_only=True)
class ReleaseCreated(Event):
    """The GitHub release of a tag, published with the changelog section as its notes."""

    TYPE = "release.created"
    tag: str = ""
    url: str = ""
    commit: str = ""


@dataclass(kw_only=True)
class ReleaseFailed(Event):
    TYPE = "release.failed"
    tag: str = ""
    error: str = ""


@dataclass(kw_only=True)
class Unknown(Event):
    """An event type this version does not know (a newer cockpit wrote it)."""

    name: str = ""

    @property
    def type(self) -> str:
        return self.name

    def get(self, key: str, default: Any = None) -> Any:
        return self.name if key == "type" else super().get(key, default)


REGISTRY: dict[str, type[Event]] = {
    cls.TYPE: cls
    for cls in (
        RunStarted,
        RunClosed,
        LockAcquired,
        LockReleased,
        LockTakenOver,
        ItemChecked,
        ItemUnchecked,
        ItemNoted,
        VerificationFailed,
        PhaseUnlocked,
        StepStarted,
        CommandStarted,
        CommandFinished,
        StepFinished,
        StepSkipped,
        WindowStarted,
        WindowEnded,
        HealthChanged,
        HealthSampled,
        BaselineTaken,
        DecisionRecorded,
        RollbackTargetSet,
        ValueChosen,
        ViewOpened,
        BranchCreated,
        ChangelogWritten,
        TagCreated,
        TagPushed,
        TagPushFailed,
        MessagesSaved,
        NotificationSent,
        NotificationFailed,
        ReleaseCreated,
        ReleaseFailed,
    )
}


def parse(line: dict[str, Any]) -> Event:
    """The typed event of a journal line (``Unknown`` for a type this version does not know).

    Lenient as the journal must be: a missing field takes its default, an unknown key is
    kept in ``extra``.
    """
    kind = str(line.get("type", ""))
    cls = REGISTRY.get(kind)
    head = {"ts": str(line.get("ts", "")), "by": str(line.get("by") or "")}
    if cls is None:
        rest = {k: v for k, v in line.items() if k not in _HEADER}
        return Unknown(name=kind, extra=rest, **head)
    names = _names(cls)
    known: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in line.items():
        if key in names:
            if key not in _OWN:
                known[key] = value
        elif key not in _HEADER:
            extra[key] = value
    if cls is StepFinished and "state" in known:
        known["state"] = _status(known["state"])
    return cls(extra=extra, **head, **known)


def _status(word: Any) -> Any:
    try:
        return StepStatus(word)
    except ValueError:
        return word  # a state this version does not know stays as written
