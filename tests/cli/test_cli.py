"""The CLI as a user runs it: real subprocesses, exit codes, messages in words."""

from __future__ import annotations

import json
import subprocess

from tests.helpers import cockpit_cmd


def cockpit(cwd, *args):
    return subprocess.run(cockpit_cmd(*args), cwd=cwd, capture_output=True, text=True, timeout=60)


def test_version_flag(tmp_path):
    result = cockpit(tmp_path, "--version")
    assert result.returncode == 0 and result.stdout.startswith("cockpit ")


def test_start_runs_status_check_flow(workspace_dir):
    started = cockpit(workspace_dir, "start", "--type", "standard")
    assert started.returncode == 0, started.stderr
    assert "standard release 1.3.0 by ana" in started.stdout
    assert "production is at 1.2.0" in started.stdout

    runs = cockpit(workspace_dir, "runs")
    assert "standard" in runs.stdout and "open (active)" in runs.stdout

    ticked = cockpit(
        workspace_dir,
        "check",
        "pre-release-gates",
        "unit-tests-pass-90-coverage",
        "--note",
        "coverage 93%",
        "--no-verify",  # the gate verifies itself from CI; by hand it needs the note
    )
    assert ticked.returncode == 0, ticked.stderr

    status = json.loads(cockpit(workspace_dir, "status", "--json").stdout)
    gate = next(i for i in status["phases"][0]["items"] if i["id"] == "unit-tests-pass-90-coverage")
    assert (gate["checked"], gate["by"], gate["note"]) == (True, "ana", "coverage 93%")

    undone = cockpit(
        workspace_dir, "check", "pre-release-gates", "unit-tests-pass-90-coverage", "--undo"
    )
    assert undone.returncode == 0
    status = json.loads(cockpit(workspace_dir, "status", "--json").stdout)
    gate = next(i for i in status["phases"][0]["items"] if i["id"] == "unit-tests-pass-90-coverage")
    assert gate["checked"] is False

    text = cockpit(workspace_dir, "status").stdout
    assert "pre-production" in text and "LOCKED" in text


def test_refusals_exit_2_with_words(workspace_dir):
    assert cockpit(workspace_dir, "status").returncode == 2
    cockpit(workspace_dir, "start", "--type", "standard")
    locked = cockpit(workspace_dir, "check", "pre-production", "staging-healthy")
    assert locked.returncode == 2 and "locked until" in locked.stderr
    unknown = cockpit(workspace_dir, "check", "pre-production", "nope")
    assert unknown.returncode == 2 and "no item 'nope'" in unknown.stderr
    usage = cockpit(workspace_dir, "start", "--type", "weekly")
    assert usage.returncode == 2 and "unknown release type 'weekly'" in usage.stderr
    assert "release types: standard, patch, hotfix, major" in usage.stderr
    for result in (locked, unknown, usage):
        assert "Traceback" not in result.stderr


def test_broken_config_in_workspace_names_file_and_line(workspace_dir):
    (workspace_dir / "cockpit.yaml").write_text("environments:\n  staging: {url: 42}\n")
    result = cockpit(workspace_dir, "runs")
    assert result.returncode == 2
    assert (
        "cockpit.yaml:2: environments.staging.url: expected text, got the number 42"
        in result.stderr
    )


def test_state_dir_from_environment(workspace_dir, tmp_path):
    state = tmp_path / "elsewhere"
    env_cmd = cockpit_cmd("start", "--type", "patch")
    import os

    result = subprocess.run(
        env_cmd,
        cwd=workspace_dir,
        capture_output=True,
        text=True,
        env={**os.environ, "COCKPIT_STATE_DIR": str(state)},
    )
    assert result.returncode == 0, result.stderr
    assert list(state.glob("runs/*/journal.jsonl"))
    assert not (workspace_dir / ".cockpit").exists()


def test_close_makes_the_run_inactive(workspace_dir):
    cockpit(workspace_dir, "start", "--type", "standard")
    closed = cockpit(workspace_dir, "close", "--note", "released 1.3.0")
    assert closed.returncode == 0 and closed.stdout.startswith("closed ")
    assert "closed" in cockpit(workspace_dir, "runs").stdout
    again = cockpit(workspace_dir, "status")
    assert again.returncode == 2 and "no active run" in again.stderr


def test_status_lists_steps_that_ran(workspace_dir):
    cockpit(workspace_dir, "start", "--type", "standard")
    from cockpit.session import RunSession
    from cockpit.workspace import Workspace

    ws = Workspace.open(workspace_dir)
    session = RunSession(ws, ws.active_run_id())
    session.override("production-deploy", "test")
    session.write(
        session.plan_step_skip("production-deploy", "pre-deployment-validation", "checked by hand")
    )
    text = cockpit(workspace_dir, "status").stdout
    assert "step pre-deployment-validation" in text and "skipped — checked by hand" in text
