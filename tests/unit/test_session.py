"""Runs: start, tick, note, locks between phases, overrides, status document, replay."""

from __future__ import annotations

import stat

import pytest

from cockpit.errors import CockpitError
from cockpit.journal import read_journal
from cockpit.session import RunSession
from cockpit.state import replay


def test_start_records_the_run(session, ws):
    run = session.state.run
    assert (run.type, run.version, run.previous_version, run.operator) == (
        "standard",
        "1.3.0",
        "1.2.0",
        "ana",
    )
    assert run.id == "20261124-140000-standard-1.3.0"
    assert ws.active_run_id() == run.id
    assert stat.S_IMODE(session.dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(ws.state_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(session.journal_path.stat().st_mode) == 0o600


def test_version_defaults_by_release_type(ws, clock):
    assert RunSession.start(ws, "patch", clock=clock).state.run.version == "1.2.1"
    assert RunSession.start(ws, "major", clock=clock).state.run.version == "2.0.0"
    assert RunSession.start(ws, "hotfix", "1.2.9", clock=clock).state.run.version == "1.2.9"
    with pytest.raises(CockpitError, match="not a semantic version"):
        RunSession.start(ws, "standard", "v-next", clock=clock)


def test_tick_untick_note_with_who_and_when(session, clock):
    session.check("pre-release-gates", "typescript-compilation-passes", note="CI #4411")
    st = session.state.item("pre-release-gates", "typescript-compilation-passes")
    assert (st.checked, st.by, st.note) == (True, "ana", "CI #4411")
    assert st.at.startswith("2026-11-24T14:00:00")
    clock.advance(60)
    session.uncheck("pre-release-gates", "typescript-compilation-passes", note="CI was re-run: red")
    st = session.state.item("pre-release-gates", "typescript-compilation-passes")
    assert not st.checked and st.note == "CI was re-run: red" and len(st.notes) == 2
    session.add_note("pre-release-gates", "dependency-audit-clean", "two moderate advisories")
    assert (
        session.state.item("pre-release-gates", "dependency-audit-clean").note
        == "two moderate advisories"
    )
    assert not session.state.item("pre-release-gates", "dependency-audit-clean").checked


def test_state_is_a_replay_of_the_journal(session):
    session.check("pre-release-gates", "typescript-compilation-passes")
    session.check("staging-deployment", "verify-deployment-health", note="ok")
    again = replay(read_journal(session.journal_path).events)
    assert again.items == session.state.items
    assert again.run == session.state.run


def test_locked_phase_refuses_until_its_phases_are_complete(session):
    assert session.progress("pre-production").waiting_on == ("pre-release-gates", "staging-signoff")
    with pytest.raises(CockpitError, match="locked until pre-release-gates, staging-signoff"):
        session.check("pre-production", "staging-healthy")
    for phase in (
        "pre-release-gates",
        "staging-deployment",
        "staging-validation",
        "staging-signoff",
    ):
        assert not session.progress(phase).locked
        for entry in session.ws.runbook.phase(phase).items_for("standard"):
            session.check(phase, entry.item.id, note="done" if entry.item.note_required else None)
        if phase == "staging-validation":  # its probe step must run or be skipped, with a reason
            assert not session.progress(phase).complete
            session.write(
                session.plan_step_skip(phase, "access-staging", "probed from the VPN by hand")
            )
            session.refresh()
        assert session.progress(phase).complete
    assert not session.progress("pre-production").locked
    session.check("pre-production", "staging-healthy")


def test_override_needs_a_reason_and_is_journaled(session):
    with pytest.raises(CockpitError, match="needs a reason"):
        session.override("pre-production", "  ")
    session.override("pre-production", "gates signed in CAB-88")
    session.check("pre-production", "staging-healthy")
    last = read_journal(session.journal_path).events
    unlocked = next(e for e in last if e["type"] == "phase.unlocked")
    assert unlocked["reason"] == "gates signed in CAB-88"
    assert unlocked["waiting"] == ["pre-release-gates", "staging-signoff"]
    assert unlocked["by"] == "ana"
    with pytest.raises(CockpitError, match="not locked"):
        session.override("pre-production", "again")


def test_items_of_other_release_types_are_refused(session):
    with pytest.raises(CockpitError, match="only patch"):
        session.check("pre-release-gates", "impact-assessment-documented")
    with pytest.raises(CockpitError, match="not part of a standard release"):
        session.check("hotfix-workflow", "incident-declared-and-assessed")


def test_unknown_phase_and_item_are_named(session):
    with pytest.raises(CockpitError, match="no phase 'deploy'"):
        session.check("deploy", "x")
    with pytest.raises(CockpitError, match="no item 'nope' in phase 'pre-release-gates'"):
        session.check("pre-release-gates", "nope")


def test_note_required_items(ws, clock):
    patch = RunSession.start(ws, "patch", clock=clock)
    with pytest.raises(CockpitError, match="needs a note"):
        patch.check("pre-release-gates", "impact-assessment-documented")
    patch.check("pre-release-gates", "impact-assessment-documented", note="low risk: 2 files")
    assert patch.state.item("pre-release-gates", "impact-assessment-documented").checked


def test_criteria_do_not_count_as_tasks_and_raise_the_flag(session):
    assert session.progress("rollback-decision").total == 9
    session.check("rollback-decision", "performance-10x", note="p95 9.8s vs 400ms")
    status = session.status()
    assert status["rollback_criteria_met"] == ["performance-10x"]
    assert session.progress("rollback-decision").done == 0


def test_status_document_shape(session):
    session.check("pre-release-gates", "typescript-compilation-passes", note="ok")
    doc = session.status()
    assert set(doc["run"]) >= {"id", "type", "version", "operator", "started_at"}
    phase = doc["phases"][0]
    assert set(phase) >= {"id", "complete", "locked", "items", "steps"}
    item = phase["items"][0]
    assert item == {
        **item,
        "id": "typescript-compilation-passes",
        "checked": True,
        "by": "ana",
        "note": "ok",
    }
    deploy = next(p for p in doc["phases"] if p["id"] == "production-deploy")
    assert [s["state"] for s in deploy["steps"]] == ["pending"] * 5
    assert set(deploy["steps"][0]) >= {"id", "state", "started_at", "finished_at", "exit_code"}
    assert "hotfix-workflow" not in [p["id"] for p in doc["phases"]]


def test_a_second_writer_is_seen_by_the_first(session, ws):
    other = RunSession(ws, session.run_id, operator="ci-bot")
    other.check("pre-release-gates", "unit-tests-pass-90-coverage", note="from CI")
    assert not session.state.item("pre-release-gates", "unit-tests-pass-90-coverage").checked
    session.refresh()
    st = session.state.item("pre-release-gates", "unit-tests-pass-90-coverage")
    assert st.checked and st.by == "ci-bot"


def test_placeholder_values_are_the_runs_facts(session):
    values = session.placeholder_values()
    assert values["version"] == "1.3.0"
    assert values["production_url"] == "http://127.0.0.1:18082"
    assert values["rollback_target"] == "production-v1.2.0"
    assert values["migrate"] == "tsx scripts/migrate.ts"
