"""Watching a run driven by another process: read-only, picks up the run, follows ticks,
steps and the running step's log file. The driver is a real `cockpit` subprocess."""

from __future__ import annotations

import os
import subprocess

from textual.widgets import RichLog

from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.deploy import DeployScreen
from screens.start import WaitingScreen
from tests.helpers import cockpit_cmd, phase_workspace, until

PHASE = """\
id: ship
title: Ship
sections:
  - title: Gates
    items: [Tests are green]
steps:
  - id: slow
    title: Slow
    commands:
      - run: "for i in 1 2 3 4 5 6 7 8 9 10; do echo tick-$i; sleep 0.3; done"
"""


def make_workspace(tmp_path):
    return phase_workspace(tmp_path / "ws", {"ship.yaml": PHASE})


def cockpit(root, *args, wait=True):
    env = {**os.environ, "COCKPIT_OPERATOR": "driver-dana"}
    cmd = cockpit_cmd("--workspace", str(root), *args)
    if wait:
        return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


def log_text(screen) -> str:
    return "\n".join(line.text for line in screen.query_one("#step-log", RichLog).lines)


async def test_watcher_follows_a_run_driven_elsewhere(tmp_path):
    root = make_workspace(tmp_path)
    ws = Workspace.open(root)
    app = CockpitApp(ws, None, read_only=True, follow_interval=0.1, poll_health=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WaitingScreen), "waiting for a run")
        said = app.screen.query_one("#start-current")
        await until(pilot, lambda: "No run has ever started here" in str(said.render()), "said why")
        assert f"Workspace: {root}" in str(said.render())
        assert cockpit(root, "start", "--type", "standard", "--version", "1.0.0").returncode == 0
        await until(
            pilot,
            lambda: app.session is not None and app.session.state.run is not None,
            "picked up the run",
        )
        assert cockpit(root, "check", "ship", "tests-are-green", "--note", "CI #7").returncode == 0
        await until(
            pilot, lambda: app.session.state.item("ship", "tests-are-green").checked, "tick seen"
        )
        app.open_phase("ship")
        await until(pilot, lambda: isinstance(app.screen, DeployScreen), "deploy screen")
        screen = app.screen
        assert screen.check_action("run_step", ()) is False  # read-only: no actions
        driver = cockpit(root, "run", "ship", "--headless", "--yes", wait=False)
        try:
            await until(
                pilot,
                lambda: app.session.state.step("ship", "slow").state == "running",
                "step start seen",
                attempts=400,
            )
            await until(pilot, lambda: "tick-" in log_text(screen), "live log lines", attempts=400)
            await until(
                pilot,
                lambda: app.session.state.step("ship", "slow").state == "done",
                "step end seen",
                attempts=600,
            )
            await until(pilot, lambda: "tick-10" in log_text(screen), "last line", attempts=200)
        finally:
            driver.wait(timeout=60)
        header = screen.query_one("RunHeader")
        await until(  # the driver's release is the last line it journals as it exits
            pilot,
            lambda: (
                "WATCHING (read-only)" in str(header.render())
                and "nobody drives it now" in str(header.render())
            ),
            "the header says nobody drives the run",
        )
