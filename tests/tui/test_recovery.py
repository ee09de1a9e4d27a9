"""The TUI and a step's supervisor: a window across a quit, quitting while a step runs, and
the TUI in a real pseudo-terminal closed (SIGHUP) or killed mid-step.
"""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from cockpit.driver import RunDriver
from cockpit.journal import read_journal
from cockpit.report import build
from cockpit.session import RunSession
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.dialogs import Confirm, TextPrompt
from tests.helpers import cockpit_cmd, until, wait_for
from tests.rollout import (
    ROWS,
    journal_of,
    printed,
    started,
    status_json,
    step_of,
)


async def test_a_window_is_ended_by_the_operator_and_never_becomes_a_failed_step(rollout):
    session = RunSession(Workspace.open(rollout), journal_of(rollout).parent.name)
    session.take_lock()
    app = CockpitApp(session.ws, session, follow_interval=0.05, poll_health=False)
    async with app.run_test(size=(160, 48)) as pilot:
        app.intents.start_step("rollout", "soak", "canary shifted by CD")
        await until(
            pilot, lambda: session.state.step("rollout", "soak").state == "running", "window open"
        )
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, Confirm), "quit asked")
        await pilot.press("y")
    session.close()
    # reopened: the window is still a running timer, not an interrupted step
    again = RunSession(Workspace.open(rollout), session.run_id)
    driver = RunDriver(again)
    assert await driver.reconcile() == []
    soak = step_of(status_json(rollout), "soak")
    assert (soak["state"], soak["kind"]) == ("running", "window")
    assert all(s["state"] != "failed" for s in build(again)["steps"])
    await driver.end_window("rollout", "soak", "ended by the operator")
    st = again.state.step("rollout", "soak")
    assert (st.state, st.reason) == ("done", "ended by the operator with 0/2 checks ticked")
    again.close()


async def test_tui_quit_leaves_the_step_running_and_the_next_cockpit_follows_it(rollout):
    from textual.widgets import RichLog

    from screens.deploy import DeployScreen
    from tests.helpers import set_var

    gate = rollout.parent / "gate"
    (rollout / "runbook" / "zz-gated.yaml").write_text(
        "id: gated\ntitle: Gated\nsteps:\n  - id: wait\n    title: Wait for the gate\n"
        "    commands:\n"
        '      - run: "echo waiting; while [ ! -f {gate} ]; do sleep 0.05; done; echo released"\n'
    )
    set_var(rollout, "gate", str(gate))
    run_id = journal_of(rollout).parent.name
    session = RunSession(Workspace.open(rollout), run_id)
    session.take_lock()
    app = CockpitApp(session.ws, session, follow_interval=0.05, poll_health=False)
    async with app.run_test(size=(160, 48)) as pilot:
        app.open_phase("gated")
        await until(pilot, lambda: isinstance(app.screen, DeployScreen), "deploy screen")
        await pilot.press("r")
        await until(
            pilot,
            lambda: (cmd := session.state.step("gated", "wait").running_command) and cmd.pid,
            "the step runs under its supervisor",
        )
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, Confirm), "quit asked")
        assert "leave the step running" in str(app.screen.query_one("#dialog-title").render())
        await pilot.press("y")
    session.close()
    waiting = step_of(status_json(rollout), "wait")
    assert waiting["state"] == "running" and waiting["supervisor"]["alive"]
    again = RunSession(Workspace.open(rollout), run_id)
    again.take_lock()
    app = CockpitApp(again.ws, again, follow_interval=0.05, poll_health=False)
    async with app.run_test(size=(160, 48)) as pilot:
        app.open_phase("gated")
        await until(pilot, lambda: isinstance(app.screen, DeployScreen), "deploy screen")
        gate.touch()  # the command goes on to its end while this cockpit watches
        await until(
            pilot,
            lambda: again.state.step("gated", "wait").state == "done",
            "the step's real outcome, recorded by its supervisor",
            attempts=600,
        )
        log = app.screen.query_one("#step-log", RichLog)
        await until(
            pilot,
            lambda: any("released" in line.text for line in log.lines),
            "the log followed to its last line",
        )
        assert any("waiting" in line.text for line in log.lines)
    again.close()


@pytest.mark.parametrize(
    ("sig", "terminal_gone"),
    [(signal.SIGHUP, False), (signal.SIGHUP, True), (signal.SIGKILL, False)],
    ids=["sighup", "terminal-closed", "sigkill"],
)
def test_the_tui_in_a_real_terminal_dies_and_the_command_does_not(rollout, sig, terminal_gone):
    """The TUI in a pseudo-terminal: `r` starts the step, then it is sent SIGHUP (with its
    terminal still there, or already gone, as when a window closes or SSH drops: Textual's
    own shutdown can hang then, and must not) or killed (SIGKILL) mid-step."""
    import pty

    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "48"}
    proc = subprocess.Popen(
        cockpit_cmd("--workspace", str(rollout), "run", "rollout"),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    seen = bytearray()

    def read_screen() -> bytes:
        import select

        while select.select([master], [], [], 0)[0]:
            try:
                seen.extend(os.read(master, 65536))
            except OSError:
                break
        return bytes(seen)

    try:
        wait_for(lambda: b"Apply schema change" in read_screen(), "the deploy screen is drawn")
        os.write(master, b"r")
        wait_for(lambda: (read_screen(), started(rollout, "schema"))[1], "r started the step")
        wait_for(lambda: len(printed(rollout, "schema")) >= 3, "the step prints")
        if terminal_gone:
            os.close(master)
            master = -1
        os.kill(proc.pid, sig)
        wait_for(
            lambda: (master < 0 or read_screen(), proc.poll() is not None)[1],
            "the cockpit exited",
        )
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if master >= 0:
            os.close(master)
    assert proc.returncode == (-sig if sig == signal.SIGKILL else 128 + sig)
    wait_for((rollout.parent / "marker").exists, "the command ran to its end")
    wait_for(
        lambda: step_of(status_json(rollout), "schema")["state"] != "running",
        "its outcome recorded",
    )
    schema = step_of(status_json(rollout), "schema")
    assert (schema["state"], schema["exit_code"]) == ("done", 0)
    assert printed(rollout, "schema") == ROWS
    if sig == signal.SIGHUP:
        events = read_journal(journal_of(rollout)).events
        released = [e for e in events if e["type"] == "lock.released"]
        assert released and "SIGHUP" in released[-1]["reason"]


async def test_running_a_step_out_of_order_in_the_tui_asks_for_a_reason(rollout):
    from screens.deploy import DeployScreen

    session = RunSession(Workspace.open(rollout), journal_of(rollout).parent.name)
    session.take_lock()
    app = CockpitApp(session.ws, session, follow_interval=0.05, poll_health=False)
    async with app.run_test(size=(160, 48)) as pilot:
        app.open_phase("rollout")
        await until(pilot, lambda: isinstance(app.screen, DeployScreen), "deploy screen")
        await pilot.press("down", "r")  # the canary, while the schema change is pending
        await until(pilot, lambda: isinstance(app.screen, TextPrompt), "reason asked")
        title = str(app.screen.query_one("#dialog-title").render())
        assert "out of order" in title
        await pilot.press(*"schema applied by the DBA", "enter")
        await until(
            pilot,
            lambda: session.state.step("rollout", "canary").state == "done",
            "the canary ran",
            attempts=600,
        )
        order = session.state.step("rollout", "canary").out_of_order
        assert order["reason"] == "schema applied by the DBA"
        assert order["earlier"] == [{"step": "schema", "state": "pending"}]
    session.close()
