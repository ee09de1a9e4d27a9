"""A workflow step's GitHub Actions run where people look after it ran — ``status --json``
(the step's commands), ``report`` (markdown and JSON) — and the demo's GitHub: the
``gh`` stand-in dispatches and returns as gh does, the demo's "fail next" fails the next
workflow run, a sandbox without the simulated GitHub never reaches the real one. Real
CLI subprocesses against ``SimGitHub`` on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
import yaml

from cockpit.demo_commands import FAIL_FLAG, GITHUB_API_VAR, arm_failure
from cockpit.demo_sandbox import (
    WORKFLOW_SECONDS_VAR,
    abort_left_running,
    demo_github,
    write_config,
)
from cockpit.errors import CockpitError
from cockpit.simgithub import SimGitHub
from cockpit.workspace import Workspace
from tests.cli.test_workflow_step import (
    TOKEN,
    cockpit,
    deploying,
    started,
    wait_followed,
    workspace,
)
from tests.helpers import subprocess_env


@pytest.fixture
def sim():
    with SimGitHub(token=TOKEN, duration=1.0) as server:
        yield server


def test_status_json_and_the_report_show_the_run_and_its_page(tmp_path, sim):
    root = started(workspace(tmp_path, sim))
    ran = cockpit(root, "run", "deploy", "--headless", "--yes")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    (run,) = sim.runs.values()
    url = f"https://github.com/acme/shop/actions/runs/{run.id}"
    doc = json.loads(cockpit(root, "status", "--json").stdout)
    (step,) = doc["phases"][0]["steps"]
    (command,) = step["commands"]
    assert (command["workflow_run"], command["url"], command["exit_code"]) == (run.id, url, 0)
    assert command["command"].startswith("workflow deploy-production.yml @ main")
    assert command["started_at"] and command["finished_at"]
    report = cockpit(root, "report")
    assert report.returncode == 0, report.stderr
    assert f"Application Deployment: workflow run {run.id}: {url}" in report.stdout
    data = json.loads(cockpit(root, "report", "--format", "json").stdout)
    (shown,) = [s for s in data["steps"] if s["step"] == "ship"]
    assert shown["workflow_runs"] == [{"id": run.id, "url": url}]
    assert TOKEN not in report.stdout + json.dumps(doc) + json.dumps(data)


def test_demo_fail_next_makes_the_next_workflow_run_conclude_failure(tmp_path, sim):
    root = started(workspace(tmp_path, sim))
    sim.fail_flag = root / FAIL_FLAG
    arm_failure(root)
    ran = cockpit(root, "run", "deploy", "--headless", "--yes")
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "concluded failure; failed job: deploy" in ran.stdout
    assert not (root / FAIL_FLAG).exists()  # once
    (run,) = sim.runs.values()
    assert run.conclusion == "failure"


def test_the_demo_gh_dispatches_and_returns_without_following(tmp_path, sim):
    env = subprocess_env(GH_TOKEN=TOKEN, **{GITHUB_API_VAR: f"{sim.api_url}/repos/{sim.repo}"})
    args = ["workflow", "run", "deploy-production.yml", "--ref", "production-v1.2.1"]
    done = subprocess.run(
        [sys.executable, "-m", "cockpit.demo_commands", "gh", *args, "-f", "confirm=true"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "✓ Created workflow_dispatch event for deploy-production.yml at production-v1.2.1" in (
        done.stdout
    )
    assert "completed" not in done.stdout and "success" not in done.stdout
    (run,) = sim.runs.values()
    assert (run.ref, run.inputs) == ("production-v1.2.1", {"confirm": "true"})
    env.pop(GITHUB_API_VAR)
    alone = subprocess.run(
        [sys.executable, "-m", "cockpit.demo_commands", "gh", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert alone.returncode == 4 and "gh auth login" in alone.stderr


def test_a_sandbox_without_the_simulated_github_points_at_loopback(tmp_path):
    write_config(tmp_path, "http://127.0.0.1:1", "http://127.0.0.1:2", demo_tools=False)
    github = yaml.safe_load((tmp_path / "cockpit.yaml").read_text())["github"]
    assert github["api_url"].startswith("http://127.0.0.1:")
    assert (github["repo"], github["token_env"]) == ("dirt-free/crm", "GH_TOKEN")


def test_the_demo_github_duration_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(WORKFLOW_SECONDS_VAR, "2.5")
    monkeypatch.setenv("GH_TOKEN", "the operator's own")
    with demo_github() as github:
        assert github.duration == 2.5
        assert os.environ["GH_TOKEN"] == "demo-token"
    assert os.environ["GH_TOKEN"] == "the operator's own"  # restored after the demo
    monkeypatch.setenv(WORKFLOW_SECONDS_VAR, "soon")
    with pytest.raises(CockpitError, match="expected a number of seconds"), demo_github():
        pass


def test_a_workflow_left_running_as_the_demo_ends_is_aborted_and_cancelled(tmp_path, sim):
    sim.duration = 60.0
    root = started(workspace(tmp_path, sim))
    proc = deploying(root)
    wait_followed(root)
    os.kill(proc.pid, signal.SIGTERM)  # the cockpit goes; the step runs on
    proc.communicate(timeout=60)
    ws = Workspace.open(root)
    (words,) = abort_left_running(ws, ws.active_run_id())
    assert words.startswith("Application Deployment was still running: aborted")
    (run,) = sim.runs.values()
    assert sim.cancels == [run.id]
    assert f"workflow run {run.id} cancelled" in words
    assert abort_left_running(ws, ws.active_run_id()) == []  # nothing left
