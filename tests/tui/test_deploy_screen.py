"""The deploy screen driven by keys: run, confirm word, fail and retry, skip, abort."""

from __future__ import annotations

import subprocess

import psutil
import pytest
from textual.widgets import RichLog

from cockpit.session import RunSession
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.deploy import DeployScreen
from screens.dialogs import Confirm, TextPrompt
from tests.helpers import own_holders, phase_workspace, set_var, settle, until

PHASE = """\
id: ship
title: Ship
steps:
  - id: prepare
    title: Prepare
    budget: 1m
    commands:
      - run: "echo preparing {version}; echo warn >&2"
  - id: apply
    title: Apply
    budget: 1m
    confirm: production
    commands:
      - run: "{tool}"
  - id: verify
    title: Verify
    commands:
      - run: "echo verified"
"""


@pytest.fixture
def ship(tmp_path):
    root = phase_workspace(tmp_path / "ws", {"ship.yaml": PHASE}, vars={"tool": "exit 4"})
    session = RunSession.start(Workspace.open(root), "standard", "1.0.0", operator="ana")
    yield session
    session.close()


def set_tool(session, tool):
    set_var(session.ws.root, "tool", tool)
    session.ws.config = Workspace.open(session.ws.root).config


def state(session, step):
    return session.state.step("ship", step).state


def log_text(screen) -> str:
    return "\n".join(line.text for line in screen.query_one("#step-log", RichLog).lines)


async def open_ship(pilot, app) -> DeployScreen:
    app.open_phase("ship")
    await until(pilot, lambda: isinstance(app.screen, DeployScreen), "deploy screen")
    await pilot.pause()
    return app.screen


async def test_run_fail_retry_skip(ship):
    app = CockpitApp(ship.ws, ship, follow_interval=0.05, poll_health=False)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_ship(pilot, app)
        await pilot.press("r")
        await until(pilot, lambda: state(ship, "prepare") == "done", "prepare done")
        await until(
            pilot, lambda: "preparing 1.0.0" in log_text(screen), "output streamed to the screen"
        )
        await pilot.press("down", "r")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt), "confirm word asked")
        await pilot.press(*"prod", "enter")  # the wrong word: nothing runs
        await until(
            pilot,
            lambda: any("not 'production': not run" in n.message for n in app._notifications),
            "the wrong word is refused in words",
        )
        await settle(pilot)
        assert state(ship, "apply") == "pending"
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt), "asked again")
        await pilot.press(*"production", "enter")
        await until(pilot, lambda: state(ship, "apply") == "failed", "apply failed")
        assert ship.state.step("ship", "apply").reason == "`exit 4` exited 4"
        set_tool(ship, "echo applied")
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt), "confirm for the retry")
        await pilot.press(*"production", "enter")
        await until(pilot, lambda: state(ship, "apply") == "done", "retry done")
        assert ship.state.step("ship", "apply").attempts == 2
        # the log view reloads for the new attempt, as a watcher's does
        await until(
            pilot,
            lambda: "Apply (attempt 2)" in log_text(screen) and "applied" in log_text(screen),
            "the retry's lines shown",
        )
        assert "(no output yet)" not in log_text(screen)
        await pilot.press("down", "s")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt), "skip reason asked")
        await pilot.press(*"verified by hand in the console", "enter")
        await until(pilot, lambda: state(ship, "verify") == "skipped", "skipped")
        assert ship.state.step("ship", "verify").reason == "verified by hand in the console"
        assert ship.progress("ship").complete


async def test_abort_asks_then_stops_everything(ship):
    set_tool(ship, "sh -c 'sleep 200 & sleep 201'")
    ship.write(ship.plan_step_skip("ship", "prepare", "not needed"))
    ship.refresh()
    app = CockpitApp(ship.ws, ship, follow_interval=0.05, poll_health=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await open_ship(pilot, app)
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt), "confirm word")
        await pilot.press(*"production", "enter")
        await until(
            pilot,
            lambda: (cmd := ship.state.step("ship", "apply").running_command) and cmd.pid,
            "running under its supervisor",
        )
        token = ship.state.step("ship", "apply").running_command.token
        assert own_holders(token)  # the command's tree is alive
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, Confirm), "abort confirmation")
        await pilot.press("y")
        await until(pilot, lambda: state(ship, "apply") == "aborted", "aborted", attempts=600)
        assert own_holders(token) == []


async def test_orphan_from_a_killed_cockpit_can_be_killed(ship):
    from cockpit.proctree import TOKEN_VAR

    token = "orphan-token-for-test"
    proc = subprocess.Popen(
        ["sleep", "300"], env={"PATH": "/usr/bin:/bin", TOKEN_VAR: token}, start_new_session=True
    )
    create_time = psutil.Process(proc.pid).create_time()
    # what a cockpit killed mid-step leaves in the journal: started, never finished
    ship.write(ship.plan_step_start("ship", "prepare", ["sleep 300"]))
    ship.journal.append(
        "command.started",
        phase="ship",
        step="prepare",
        index=0,
        command="sleep 300",
        pid=proc.pid,
        create_time=create_time,
        token=token,
    )
    ship.refresh()
    app = CockpitApp(ship.ws, ship, follow_interval=0.05, poll_health=False)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: app.orphans == [("ship", "prepare")], "orphan found")
            screen = await open_ship(pilot, app)
            banner = str(screen.query_one("#orphan-banner").render())
            assert "ORPHANED" in banner and f"pid {proc.pid}: sleep 300" in banner
            await pilot.press("k")
            await until(
                pilot,
                lambda: state(ship, "prepare") == "aborted",
                "killed and journaled",
                attempts=600,
            )
            assert proc.wait(timeout=10) is not None
            assert "orphaned command killed" in ship.state.step("ship", "prepare").reason
    finally:
        proc.kill()


async def test_interrupted_step_whose_process_is_gone_is_journaled_as_failed(ship):
    ship.write(ship.plan_step_start("ship", "prepare", ["echo x"]))
    ship.journal.append(
        "command.started",
        phase="ship",
        step="prepare",
        index=0,
        command="echo x",
        pid=999999,
        create_time=1.0,
        token="gone-token",
    )
    ship.refresh()
    app = CockpitApp(ship.ws, ship, follow_interval=0.05, poll_health=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: state(ship, "prepare") == "failed", "interrupted step journaled")
        assert ship.state.step("ship", "prepare").reason.startswith(
            "interrupted: the cockpit stopped"
        )
        assert app.orphans == []


async def test_keys_that_cannot_act_say_why_and_never_crash(tmp_path):
    """Another team's runbook: no rollback phase (R does nothing), a phase locked behind
    another (r says how to open it), a done step (r says to move on)."""
    gated = PHASE.replace("id: ship\n", "id: ship\nafter: [prep]\n")
    prep = "id: prep\ntitle: Prep\nsections:\n  - title: Ready\n    items: [Artifacts built]\n"
    root = phase_workspace(
        tmp_path / "ws", {"a-prep.yaml": prep, "ship.yaml": gated}, vars={"tool": "true"}
    )
    session = RunSession.start(Workspace.open(root), "standard", "1.0.0", operator="ana")
    app = CockpitApp(session.ws, session, follow_interval=0.05, poll_health=False)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_ship(pilot, app)
        await pilot.press("R")  # no rollback phase in this runbook: nothing to open
        await pilot.pause()
        assert app.screen is screen and app.is_running
        await pilot.press("r")
        await until(
            pilot,
            lambda: any("waits for prep" in n.message for n in app._notifications),
            "r explains the lock",
        )
        assert state(session, "prepare") == "pending"
        session.override("ship", "prep signed off on paper")
        await until(pilot, lambda: not session.progress("ship").locked, "override read")
        await pilot.press("r")
        await until(pilot, lambda: state(session, "prepare") == "done", "prepare ran")
        await pilot.press("r")  # still on the done step
        await until(
            pilot,
            lambda: any(
                "Prepare is done (final). Select the next step" in n.message
                for n in app._notifications
            ),
            "r says the step is done",
        )
    session.close()


async def test_skip_on_a_locked_phase_is_refused_before_the_reason_is_asked(session):
    from screens.dialogs import TextPrompt
    from tests.tui.test_incident import app_for, open_phase

    app = app_for(session)
    async with app.run_test(size=(160, 48)) as pilot:
        await open_phase(pilot, app, "production-deploy")
        await pilot.press("s")
        await until(
            pilot,
            lambda: any(n.title == "Not skipped" for n in app._notifications),
            "the refusal said",
        )
        said = next(n.message for n in app._notifications if n.title == "Not skipped")
        assert "locked" in said
        assert not isinstance(app.screen, TextPrompt)  # no reason asked for nothing
    assert session.state.step("production-deploy", "pre-deployment-validation").state == "pending"
