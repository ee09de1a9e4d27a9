"""``cockpit watch`` follows the driver: the driving app journals what it has on screen
(``view.opened``: a phase, the step selected there, the dashboard), a watcher opens the
same phase and selects the same step; any key takes the watcher off follow, ``F`` puts it
back."""

from __future__ import annotations

import asyncio

from cockpit.driver import RunDriver
from cockpit.journal import read_journal
from cockpit.session import RunSession
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.checklist import ChecklistScreen
from screens.dashboard import DashboardScreen
from screens.deploy import DeployScreen
from tests.helpers import phase_workspace, until

GATES = """\
id: gates
title: Gates
sections:
  - title: Checks
    items: [Tests are green]
"""
SHIP = """\
id: ship
title: Ship
after: [gates]
steps:
  - id: migrate
    title: Migrate
    commands: [{run: "true"}]
  - id: deploy
    title: Deploy
    commands: [{run: "true"}]
"""


def workspace(tmp_path):
    return phase_workspace(tmp_path / "ws", {"10-gates.yaml": GATES, "20-ship.yaml": SHIP})


def views(session: RunSession) -> list[tuple]:
    events = read_journal(session.journal_path).events
    return [(e.get("phase"), e.get("step")) for e in events if e["type"] == "view.opened"]


async def test_the_driving_app_journals_what_it_has_on_screen(tmp_path):
    session = RunSession.start(
        Workspace.open(workspace(tmp_path)), "standard", "1.0.0", operator="ana"
    )
    app = CockpitApp(session.ws, session, follow_interval=0.05, poll_health=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "dashboard")
            app.open_phase("ship")
            await until(pilot, lambda: isinstance(app.screen, DeployScreen), "deploy screen")
            await until(pilot, lambda: ("ship", "migrate") in views(session), "ship journaled")
            await pilot.press("down")
            await until(pilot, lambda: ("ship", "deploy") in views(session), "the step journaled")
            await pilot.press("escape")
            await until(pilot, lambda: views(session)[-1] == (None, None), "dashboard journaled")
    finally:
        session.close()
    # one line per view settled on (the dashboard it opened on first), never one per redraw
    assert views(session) == [(None, None), ("ship", "migrate"), ("ship", "deploy"), (None, None)]


async def test_a_watcher_follows_the_drivers_screen_until_a_key_then_F(tmp_path):
    root = workspace(tmp_path)
    driving = RunSession.start(Workspace.open(root), "standard", "1.0.0", operator="dana")
    driving.take_lock()
    driver = RunDriver(driving)
    app = CockpitApp(Workspace.open(root), None, read_only=True, follow_interval=0.05)
    app.poll_health = False
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.session is not None, "the run picked up")
            await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "dashboard")
            driver.opened("gates")
            await until(pilot, lambda: isinstance(app.screen, ChecklistScreen), "gates opened")
            driver.opened("ship", "deploy")
            await until(
                pilot,
                lambda: (
                    isinstance(app.screen, DeployScreen)
                    and app.screen.is_mounted
                    and app.screen.selected is not None
                    and app.screen.selected.id == "deploy"
                ),
                "the driver's step selected",
                attempts=500,
            )
            await pilot.press("up")  # the watcher looks around: off follow
            assert app.follow_driver is False
            assert "Follow off" in [n.title for n in app._notifications]
            driver.opened(None)  # written once the driver's rate limit allows
            await until(
                pilot,
                lambda: (
                    app.session.state.driver_view is not None
                    and app.session.state.driver_view.phase is None
                ),
                "the watcher read the driver's new view",
                attempts=500,
            )
            await pilot.pause()
            assert isinstance(app.screen, DeployScreen)  # not yanked back
            await pilot.press("F")
            assert app.follow_driver is True
            await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "followed again")
    finally:
        await asyncio.gather(*driver._tasks, return_exceptions=True)
        driving.close()


async def test_a_watcher_moves_on_to_the_next_run_once_its_run_is_closed(tmp_path):
    from tests.helpers import run_cli

    root = workspace(tmp_path)
    first = RunSession.start(Workspace.open(root), "standard", "1.0.0", operator="dana")
    first.close()
    app = CockpitApp(Workspace.open(root), None, read_only=True, follow_interval=0.05)
    app.poll_health = False
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.session is not None, "the first run picked up")
        assert app.session.run_id == first.run_id
        app.open_phase("gates")
        await until(pilot, lambda: isinstance(app.screen, ChecklistScreen), "a phase open")
        assert run_cli(root, "close", "--note", "shipped").returncode == 0
        started = run_cli(root, "start", "--type", "standard", "--version", "1.1.0")
        assert started.returncode == 0, started.stderr
        await until(
            pilot,
            lambda: app.session is not None and app.session.run_id != first.run_id,
            "the next run watched",
            attempts=500,
        )
        assert app.session.state.run.version == "1.1.0"
        assert "New run" in [n.title for n in app._notifications]
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "its dashboard")
