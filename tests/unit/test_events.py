"""Typed journal events: every line the landed main wrote reads back as its type and writes
back unchanged; old journals replay (a stage timer is a window, not a failed step); unknown
types and keys survive."""

from __future__ import annotations

import json
from pathlib import Path

from cockpit.describe import describe
from cockpit.events import (
    FINISHED,
    REGISTRY,
    StepFinished,
    StepStatus,
    Unknown,
    parse,
)
from cockpit.runbook import load_runbook
from cockpit.state import replay

LANDED = Path(__file__).resolve().parents[1] / "data" / "landed-main-journal.jsonl"
"""A demo release plus an incident drill, journaled by the cockpit before events were typed."""
CHECKLISTS = Path(__file__).resolve().parents[2] / "checklists"


def lines() -> list[dict]:
    return [json.loads(line) for line in LANDED.read_text().splitlines()]


def test_every_landed_line_reads_as_its_type_and_writes_back_unchanged():
    seen = set()
    for line in lines():
        event = parse(line)
        assert not isinstance(event, Unknown), line["type"]
        seen.add(event.type)
        written = {"v": line["v"], "ts": event.ts, "type": event.type, **event.fields()}
        assert written == line
    assert {"run.started", "step.finished", "decision.recorded", "health.changed"} <= seen
    assert len(seen) >= 15


def test_an_old_journal_replays_and_a_stage_timer_is_a_window_not_a_failed_step():
    state = replay(lines())
    assert state.run is not None and state.run.version == "1.3.0"
    assert state.step("production-deploy", "db-migration").state == StepStatus.DONE
    stage = state.step("rollback-decision", "assess-impact")
    assert (stage.state, stage.kind) == ("running", "window")
    assert state.running_steps() == []  # nothing a driver would reconcile as a lost command
    assert state.decisions[-1].choice == "rollback" and state.decisions[-1].commander == "Iris IC"
    assert state.rollback_target == "dirt-free-crm-1b9e77.vercel.app"
    assert state.step("rollback", "database-rollback").state == "skipped"
    assert state.item("rollback-decision", "critical-broken").by.endswith("(health signal)")


def test_every_landed_event_reads_in_words():
    runbook = load_runbook(CHECKLISTS, None)
    for line in lines():
        words = describe(line, runbook)
        assert not words.startswith(("?:", f"{line.get('by')}: {line['type']}")), words


def test_unknown_types_and_keys_survive():
    line = {"v": 1, "ts": "t", "type": "pager.paged", "by": "ana", "who": "oncall"}
    event = parse(line)
    assert isinstance(event, Unknown) and event.type == "pager.paged"
    assert event.extra["who"] == "oncall"
    newer = {"v": 1, "ts": "t", "type": "step.finished", "by": "x", "phase": "p", "step": "s"}
    newer |= {"state": "paused", "exit_code": None, "reason": None, "duration_s": 0.0, "host": "h"}
    finished = parse(newer)
    assert isinstance(finished, StepFinished) and finished.state == "paused"  # kept as written
    assert finished.fields()["host"] == "h"
    assert {"v": 1, "ts": "t", "type": "step.finished", **finished.fields()} == newer


def test_step_status_is_its_word():
    assert StepStatus.DONE == "done" and json.dumps(StepStatus.FAILED) == '"failed"'
    assert StepStatus.SKIPPED.finished and not StepStatus.FAILED.finished
    assert "done" in FINISHED and "aborted" not in FINISHED
    assert all(cls.TYPE for cls in REGISTRY.values())


def test_skipping_after_a_failed_attempt_does_not_count_the_wait_as_running_time():
    def line(kind, ts, **fields):
        return {"v": 1, "ts": ts, "type": kind, "by": "ana", **fields}

    run = {"id": "r", "type": "standard", "version": "1.0.0", "operator": "ana"}
    state = replay(
        [
            line("run.started", "2026-11-25T10:00:00+00:00", run=run),
            line("step.started", "2026-11-25T10:00:00+00:00", phase="p", step="s", attempt=1)
            | {"commands": ["x"]},
            line("step.finished", "2026-11-25T10:00:03+00:00", phase="p", step="s")
            | {"state": "aborted", "exit_code": None, "reason": "aborted", "duration_s": 3.0},
            line("step.skipped", "2026-11-25T10:05:00+00:00", phase="p", step="s", reason="ok"),
            line("step.skipped", "2026-11-25T10:06:00+00:00", phase="p", step="t", reason="n/a"),
        ]
    )
    skipped = state.step("p", "s")
    assert (skipped.state, skipped.started_at, skipped.finished_at) == (
        "skipped",
        "2026-11-25T10:00:00+00:00",
        "2026-11-25T10:00:03+00:00",
    )
    never_ran = state.step("p", "t")
    assert never_ran.started_at is None and never_ran.finished_at == "2026-11-25T10:06:00+00:00"
