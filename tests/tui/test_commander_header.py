"""The commander's header on every screen: who drives (or that the driver is gone, noticed
by a watcher when a real driver process is killed with SIGKILL), the run's clocks, what
runs now and what is next — at 80, 100 and 160 columns, dropping words, never facts."""

from __future__ import annotations

import os
import signal

import pytest

from cockpit.workspace import Workspace
from screens.app import CockpitApp
from tests.helpers import phase_workspace, until
from tests.tui.test_watch import cockpit

PHASE = """\
id: ship
title: Ship It

steps:
  - id: migrate
    title: Database Migration
    budget: 15m
    commands:
      - run: "for i in $(seq 1 100); do echo tick-$i; sleep 0.2; done"
  - id: deploy
    title: Application Deployment
    budget: 30m
    commands: [{run: "true"}]
"""


def workspace(tmp_path):
    return phase_workspace(tmp_path / "ws", {"ship.yaml": PHASE})


def header_text(app) -> str:
    return str(app.screen.query_one("RunHeader").render())


@pytest.mark.parametrize("columns", [80, 100, 160])
async def test_the_watchers_header_names_the_driver_now_and_next_at_any_width(tmp_path, columns):
    root = workspace(tmp_path)
    assert cockpit(root, "start", "--type", "standard", "--version", "2.0.0").returncode == 0
    driver = cockpit(root, "run", "ship", "--headless", "--yes", wait=False)
    ws = Workspace.open(root)
    app = CockpitApp(ws, None, read_only=True, follow_interval=0.1, poll_health=False)
    try:
        async with app.run_test(size=(columns, 24)) as pilot:
            await until(
                pilot,
                lambda: (
                    app.session is not None
                    and app.session.state.step("ship", "migrate").state == "running"
                ),
                "the driver's step seen running",
                attempts=500,
            )
            await until(pilot, lambda: "driver-dana" in header_text(app), "the driver named")
            first, second = header_text(app).splitlines()
            assert len(first) <= columns and len(second) <= columns
            assert first.startswith("WATCHING")
            assert "2.0.0" in first and ":" in first.split("·")[-1]  # the elapsed clock
            assert "now: " in second and "/ 15m" in second  # the running step's budget
            assert "next: " in second and "(30m)" in second  # what is next, with its budget
            if columns >= 100:
                assert "now: Ship It › Database Migration" in second or (
                    "now: Database Migration" in second
                )
                assert "Application Deployment" in second
    finally:
        driver.kill()
        driver.wait(timeout=30)


async def test_a_watcher_notices_that_the_driver_was_killed(tmp_path):
    root = workspace(tmp_path)
    assert cockpit(root, "start", "--type", "standard", "--version", "2.0.0").returncode == 0
    driver = cockpit(root, "run", "ship", "--headless", "--yes", wait=False)
    ws = Workspace.open(root)
    app = CockpitApp(ws, None, read_only=True, follow_interval=0.1, poll_health=False)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await until(
                pilot,
                lambda: (
                    app.session is not None
                    and app.session.state.step("ship", "migrate").state == "running"
                ),
                "the driver's step seen running",
                attempts=500,
            )
            await until(
                pilot,
                lambda: f"driven by driver-dana (pid {driver.pid}" in header_text(app),
                "the live driver named with its pid",
                attempts=500,
            )
            os.kill(driver.pid, signal.SIGKILL)
            driver.wait(timeout=30)
            await until(
                pilot,
                lambda: "DRIVER GONE (noticed" in header_text(app),
                "the dead driver noticed",
                attempts=500,
            )
            text = header_text(app)
            assert f"pid {driver.pid} is no longer running" in text
            # the notification is a message of its own: it may land a moment after the redraw
            await until(
                pilot,
                lambda: "DRIVER GONE" in [n.title for n in app._notifications],
                "the DRIVER GONE notification",
            )
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait(timeout=30)


async def test_the_drivers_header_says_driving_and_what_runs(tmp_path):
    from cockpit.session import RunSession

    root = workspace(tmp_path)
    session = RunSession.start(Workspace.open(root), "standard", "2.0.0", operator="ana")
    app = CockpitApp(session.ws, session, follow_interval=0.05, poll_health=False)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            first, second = header_text(app).splitlines()
            assert first.startswith("DRIVING")
            assert "now: nothing running" in second or "now: —" in second
            assert "next: " in second and "Database Migration" in second
    finally:
        session.close()
