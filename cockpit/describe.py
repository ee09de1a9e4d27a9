"""Journal events in words, for the activity feed, ``watch`` and the report timeline.

Owns the one sentence each event type reads as ("ana ticked Pre-Production ›
Verify staging environment is healthy — CI green"), using the runbook for titles:
one function per event type (``singledispatch`` on the types of ``cockpit.events``).
Unknown event types still read sensibly, so new events never break old readers.
"""

from __future__ import annotations

from functools import singledispatch
from typing import Any

from cockpit.events import (
    BaselineTaken,
    BranchCreated,
    ChangelogWritten,
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
    LockTakenOver,
    MessagesSaved,
    NotificationFailed,
    NotificationSent,
    PhaseUnlocked,
    ReleaseCreated,
    ReleaseFailed,
    RollbackTargetSet,
    RunClosed,
    RunStarted,
    StepFinished,
    StepSkipped,
    StepStarted,
    TagCreated,
    TagPushed,
    TagPushFailed,
    ValueChosen,
    VerificationFailed,
    WindowEnded,
    WindowStarted,
    parse,
)
from cockpit.evidence import evidence_words
from cockpit.runbook import Runbook


def _item_text(runbook: Runbook, phase_id: str, item_id: str) -> str:
    phase = runbook.phases.get(phase_id)
    entry = phase.item(item_id) if phase else None
    title = phase.title if phase else phase_id
    return f"{title} › {entry.item.text if entry else item_id}"


def _step_title(runbook: Runbook, phase_id: str, step_id: str) -> str:
    phase = runbook.phases.get(phase_id)
    step = next((s for s in phase.steps if s.id == step_id), None) if phase else None
    return f"{phase.title if phase else phase_id} › {step.title if step else step_id}"


def _note(note: str | None) -> str:
    return f" — {note}" if note else ""


def _early(order: dict[str, Any] | None) -> str:
    return f", out of order: {order.get('reason')}" if order else ""


def describe(event: Event | dict[str, Any], runbook: Runbook) -> str:
    """One line for ``event`` (without the time), naming who did what."""
    if isinstance(event, dict):
        event = parse(event)
    return _words(event, runbook)


def decision_words(choice: str) -> str:
    """A decision's choice in words, the same on every surface: ``roll back`` or ``fix
    forward`` (a choice this version does not know: as written; journal values are
    read inert)."""
    return {"rollback": "roll back", "fix-forward": "fix forward"}.get(choice, choice)


@singledispatch
def _words(e: Event, runbook: Runbook) -> str:
    return f"{e.by or '?'}: {e.type}"


@_words.register
def _(e: RunStarted, runbook: Runbook) -> str:
    return f"{e.by} started a {e.run.get('type')} release {e.run.get('version')}"


@_words.register
def _(e: ItemChecked, runbook: Runbook) -> str:
    signed = f", signed by {e.signed_by}" if e.signed_by else ""
    if e.answer:
        return (
            f"{e.by} answered {_item_text(runbook, e.phase, e.item)}: {e.answer.upper()}"
            f"{signed}{_note(e.note)}"
        )
    found = evidence_words(e.evidence, brief=True)
    evidence = f" ({found})" if found else ""
    return f"{e.by} ticked {_item_text(runbook, e.phase, e.item)}{signed}{_note(e.note)}{evidence}"


@_words.register
def _(e: ItemUnchecked, runbook: Runbook) -> str:
    return f"{e.by} unticked {_item_text(runbook, e.phase, e.item)}{_note(e.note)}"


@_words.register
def _(e: ItemNoted, runbook: Runbook) -> str:
    return f"{e.by} noted on {_item_text(runbook, e.phase, e.item)}{_note(e.note)}"


@_words.register
def _(e: PhaseUnlocked, runbook: Runbook) -> str:
    phase = runbook.phases.get(e.phase)
    return f"{e.by} opened {phase.title if phase else e.phase} early: {e.reason}"


@_words.register
def _(e: LockTakenOver, runbook: Runbook) -> str:
    if not e.previous:  # no holder on record: a corrupt lock was replaced
        return f"{e.by} took over driving: {e.reason}"
    return f"{e.by} took over driving from {e.previous.get('operator', '?')} ({e.reason})"


@_words.register
def _(e: LockAcquired, runbook: Runbook) -> str:
    return f"{e.by} drives the run (pid {e.driver.get('pid')} on {e.driver.get('host')})"


@_words.register
def _(e: LockReleased, runbook: Runbook) -> str:
    return f"{e.by} stopped driving" + (f" ({e.reason})" if e.reason else "")


@_words.register
def _(e: HealthChanged, runbook: Runbook) -> str:
    why = f": {e.reason}" if e.reason else ""
    return f"{e.env} {e.previous or 'UNKNOWN'} → {e.state}{why}"


@_words.register
def _(e: HealthSampled, runbook: Runbook) -> str:
    # light (like view.opened): never in the activity or the timeline; words all the same
    answer = f"HTTP {e.http_status}" if e.http_status is not None else "no answer"
    p95 = f", p95 {e.p95_ms:.0f}ms" if e.p95_ms is not None else ""
    why = f": {e.reason}" if e.reason else ""
    return f"{e.env} {e.state} ({answer}{p95}){why}"


@_words.register
def _(e: BaselineTaken, runbook: Runbook) -> str:
    return (
        f"{e.by} took the {e.env} baseline: p50 {e.p50_ms or 0:.0f}ms, "
        f"p95 {e.p95_ms or 0:.0f}ms over {e.samples} samples"
    )


@_words.register
def _(e: VerificationFailed, runbook: Runbook) -> str:
    words = evidence_words(e.evidence, brief=True) or "no evidence"
    return f"verification failed for {_item_text(runbook, e.phase, e.item)}: {words}"


@_words.register
def _(e: StepStarted, runbook: Runbook) -> str:
    title = _step_title(runbook, e.phase, e.step)
    return f"{e.by} started {title} (attempt {e.attempt}){_early(e.out_of_order)}"


@_words.register
def _(e: WindowStarted, runbook: Runbook) -> str:
    title = _step_title(runbook, e.phase, e.step)
    return f"{e.by} started the timer of {title}{_early(e.out_of_order)}"


@_words.register
def _(e: WindowEnded, runbook: Runbook) -> str:
    return f"{_step_title(runbook, e.phase, e.step)} ended: {e.how}"


@_words.register
def _(e: StepFinished, runbook: Runbook) -> str:
    why = f": {e.reason}" if e.reason else ""
    return f"{_step_title(runbook, e.phase, e.step)} {e.state}{why}"


@_words.register
def _(e: StepSkipped, runbook: Runbook) -> str:
    return f"{e.by} skipped {_step_title(runbook, e.phase, e.step)}: {e.reason}"


@_words.register
def _(e: CommandStarted, runbook: Runbook) -> str:
    return f"{_step_title(runbook, e.phase, e.step)}: $ {e.command}"


@_words.register
def _(e: CommandFinished, runbook: Runbook) -> str:
    return f"{_step_title(runbook, e.phase, e.step)}: command {e.index + 1} → {e.outcome}"


@_words.register
def _(e: TagCreated, runbook: Runbook) -> str:
    return f"{e.by} tagged {e.tag} at {e.commit[:8]}"


@_words.register
def _(e: TagPushed, runbook: Runbook) -> str:
    return f"{e.by} pushed {e.tag}"


@_words.register
def _(e: TagPushFailed, runbook: Runbook) -> str:
    return f"pushing {e.tag} failed (exit {e.exit_code}): {e.output[-120:]}"


@_words.register
def _(e: ReleaseCreated, runbook: Runbook) -> str:
    return f"{e.by} created the GitHub release {e.tag}: {e.url}"


@_words.register
def _(e: ReleaseFailed, runbook: Runbook) -> str:
    return f"creating the GitHub release {e.tag} failed: {e.error[-200:]}"


@_words.register
def _(e: ChangelogWritten, runbook: Runbook) -> str:
    return f"{e.by} wrote the {e.version} section of CHANGELOG.md"


@_words.register
def _(e: MessagesSaved, runbook: Runbook) -> str:
    return f"{e.by} saved the release messages"


@_words.register
def _(e: NotificationSent, runbook: Runbook) -> str:
    if e.to:
        return f"{e.by} sent the {e.channel} to {', '.join(e.to)}"
    return f"{e.by} posted the release message to {e.channel}"


@_words.register
def _(e: NotificationFailed, runbook: Runbook) -> str:
    return f"the {e.channel} message could not be sent: {e.error}"


@_words.register
def _(e: DecisionRecorded, runbook: Runbook) -> str:
    return f"{e.commander} decided: {decision_words(e.choice)} — {e.rationale}"


@_words.register
def _(e: BranchCreated, runbook: Runbook) -> str:
    return f"{e.by} created {e.branch} from {e.from_tag}"


@_words.register
def _(e: RollbackTargetSet, runbook: Runbook) -> str:
    return f"{e.by} set the rollback target to {e.target}"


@_words.register
def _(e: ValueChosen, runbook: Runbook) -> str:
    where = f" (offered by {_step_title(runbook, e.phase, e.step)})" if e.step and e.phase else ""
    return f"{e.by} picked {e.name} = {e.value}{where}"


@_words.register
def _(e: RunClosed, runbook: Runbook) -> str:
    return f"{e.by} closed the run{_note(e.note)}"
