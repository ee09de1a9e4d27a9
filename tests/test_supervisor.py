"""A command outlives the cockpit: the driver killed (SIGKILL), its terminal closed (SIGHUP) or
stopped (SIGTERM) mid-step; headless resume; timed windows; order; stage timers across a quit.

Every test uses a runbook in another team's style (not the shipped one), real cockpit
processes, real supervisors and real commands; nothing is mocked.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from cockpit.driver import OutOfOrder, RunDriver
from cockpit.journal import read_journal
from cockpit.report import build
from cockpit.session import RunSession
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.dialogs import Confirm

from .conftest import cockpit_cmd, phase_workspace
from .test_tui import until

# A platform team's rollout runbook: their ids, their words, a window with checks.
ROLLOUT = """\
id: rollout
title: Canary rollout (payments-api)
steps:
  - id: schema
    title: Apply schema change
    budget: 2m
    commands:
      - run: "for i in $(seq 1 30); do echo applied row $i; sleep 0.05; done; touch {marker}"
  - id: canary
    title: Shift 10% traffic to canary
    commands:
      - run: "echo canary at 10%"
  - id: soak
    title: Soak the canary
    budget: 15m
    checks:
      - Error budget burn below 2x
      - p99 latency within SLO
"""
ROWS = [f"applied row {i}" for i in range(1, 31)]


@pytest.fixture
def rollout(tmp_path: Path) -> Path:
    marker = tmp_path / "marker"
    root = phase_workspace(tmp_path / "ws", {"rollout.yaml": ROLLOUT}, vars={"marker": str(marker)})
    subprocess.run(
        cockpit_cmd("--workspace", str(root), "start", "--type", "standard", "--version", "2.4.0"),
        check=True,
        capture_output=True,
    )
    return root


def journal_of(root: Path) -> Path:
    return next(root.glob(".cockpit/runs/*/journal.jsonl"))


def wait_for(condition, what: str, attempts: int = 400) -> None:
    for _ in range(attempts):
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


def started(root: Path, step: str) -> bool:
    events = read_journal(journal_of(root)).events
    return any(e["type"] == "command.started" and e.get("step") == step for e in events)


def status_json(root: Path) -> dict:
    out = subprocess.run(
        cockpit_cmd("--workspace", str(root), "status", "--json"),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def step_of(doc: dict, step_id: str) -> dict:
    return next(s for p in doc["phases"] for s in p["steps"] if s["id"] == step_id)


def printed(root: Path, step: str) -> list[str]:
    log = next(root.glob(f".cockpit/runs/*/logs/rollout/{step}.log")).read_text()
    return [line.split(" ", 2)[2] for line in log.splitlines() if line.split(" ")[1] == "O"]


def headless(root: Path, *extra: str, stdout=subprocess.DEVNULL) -> subprocess.Popen:
    return subprocess.Popen(
        cockpit_cmd("--workspace", str(root), "run", "rollout", "--headless", "--yes", *extra),
        stdout=stdout,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGHUP, signal.SIGTERM])
def test_the_command_outlives_its_cockpit(rollout, sig):
    proc = headless(rollout)
    wait_for(lambda: started(rollout, "schema"), "the schema step runs")
    time.sleep(0.3)  # it has printed a few rows: its output pipe is in use
    os.kill(proc.pid, sig)
    expected = -sig if sig == signal.SIGKILL else 128 + sig
    assert proc.wait(timeout=20) == expected
    marker = rollout.parent / "marker"
    wait_for(marker.exists, "the command ran to its end")
    wait_for(
        lambda: step_of(status_json(rollout), "schema")["state"] != "running",
        "the supervisor recorded the outcome",
    )
    schema = step_of(status_json(rollout), "schema")
    assert (schema["state"], schema["exit_code"]) == ("done", 0)
    assert printed(rollout, "schema") == ROWS  # every line, once
    events = read_journal(journal_of(rollout)).events
    if sig != signal.SIGKILL:  # a signal the cockpit can hear: it says why it left
        released = [e for e in events if e["type"] == "lock.released"]
        assert released and signal.Signals(sig).name in released[-1]["reason"]
        assert "schema keeps running under its supervisor" in released[-1]["reason"]


def test_headless_resumes_a_step_left_running_then_goes_on(rollout):
    first = headless(rollout)
    wait_for(lambda: started(rollout, "schema"), "the schema step runs")
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    doc = status_json(rollout)
    assert step_of(doc, "schema")["state"] == "running"
    assert step_of(doc, "schema")["supervisor"]["alive"] is True
    second = headless(rollout, stdout=subprocess.PIPE)
    events = lambda: read_journal(journal_of(rollout)).events  # noqa: E731
    wait_for(lambda: any(e["type"] == "window.started" for e in events()), "the soak window opens")
    for item in ("error-budget-burn-below-2x", "p99-latency-within-slo"):
        subprocess.run(
            cockpit_cmd("--workspace", str(rollout), "check", "rollout", item, "--note", "graphs"),
            check=True,
            capture_output=True,
        )
    out, _ = second.communicate(timeout=30)
    assert second.returncode == 0, out
    assert "Apply schema change: still running (supervisor pid" in out
    assert "resuming Apply schema change" in out and "  applied row 30" in out
    assert "canary at 10%" in out
    doc = status_json(rollout)
    assert [(s["id"], s["state"]) for s in doc["phases"][0]["steps"]] == [
        ("schema", "done"),
        ("canary", "done"),
        ("soak", "done"),
    ]
    assert step_of(doc, "schema")["attempts"] == 1  # followed, not run again
    assert printed(rollout, "schema") == ROWS
    soak = [e for e in events() if e["type"] == "window.ended"]
    assert soak[-1]["how"] == "its checks are ticked"


def test_a_step_that_ended_while_no_cockpit_watched_is_recorded_from_its_status(rollout):
    """The supervisor itself was killed after it wrote the final status but before it
    journaled: the next driver records the real outcome from the status file."""
    ws = Workspace.open(rollout)
    session = RunSession(ws, journal_of(rollout).parent.name)
    session.write(session.plan_step_start("rollout", "canary", ["echo canary at 10%"]))
    session.refresh()
    status = session.log_path("rollout", "canary").with_suffix(".status")
    status.parent.mkdir(parents=True, exist_ok=True)
    status.write_text(
        json.dumps(
            {
                "attempt": 1,
                "state": "failed",
                "exit_code": 7,
                "signal": None,
                "reason": "`deploy` failed: exit 7",
                "duration_s": 3.2,
                "supervisor": {"pid": 999999, "create_time": 1.0},
                "token": "t-gone",
            }
        )
    )
    driver = RunDriver(session)
    import asyncio

    found = asyncio.run(driver.reconcile())
    assert [(f.step, f.what) for f in found] == [("canary", "recorded")]
    st = session.state.step("rollout", "canary")
    assert (st.state, st.exit_code, st.reason) == ("failed", 7, "`deploy` failed: exit 7")
    session.close()


def test_out_of_order_needs_a_reason_and_is_reported(rollout):
    refused = subprocess.run(
        [
            *cockpit_cmd("--workspace", str(rollout), "run", "rollout", "--headless", "--yes"),
            "--from",
            "canary",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode == 2
    assert "run out of order: Apply schema change (pending) is not done" in refused.stdout
    assert not started(rollout, "canary")
    ran = headless(
        rollout, "--from", "canary", "--out-of-order", "schema applied by the DBA by hand"
    )
    events = lambda: read_journal(journal_of(rollout)).events  # noqa: E731
    # the canary runs; then the soak window waits for its checks (no terminal here)
    wait_for(lambda: any(e["type"] == "window.started" for e in events()), "soak window opens")
    ran.send_signal(signal.SIGTERM)
    assert ran.wait(timeout=20) == 128 + signal.SIGTERM
    session = RunSession(Workspace.open(rollout), journal_of(rollout).parent.name)
    st = session.state.step("rollout", "canary")
    assert st.out_of_order == {
        "reason": "schema applied by the DBA by hand",
        "earlier": [{"step": "schema", "state": "pending"}],
    }
    report = build(session)
    assert report["out_of_order"][0] == {
        "phase": "rollout",
        "step": "canary",
        "title": "Shift 10% traffic to canary",
        "by": "ana",
        "reason": "schema applied by the DBA by hand",
        "earlier": ["schema (pending)"],
    }
    # the soak window after it was started out of order too (the schema is still pending)
    assert [o["step"] for o in report["out_of_order"]] == ["canary", "soak"]
    session.close()


async def test_a_step_without_commands_is_a_timed_window(rollout):
    session = RunSession(Workspace.open(rollout), journal_of(rollout).parent.name)
    driver = RunDriver(session)
    with pytest.raises(OutOfOrder):
        await driver.start_step("rollout", "soak")
    await driver.start_step("rollout", "soak", out_of_order="canary already at 10% from CD")
    st = session.state.step("rollout", "soak")
    assert (st.state, st.kind) == ("running", "window")  # not done 6 ms after it started
    assert step_of(session.status(), "soak")["kind"] == "window"
    await driver.send(lambda: session.plan_check("rollout", "error-budget-burn-below-2x"))
    assert session.state.step("rollout", "soak").state == "running"  # 1 of 2 checks
    await driver.send(lambda: session.plan_check("rollout", "p99-latency-within-slo"))
    st = session.state.step("rollout", "soak")
    assert (st.state, st.reason) == ("done", "its checks are ticked")
    session.close()


async def test_a_window_is_ended_by_the_operator_and_never_becomes_a_failed_step(rollout):
    session = RunSession(Workspace.open(rollout), journal_of(rollout).parent.name)
    session.take_lock()
    app = CockpitApp(session.ws, session, follow_interval=0.05, poll_health=False)
    async with app.run_test(size=(160, 48)) as pilot:
        app.start_step("rollout", "soak", "canary shifted by CD")
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
    assert (st.state, st.reason) == ("done", "ended by the operator")
    again.close()


async def test_tui_quit_leaves_the_step_running_and_the_next_cockpit_follows_it(rollout):
    from textual.widgets import RichLog

    from screens.deploy import DeployScreen

    from .conftest import set_var

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


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGKILL])
def test_the_tui_in_a_real_terminal_dies_and_the_command_does_not(rollout, sig):
    """The TUI in a pseudo-terminal: `r` starts the step, then the terminal is closed
    (SIGHUP) or the cockpit is killed (SIGKILL) mid-step."""
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
        time.sleep(0.3)
        os.kill(proc.pid, sig)
        wait_for(lambda: (read_screen(), proc.poll() is not None)[1], "the cockpit exited")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
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
