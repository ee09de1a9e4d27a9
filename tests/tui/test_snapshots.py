"""SVG snapshots of the dashboard, a checklist, the deploy screen and a watcher's deploy
screen with a running step, each at 80x24 (a laptop terminal) and 160x48: frozen clock,
deterministic repo.

Regenerate on purpose only (``pytest --snapshot-update tests/test_snapshots.py``), after
looking at the SVGs.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from cockpit.clock import iso
from cockpit.probe import DEGRADED, READY, Sample
from screens.app import CockpitApp
from screens.checklist import ChecklistScreen
from screens.panels import GitPanel, HealthPanel

SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])


def make_app(session, read_only: bool = False) -> CockpitApp:
    return CockpitApp(
        session.ws,
        session,
        clock=session.clock,
        follow_interval=0.05,
        poll_health=False,
        read_only=read_only,
    )


def feed_health(app: CockpitApp) -> None:
    """Deterministic samples instead of polling: staging READY, production degraded."""
    clock = app.clock
    staging = app.monitor.envs["staging"]
    production = app.monitor.envs["production"]
    for n, ms in enumerate([41, 44, 52, 47, 61, 43, 45, 58, 49, 46, 44, 50]):
        at = iso(clock.now() - timedelta(seconds=60 - 5 * n))
        ok = {"db": "ok", "redis": "ok", "sms": "ok", "email": "ok"}
        staging.add(Sample("staging", staging.url, at, READY, 200, ms, dependencies=ok))
        checks = dict(ok, sms="fail") if n >= 9 else ok
        state = DEGRADED if n >= 9 else READY
        reason = "dependency failing: sms=fail" if n >= 9 else None
        production.add(
            Sample(
                "production",
                production.url,
                at,
                state,
                200,
                ms + 20 * (n >= 9),
                dependencies=checks,
                reason=reason,
            )
        )
    app.screen.query_one(HealthPanel).update_cards()


async def settle(pilot) -> None:
    app = pilot.app
    feed_health(app)
    for _ in range(250):
        panels = app.screen.query(GitPanel)
        if all(p.summary is not None for p in panels):
            break
        await pilot.pause(0.02)
    await pilot.pause()


@SIZES
def test_dashboard_snapshot(snap_compare, session, size):
    session.check("pre-release-gates", "typescript-compilation-passes", note="CI #4411")
    session.check("pre-release-gates", "eslint-checks-pass-with-zero-errors")
    for entry in session.ws.runbook.phase("staging-deployment").items_for("standard"):
        session.check("staging-deployment", entry.item.id)
    session.write(
        session.plan_baseline({"env": "production", "p50_ms": 45.0, "p95_ms": 58.0, "samples": 9})
    )
    session.refresh()
    session.clock.advance(timedelta(minutes=12, seconds=7).total_seconds())
    assert snap_compare(make_app(session), terminal_size=size, run_before=settle)


@SIZES
def test_checklist_snapshot(snap_compare, session, size):
    session.override("pre-production", "Gates signed off in CAB-88")
    session.check("pre-production", "staging-healthy")
    session.add_note(
        "pre-production", "confirm-all-tests-pass", "CI run 4411 green; e2e rerun pending"
    )
    session.clock.advance(180)

    async def open_checklist(pilot) -> None:
        pilot.app.open_phase("pre-production")
        for _ in range(250):
            if isinstance(pilot.app.screen, ChecklistScreen):
                break
            await pilot.pause(0.02)
        await pilot.press("down")
        await pilot.pause()

    assert snap_compare(make_app(session), terminal_size=size, run_before=open_checklist)


@SIZES
def test_deploy_screen_snapshot(snap_compare, session, size):
    session.override("production-deploy", "CAB-88: gates signed off in the meeting")
    clock = session.clock
    phase, first, second = "production-deploy", "pre-deployment-validation", "db-migration"

    def step(step_id, minutes, state, code, reason=None):
        commands = (
            ["probe staging", "probe production"] if step_id == first else ["migrate --env PROD"]
        )
        session.write(session.plan_step_start(phase, step_id, commands))
        clock.advance(minutes * 60)
        session.write(session.plan_step_finished(phase, step_id, state, code, reason, minutes * 60))
        session.refresh()

    step(first, 4, "done", 0)
    step(second, 13, "failed", 1, "`migrate --env PROD` failed: exit 1")
    log = session.log_path(phase, second)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(
        "2026-11-24T14:04:00.000Z # === Database Migration (attempt 1) by ana\n"
        "2026-11-24T14:04:00.010Z # $ migrate --env PROD --dry-run\n"
        "2026-11-24T14:04:01.000Z O connecting to PROD database ... ok\n"
        "2026-11-24T14:04:02.000Z O would apply 20261101_add_survey_table ... (dry run)\n"
        "2026-11-24T14:16:59.000Z E migrate: ERROR: connection to the database pool timed out\n"
        "2026-11-24T14:17:00.000Z # → exit 1\n"
    )
    clock.advance(60)

    async def open_deploy(pilot) -> None:
        pilot.app.open_phase(phase)
        for _ in range(250):  # until the deploy screen shows the failed step's log tail
            screen = pilot.app.screen
            logs = screen.query("#step-log") if type(screen).__name__ == "DeployScreen" else []
            if logs and any("exit 1" in line.text for line in logs.first().lines):
                break
            await pilot.pause(0.02)
        await pilot.pause()

    assert snap_compare(make_app(session), terminal_size=size, run_before=open_deploy)


@SIZES
def test_watch_view_of_a_running_step_snapshot(snap_compare, session, size):
    """A watcher on the deploy screen while the driver's step runs: the header says who
    drives (nobody: no lock is held here), what runs against its budget, what is next."""
    session.override("production-deploy", "CAB-88: gates signed off in the meeting")
    clock = session.clock
    phase, first, second = "production-deploy", "pre-deployment-validation", "db-migration"
    session.write(session.plan_step_start(phase, first, ["probe staging", "probe production"]))
    clock.advance(240)
    session.write(session.plan_step_finished(phase, first, "done", 0, None, 240))
    session.write(session.plan_step_start(phase, second, ["migrate --env PROD"]))
    session.refresh()
    log = session.log_path(phase, second)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(
        "2026-11-24T14:04:00.000Z # === Database Migration (attempt 1) by ana\n"
        "2026-11-24T14:04:00.010Z # $ migrate --env PROD\n"
        "2026-11-24T14:04:01.000Z O connecting to PROD database ... ok\n"
        "2026-11-24T14:04:02.000Z O applying 20261101_add_survey_table ...\n"
    )
    clock.advance(7 * 60 + 12)

    async def open_deploy(pilot) -> None:
        pilot.app.open_phase(phase)
        for _ in range(250):  # until the watcher shows the running step's log
            screen = pilot.app.screen
            logs = screen.query("#step-log") if type(screen).__name__ == "DeployScreen" else []
            if logs and any("applying" in line.text for line in logs.first().lines):
                break
            await pilot.pause(0.02)
        await pilot.pause()

    app = make_app(session, read_only=True)
    assert snap_compare(app, terminal_size=size, run_before=open_deploy)
