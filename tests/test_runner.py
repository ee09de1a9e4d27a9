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

from cockpit.journal import read_journal
from cockpit.proctree import holders
from cockpit.runner import StepRunner
from cockpit.session import RunSession
from cockpit.workspace import Workspace

from .conftest import cockpit_cmd, phase_workspace

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


async def run_step(session, step_id, on_output=None, abort_after=None):
    async def record(intent):
        await asyncio.to_thread(session.write, intent)
        session.refresh()

    runner = StepRunner(session, "ops", step_id, record, on_output)
    if abort_after is not None:

        async def later():
            await asyncio.sleep(abort_after)
            runner.abort()

        asyncio.get_running_loop().create_task(later())
    return runner, await runner.run()


def log_of(session, step_id):
    return session.log_path("ops", step_id).read_text().splitlines()


async def test_output_is_kept_in_order_with_streams(ops):
    seen = []
    _, outcome = await run_step(
        ops, "build", lambda stream, lines, ts: seen.extend((stream, x) for x in lines)
    )
    assert (outcome.state, outcome.exit_code) == ("done", 0)
    lines = [line.split(" ", 2)[1:] for line in log_of(ops, "build")]
    out = [text for tag, text in lines if tag == "O"]
    assert out == ["one", "two", "three", "second command"]
    assert ["E", "oops"] in lines
    assert ("O", b"one") in seen
    st = ops.state.step("ops", "build")
    assert st.state == "done" and [c.exit_code for c in st.commands] == [0, 0]
    assert all(c.pid for c in st.commands)


async def test_first_failure_stops_the_step(ops):
    _, outcome = await run_step(ops, "fails")
    assert (outcome.state, outcome.exit_code) == ("failed", 3)
    assert "failed: exit 3" in outcome.reason
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
    runner, outcome = await run_step(ops, "tree", abort_after=1.0)
    assert outcome.state == "aborted"
    assert holders(runner.token) == []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        assert "sleep 301" not in cmd and "sleep 300" not in cmd and "sleep 302" not in cmd


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
    with pytest.raises(Exception, match="is done"):
        await run_step(ops, "build")


def test_orphan_of_a_killed_cockpit_is_detected(ops, tmp_path):
    env = {**os.environ, "COCKPIT_OPERATOR": "ana"}
    proc = subprocess.Popen(
        cockpit_cmd("--workspace", str(ops.ws.root), "run", "hang", "--headless", "--yes"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    journal = ops.journal_path
    for _ in range(300):  # until the tree step's command is running
        events = read_journal(journal).events
        if any(e["type"] == "command.started" and e.get("step") == "tree" for e in events):
            break
        time.sleep(0.05)
    else:
        proc.kill()
        raise AssertionError(proc.communicate()[0])
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    again = RunSession(ops.ws, ops.run_id)
    stale = again.stale_steps()
    assert [(p, s, alive) for p, s, _, _, alive in stale] == [("hang", "tree", True)]
    command = stale[0][3]
    from cockpit.proctree import stop_tree

    assert asyncio.run(stop_tree(command.pid, command.token)) == []
    assert again.stale_steps()[0][4] is False
