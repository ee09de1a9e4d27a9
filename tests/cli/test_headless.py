"""`cockpit run PHASE --headless` and `cockpit demo --headless` as real processes."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from cockpit.journal import read_journal
from tests.helpers import cockpit_cmd, own_holders, phase_workspace, set_var, wait_for

PHASE = """\
id: ship
title: Ship
steps:
  - id: prepare
    title: Prepare
    budget: 1m
    commands:
      - run: "echo preparing {version}"
  - id: apply
    title: Apply
    budget: 1m
    confirm: production
    commands:
      - run: "{tool} apply"
"""


@pytest.fixture
def workspace(tmp_path):
    root = phase_workspace(tmp_path / "ws", {"ship.yaml": PHASE}, vars={"tool": "echo"})
    env = {**os.environ, "COCKPIT_OPERATOR": "ana"}
    subprocess.run(
        cockpit_cmd("start", "--type", "patch", "--version", "2.0.1"),
        cwd=root,
        check=True,
        env=env,
        capture_output=True,
    )
    return root


def set_tool(root, tool):
    set_var(root, "tool", tool)


def run(root, *args, stdin=subprocess.DEVNULL):
    return subprocess.run(
        cockpit_cmd("run", "ship", *args),
        cwd=root,
        capture_output=True,
        text=True,
        stdin=stdin,
        timeout=120,
    )


def test_dry_run_shows_commands_and_runs_nothing(workspace):
    result = run(workspace, "--dry-run")
    assert result.returncode == 0
    assert "$ echo preparing 2.0.1" in result.stdout
    assert "[confirm: type 'production']" in result.stdout
    assert not list(workspace.glob(".cockpit/runs/*/logs"))


def test_confirm_step_refused_without_a_terminal(workspace):
    result = run(workspace, "--headless")
    assert result.returncode == 2
    assert "needs confirmation (type 'production')" in result.stderr
    assert "preparing 2.0.1" in result.stdout  # the step before it ran


def test_yes_runs_everything_and_prints_the_table(workspace):
    result = run(workspace, "--headless", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "==> [1/2] Prepare, budget 1m" in result.stdout
    assert "  preparing 2.0.1" in result.stdout
    assert "  apply" in result.stdout
    assert "STEP" in result.stdout and "Apply" in result.stdout
    log = next(workspace.glob(".cockpit/runs/*/logs/ship/apply.log")).read_text()
    assert " O apply" in log


def test_a_failing_step_exits_1(workspace):
    set_tool(workspace, "false")
    result = run(workspace, "--headless", "--yes")
    assert result.returncode == 1
    assert "step failed: `false apply` exited 1" in result.stdout


def test_ctrl_c_aborts_exit_3_and_leaves_nothing(workspace):
    set_tool(workspace, "sh -c 'sleep 120 & sleep 121' --")
    proc = subprocess.Popen(
        cockpit_cmd("run", "ship", "--headless", "--yes"),
        cwd=workspace,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    journal = next(workspace.glob(".cockpit/runs/*/journal.jsonl"))
    wait_for(
        lambda: any(
            e["type"] == "command.started" and e["step"] == "apply"
            for e in read_journal(journal).events
        ),
        "the apply step runs",
    )
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, out + err
    assert "interrupted: aborting the running step" in out
    assert "aborted" in out
    events = read_journal(journal).events
    token = next(e["token"] for e in events if e["type"] == "command.started")
    assert own_holders(token) == []  # the step's whole tree is gone (its own token, nothing else)
    finished = [e for e in events if e["type"] == "step.finished"]
    assert finished[-1]["state"] == "aborted"
    assert events[-1]["type"] == "lock.released"  # the driver left cleanly


def test_unknown_phase_is_named(workspace):
    result = subprocess.run(
        cockpit_cmd("run", "deploy", "--headless"), cwd=workspace, capture_output=True, text=True
    )
    assert result.returncode == 2 and "no phase 'deploy'" in result.stderr


def test_demo_headless_drives_a_whole_release(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path), "COCKPIT_DEMO_WORKFLOW_SECONDS": "3"}
    result = subprocess.run(
        cockpit_cmd("demo", "--headless"), capture_output=True, text=True, timeout=300, env=env
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    out = result.stdout
    assert "production baseline: p50" in out
    for title in (
        "Pre-Deployment Validation",
        "Database Migration",
        "Application Deployment",
        "Post-Deployment Validation",
    ):
        assert f"{title}" in out
    assert "Production Deployment                    complete" in out
    assert "Post-Deployment Activities               complete" in out
    assert "3 migrations applied" in out
    assert "post-deploy check passed" in out
    # the deploy is the simulated GitHub's workflow, followed to its conclusion
    assert "dispatched deploy-production.yml @ main on dirt-free/crm" in out
    for line in ("job build: success", "job deploy › Deploy to Vercel: success", "job smoke"):
        assert line in out
    assert "concluded success (https://github.com/dirt-free/crm/actions/runs/" in out
    assert "demo-token" not in out + result.stderr
