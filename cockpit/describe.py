"""Journal events in words, for the activity feed, ``watch`` and the report timeline.

Owns the one sentence each event type reads as ("ana ticked Pre-Production ›
Verify staging environment is healthy — CI green"), using the runbook for titles.
Unknown event types still read sensibly, so new events never break old readers.
"""

from __future__ import annotations

from typing import Any

from cockpit.runbook import Runbook


def _item_text(runbook: Runbook, phase_id: str, item_id: str) -> str:
    phase = runbook.phases.get(phase_id)
    entry = phase.item(item_id) if phase else None
    title = phase.title if phase else phase_id
    return f"{title} › {entry.item.text if entry else item_id}"


def _step_title(runbook: Runbook, event: dict[str, Any]) -> str:
    phase = runbook.phases.get(event.get("phase", ""))
    step = next((s for s in phase.steps if s.id == event.get("step")), None) if phase else None
    return f"{phase.title if phase else event.get('phase')} › {step.title if step else event.get('step')}"


def describe(event: dict[str, Any], runbook: Runbook) -> str:
    """One line for ``event`` (without the time), naming who did what."""
    who = event.get("by", "?")
    kind = event.get("type", "?")
    note = f" — {event['note']}" if event.get("note") else ""
    if kind == "run.started":
        run = event.get("run", {})
        return f"{who} started a {run.get('type')} release {run.get('version')}"
    if kind == "item.checked":
        return f"{who} ticked {_item_text(runbook, event['phase'], event['item'])}{note}"
    if kind == "item.unchecked":
        return f"{who} unticked {_item_text(runbook, event['phase'], event['item'])}{note}"
    if kind == "item.noted":
        return f"{who} noted on {_item_text(runbook, event['phase'], event['item'])}{note}"
    if kind == "phase.unlocked":
        phase = runbook.phases.get(event["phase"])
        title = phase.title if phase else event["phase"]
        return f"{who} opened {title} early: {event.get('reason', '')}"
    if kind == "lock.taken_over":
        prev = event.get("previous", {})
        return (
            f"{who} took over driving from {prev.get('operator', '?')} ({event.get('reason', '')})"
        )
    if kind == "health.changed":
        why = f": {event['reason']}" if event.get("reason") else ""
        before = event.get("previous") or "UNKNOWN"
        return f"{event.get('env')} {before} → {event.get('state')}{why}"
    if kind == "health.baseline":
        return (
            f"{who} took the {event.get('env')} baseline: p50 {event.get('p50_ms', 0):.0f}ms, "
            f"p95 {event.get('p95_ms', 0):.0f}ms over {event.get('samples')} samples"
        )
    if kind == "item.verification_failed":
        evidence = event.get("evidence") or {}
        return (
            f"verification failed for {_item_text(runbook, event['phase'], event['item'])}: "
            f"{evidence.get('state', '?')} {evidence.get('reason') or ''}".rstrip()
        )
    if kind == "lock.acquired":
        d = event.get("driver") or {}
        return f"{who} drives the run (pid {d.get('pid')} on {d.get('host')})"
    if kind == "lock.released":
        return f"{who} stopped driving" + (f" ({event['reason']})" if event.get("reason") else "")
    order = event.get("out_of_order") or {}
    early = f", out of order: {order.get('reason')}" if order else ""
    if kind == "step.started":
        return (
            f"{who} started {_step_title(runbook, event)} (attempt {event.get('attempt')}){early}"
        )
    if kind == "window.started":
        return f"{who} started the timer of {_step_title(runbook, event)}{early}"
    if kind == "window.ended":
        return f"{_step_title(runbook, event)} ended: {event.get('how')}"
    if kind == "step.finished":
        why = f": {event['reason']}" if event.get("reason") else ""
        return f"{_step_title(runbook, event)} {event.get('state')}{why}"
    if kind == "step.skipped":
        return f"{who} skipped {_step_title(runbook, event)}: {event.get('reason')}"
    if kind == "command.started":
        return f"$ {event.get('command')}"
    if kind == "command.finished":
        return f"→ {event.get('outcome')}"
    if kind == "tag.created":
        return f"{who} tagged {event.get('tag')} at {str(event.get('commit'))[:8]}"
    if kind == "tag.pushed":
        return f"{who} pushed {event.get('tag')}"
    if kind == "tag.push_failed":
        return f"pushing {event.get('tag')} failed (exit {event.get('exit_code')}): {event.get('output', '')[-120:]}"
    if kind == "changelog.written":
        return f"{who} wrote the {event.get('version')} section of CHANGELOG.md"
    if kind == "messages.saved":
        return f"{who} saved the release messages"
    if kind == "notification.sent":
        return f"{who} posted the release message to {event.get('channel')}"
    if kind == "notification.failed":
        return f"posting to {event.get('channel')} failed: {event.get('error')}"
    if kind == "decision.recorded":
        return (
            f"incident commander {event.get('commander')} decided: {event.get('choice')} — "
            f"{event.get('rationale')}"
        )
    if kind == "git.branch_created":
        return f"{who} created {event.get('branch')} from {event.get('from_tag')}"
    if kind == "rollback.target_set":
        return f"{who} set the rollback target to {event.get('target')}"
    if kind == "run.closed":
        return f"{who} closed the run{note}"
    return f"{who}: {kind}"
