"""The step runner with real subprocesses: output kept in order, failures, timeouts, abort of a
whole process tree (including a process that left the session), secrets, quoting, orphans."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time

import psutil
import pytest

from cockpit.driver import ORPHAN_ENDED, RunDriver
from cockpit.journal import read_journal
from cockpit.proctree import stop_tree
from cockpit.runner import attempt_status
from cockpit.session import RunSession
from cockpit.workspace import Workspace
from tests.helpers import cockpit_cmd, own_holders, phase_workspace

PHASE = """\
id: ops
title: Ops
steps:
  - id: build
    title: Build
    budget: 1m
    commands:
      - run: "printf 'one\\\\ntwo\\\\n'; echo oops >&2; echo three"
      - run: "echo second command"
  - id: fails
    title: Fails
    commands:
      - run: "echo before; exit 3"
      - run: "echo never"
  - id: tolerant
    title: Tolerant
    commands:
      - run: "exit 1"
        allow_failure: true
      - run: "echo after"
  - id: slow
    title: Slow
    commands:
      - run: "echo start; sleep 30"
        timeout: 500ms
  - id: tree
    title: Tree
    commands:
      - run: "sleep 300 & setsid sh -c 'sleep 301' & echo started; sleep 302"
  - id: secret
    title: Secret
    commands:
      - run: 'echo "token is $DEMO_TOKEN"; echo {target}'
"""


@pytest.fixture
def ops(tmp_path, monkeypatch):
    monkeypatch.setenv("DEMO_TOKEN", "tok-9f8e7d6c5b")
    hang = (
        "id: hang\ntitle: Hang\nsteps:\n  - id: tree\n    title: Tree\n    commands:\n"
        "      - run: \"setsid sh -c 'sleep 303' & echo started; sleep 304\"\n"
    )
    root = phase_workspace(
        tmp_path / "ws",
        {"ops.yaml": PHASE, "zz-hang.yaml": hang},
        vars={"target": "prod; touch pwned"},
        secrets=["DEMO_TOKEN"],
    )
    ws = Workspace.open(root)
    session = RunSession.start(ws, "standard", "1.0.0", operator="ana")
    yield session
    session.close()


async def run_step(session, step_id, abort_once=None):
    """Start a step under its supervisor through the driver; wait for its outcome.

    ``abort_once``: abort as soon as the step's log has this text (its command runs then).
    """
    driver = RunDriver(session)
    await driver.start_step("ops", step_id, out_of_order="test: steps run alone")
    log = session.log_path("ops", step_id)
    aborting = []
    loop = asyncio.get_running_loop()

    def abort() -> None:
        aborting.append(loop.create_task(driver.abort_step("ops", step_id)))

    def tick() -> None:  # runs in a worker thread (the driver's tick): hand over to the loop
        if abort_once and not aborting and log.exists() and abort_once in log.read_text():
            aborting.append(None)
            loop.call_soon_threadsafe(abort)

    st = await driver.wait_step("ops", step_id, poll=0.05, tick=tick)
    status = attempt_status(session, "ops", step_id)
    return status, st


def log_of(session, step_id):
    return session.log_path("ops", step_id).read_text().splitlines()


async def test_output_is_kept_in_order_with_streams(ops):
    status, outcome = await run_step(ops, "build")
    assert (outcome.state, outcome.exit_code) == ("done", 0)
    lines = [line.split(" ", 2)[1:] for line in log_of(ops, "build")]
    out = [text for tag, text in lines if tag == "O"]
    assert out == ["one", "two", "three", "second command"]
    assert ["E", "oops"] in lines
    st = ops.state.step("ops", "build")
    assert st.state == "done" and [c.exit_code for c in st.commands] == [0, 0]
    assert all(c.pid for c in st.commands)
    # the status file beside the log says the same, written by the supervisor
    assert status["state"] == "done" and status["exit_code"] == 0
    assert [c["exit_code"] for c in status["commands"]] == [0, 0]
    assert status["supervisor"]["pid"] not in (os.getpid(), None)


async def test_first_failure_stops_the_step(ops):
    _, outcome = await run_step(ops, "fails")
    assert (outcome.state, outcome.exit_code) == ("failed", 3)
    assert outcome.reason.endswith("` exited 3") and "failed" not in outcome.reason
    text = "\n".join(log_of(ops, "fails"))
    assert "before" in text and "never" not in text
    assert ops.state.step("ops", "fails").state == "failed"


async def test_allow_failure_goes_on(ops):
    _, outcome = await run_step(ops, "tolerant")
    assert outcome.state == "done"
    assert any(line.endswith("O after") for line in log_of(ops, "tolerant"))


async def test_timeout_stops_the_command_in_words(ops):
    _, outcome = await run_step(ops, "slow")
    assert outcome.state == "failed"
    assert "timed out after 500ms" in outcome.reason
    assert ops.state.step("ops", "slow").commands[0].outcome == "timed out after 500ms"


async def test_abort_leaves_no_process_behind_even_one_that_left_the_session(ops):
    status, outcome = await run_step(ops, "tree", abort_once=" O started")
    assert outcome.state == "aborted"
    assert outcome.reason == "aborted by the operator"
    # every process of the step carries its token: none is left, the setsid one included
    assert own_holders(status["token"]) == []
    for command in status["commands"]:
        assert not psutil.pid_exists(command["pid"]) or (
            psutil.Process(command["pid"]).status() == psutil.STATUS_ZOMBIE
        )


async def test_secrets_are_masked_and_values_cannot_inject(ops):
    await run_step(ops, "secret")
    log = "\n".join(log_of(ops, "secret"))
    assert "tok-9f8e7d6c5b" not in log and "token is ***" in log
    assert "prod; touch pwned" in log
    assert not (ops.ws.root / "pwned").exists()
    every_file = [p for p in ops.dir.rglob("*") if p.is_file()]
    for path in every_file:
        assert "tok-9f8e7d6c5b" not in path.read_text(errors="replace"), path


async def test_done_steps_refuse_to_run_again(ops):
    await run_step(ops, "build")
    with pytest.raises(Exception, match=r"Build is done \(final\)"):
        await run_step(ops, "build")


async def test_a_background_process_holding_the_output_is_still_read(ops, tmp_path):
    """The step's outcome is the command's exit; what the background child prints later
    is still captured by the supervisor (it stays until the output closes)."""
    root = ops.ws.root
    (root / "runbook" / "zz-bg.yaml").write_text(
        "id: bg\ntitle: Bg\nsteps:\n  - id: bg\n    title: Bg\n    commands:\n"
        '      - run: "(sleep 1; echo late line) & echo early; exit 0"\n'
    )
    session = RunSession(Workspace.open(root), ops.run_id)
    driver = RunDriver(session)
    await driver.start_step("bg", "bg")
    st = await driver.wait_step("bg", "bg", poll=0.05)
    assert (st.state, st.exit_code) == ("done", 0)
    log = session.log_path("bg", "bg")
    for _ in range(100):  # bounded wait for the background child's line
        if " O late line" in log.read_text():
            break
        await asyncio.sleep(0.05)
    text = log.read_text()
    assert any(line.endswith(" O late line") for line in text.splitlines()), text
    session.close()


def _start_headless(ops, phase):
    env = {**os.environ, "COCKPIT_OPERATOR": "ana"}
    proc = subprocess.Popen(
        cockpit_cmd("--workspace", str(ops.ws.root), "run", phase, "--headless", "--yes"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    for _ in range(300):  # until the tree step's command is running
        events = read_journal(ops.journal_path).events
        if any(e["type"] == "command.started" and e.get("step") == "tree" for e in events):
            return proc
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the step never started")


async def test_a_killed_cockpit_leaves_the_step_to_its_supervisor_then_abort_stops_it(ops):
    proc = _start_headless(ops, "hang")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    again = RunSession(ops.ws, ops.run_id)
    driver = RunDriver(again)
    found = await driver.reconcile()
    assert [(f.phase, f.step, f.what) for f in found] == [("hang", "tree", "running")]
    status = attempt_status(again, "hang", "tree")
    assert await driver.abort_step("hang", "tree") == []
    st = again.state.step("hang", "tree")
    assert (st.state, st.reason) == ("aborted", "aborted by the operator")
    assert own_holders(status["token"]) == []
    again.close()


def _orphaned(ops) -> tuple[RunSession, dict]:
    """A step whose cockpit and supervisor were both killed while its command runs."""
    proc = _start_headless(ops, "hang")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    again = RunSession(ops.ws, ops.run_id)
    status = attempt_status(again, "hang", "tree")
    supervisor = psutil.Process(status["supervisor"]["pid"])
    supervisor.kill()
    supervisor.wait(5)
    return again, status


async def test_a_vanished_supervisor_leaves_an_orphan_that_can_be_killed(ops):
    again, status = _orphaned(ops)
    driver = RunDriver(again)
    found = await driver.reconcile()
    assert [(f.step, f.what) for f in found] == [("tree", "orphan")]
    assert await driver.kill_orphan("hang", "tree") == []
    st = again.state.step("hang", "tree")
    assert st.state == "aborted" and "orphaned command killed" in st.reason
    finished = [e for e in read_journal(again.journal_path).events if e["type"] == "step.finished"]
    assert finished[-1]["duration_s"] > 0  # the time since it started: all that is known
    assert own_holders(status["token"]) == []
    # the status file and the log's last line say what the journal says
    after = attempt_status(again, "hang", "tree")
    assert (after["state"], after["reason"]) == ("aborted", st.reason)
    last = again.log_path("hang", "tree").read_text().splitlines()[-1]
    assert " # === step aborted, recorded by the cockpit: orphaned command killed" in last
    again.close()


async def test_an_orphan_that_ends_while_followed_is_recorded_as_such(ops):
    again, status = _orphaned(ops)
    driver = RunDriver(again)
    assert [f.what for f in await driver.reconcile()] == ["orphan"]
    await stop_tree(None, status["token"])  # the command ends on its own, say
    found = await driver.reconcile()  # what the TUI's liveness check does every second
    st = again.state.step("hang", "tree")
    assert [f.what for f in found] == ["vanished"] and st.state == "failed"
    assert st.reason == ORPHAN_ENDED  # not "stopped before the command ended"
    assert attempt_status(again, "hang", "tree")["state"] == "failed"
    again.close()
