"""A step's ``workflow:`` command: a GitHub Actions run dispatched through the REST API and
followed to its conclusion by the step's supervisor, driven through the real CLI
(``cockpit run PHASE --headless --yes`` as a subprocess) against ``SimGitHub`` on loopback
in this process: success after several polls, a failed job named, a 502 mid-follow, a
dispatch without run details, an abort that cancels the run, a wrong token, bad YAML."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest

from cockpit.simgithub import SimGitHub
from tests.helpers import cockpit_cmd, phase_workspace, run_cli, subprocess_env, wait_for

TOKEN = "ghp-sim-Secret-Token-4711"
PHASE = """\
id: deploy
title: Production Deployment
steps:
  - id: ship
    title: Application Deployment
    budget: 20m
    commands:
      - workflow:
          file: deploy-production.yml
          ref: "{git_ref}"
          inputs: {confirm_production: "true", version: "{version}"}
"""


@pytest.fixture
def sim():
    with SimGitHub(token=TOKEN, duration=1.5) as server:
        yield server


def workspace(tmp_path, sim, phase=PHASE, **github):
    settings = {"api_url": sim.api_url, "repo": "acme/shop", "token_env": "GH_TOKEN"}
    return phase_workspace(
        tmp_path / "ws",
        {"deploy.yaml": phase},
        vars={"git_ref": "main"},
        github={**settings, "poll": "200ms", **github},
    )


def cockpit(root, *args, token=TOKEN):
    return run_cli(root, *args, env=subprocess_env(GH_TOKEN=token))


def started(root):
    done = cockpit(root, "start", "--type", "standard", "--version", "3.1.0")
    assert done.returncode == 0, done.stderr
    return root


def files(root):
    log = next(root.glob(".cockpit/runs/*/logs/deploy/ship.log")).read_text()
    status = json.loads(next(root.glob(".cockpit/runs/*/logs/deploy/ship.status")).read_text())
    journal = [
        json.loads(line)
        for line in next(root.glob(".cockpit/runs/*/journal.jsonl")).read_text().splitlines()
    ]
    return log, status, journal


def step_state(root):
    doc = json.loads(cockpit(root, "status", "--json").stdout)
    return next(s for s in doc["phases"][0]["steps"] if s["id"] == "ship")


def test_a_workflow_that_succeeds_after_several_polls_is_done_with_its_url(tmp_path, sim):
    root = started(workspace(tmp_path, sim))
    dry = cockpit(root, "run", "deploy", "--headless", "--dry-run")
    shown = "workflow deploy-production.yml @ main (confirm_production=true, version=3.1.0)"
    assert f"$ {shown} on acme/shop" in dry.stdout, dry.stdout + dry.stderr
    assert not sim.runs  # a dry run dispatches nothing
    ran = cockpit(root, "run", "deploy", "--headless", "--yes")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    (run,) = sim.runs.values()
    assert (run.ref, run.inputs) == ("main", {"confirm_production": "true", "version": "3.1.0"})
    polls = [p for m, p, _ in sim.requests if m == "GET" and p.endswith(f"/runs/{run.id}")]
    assert len(polls) >= 3
    headers = sim.requests[0][2]
    assert headers["Accept"] == "application/vnd.github+json"
    assert headers["X-GitHub-Api-Version"] == "2022-11-28"
    url = f"https://github.com/acme/shop/actions/runs/{run.id}"
    log, status, journal = files(root)
    for line in (
        f"workflow run {run.id}: {url}",
        "job build › Run tests: success",
        "job deploy › Deploy to Vercel: success",
        "job deploy: success",
        f"run {run.id}: completed, success",
    ):
        assert line in log and line in ran.stdout
    assert (status["state"], status["commands"][0]["url"]) == ("done", url)
    assert status["commands"][0]["workflow_run"] == run.id
    begun = [e for e in journal if e["type"] == "command.started"]
    assert (begun[0]["url"], begun[0]["workflow_run"]) == (url, run.id)
    assert step_state(root)["state"] == "done"


def test_a_failed_workflow_fails_the_step_naming_the_failed_job(tmp_path, sim):
    sim.conclusion, sim.failing_job = "failure", "deploy"
    root = started(workspace(tmp_path, sim))
    ran = cockpit(root, "run", "deploy", "--headless", "--yes")
    assert ran.returncode == 1, ran.stdout + ran.stderr
    log, status, journal = files(root)
    assert "job deploy › Deploy to Vercel: failure" in log
    assert "job deploy › Smoke test: skipped" in log
    finished = [e for e in journal if e["type"] == "step.finished"][-1]
    assert finished["state"] == "failed"
    assert (
        "concluded failure; failed job: deploy (failure at step 'Deploy to Vercel')"
        in (finished["reason"])
    )
    assert status["state"] == "failed" and "failed job: deploy" in status["reason"]


def deploying(root) -> subprocess.Popen:
    """``cockpit run deploy --headless --yes`` running in the background, with the token."""
    return subprocess.Popen(
        cockpit_cmd("--workspace", str(root), "run", "deploy", "--headless", "--yes"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=subprocess_env(GH_TOKEN=TOKEN),
    )


def wait_followed(root) -> None:
    """Until the step's supervisor follows the dispatched run (its jobs are in the log)."""
    wait_for(
        lambda: (
            list(root.glob(".cockpit/runs/*/logs/deploy/ship.status"))
            and "job deploy: queued" in files(root)[0]
        ),
        "the run is followed",
    )


def test_a_502_mid_follow_is_retried_and_the_step_still_done(tmp_path, sim):
    root = started(workspace(tmp_path, sim))
    proc = deploying(root)
    wait_for(lambda: sim.runs, "the workflow is dispatched")
    sim.fail_next(2, "/actions/runs/")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    log, _, _ = files(root)
    assert "GitHub answered 502 Bad Gateway; retrying in" in log
    assert "GitHub API answers again" in log
    assert not sim._fail  # both 502s were served


def test_a_dispatch_without_run_details_is_found_by_listing(tmp_path, sim):
    sim.details = "ignore"  # an older server: 204, no body
    root = started(workspace(tmp_path, sim))
    ran = cockpit(root, "run", "deploy", "--headless", "--yes")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    (run,) = sim.runs.values()
    log, status, _ = files(root)
    assert "GitHub did not say which run it started: looking for it" in log
    assert status["commands"][0]["workflow_run"] == run.id


def test_a_server_refusing_the_run_details_key_is_asked_again_without_it(tmp_path, sim):
    sim.details = "refuse"  # 422 for return_run_details: nothing was dispatched
    root = started(workspace(tmp_path, sim))
    ran = cockpit(root, "run", "deploy", "--headless", "--yes")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert len(sim.runs) == 1


def test_an_abort_cancels_the_workflow_run(tmp_path, sim):
    sim.duration = 60.0
    root = started(workspace(tmp_path, sim))
    proc = deploying(root)
    wait_followed(root)
    os.kill(proc.pid, signal.SIGINT)  # Ctrl-C aborts the running step
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 3, out
    (run,) = sim.runs.values()
    assert sim.cancels == [run.id]
    log, status, journal = files(root)
    assert f"cancelling workflow run {run.id} on GitHub" in log
    assert f"run {run.id}: completed, cancelled" in log
    assert status["state"] == "aborted"
    finished = [e for e in journal if e["type"] == "command.finished"][-1]
    assert f"workflow run {run.id} cancelled" in finished["outcome"]


def test_a_wrong_token_fails_in_words_and_is_never_shown(tmp_path, sim):
    root = started(workspace(tmp_path, sim))
    wrong = "ghp-Wrong-Token-0815"
    ran = cockpit(root, "run", "deploy", "--headless", "--yes", token=wrong)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert not sim.runs
    log, status, journal = files(root)
    assert "401 Bad credentials (the token is wrong or expired)" in status["reason"]
    assert f"{sim.api_url}/repos/acme/shop/actions/workflows/deploy-production.yml" in log
    everything = log + json.dumps(status) + json.dumps(journal) + ran.stdout + ran.stderr
    assert wrong not in everything and TOKEN not in everything
    unset = cockpit(root, "run", "deploy", "--headless", "--yes", token="")
    assert unset.returncode == 1
    assert "no GitHub token: $GH_TOKEN is not set" in files(root)[1]["reason"]


BAD = """\
id: deploy
title: Production Deployment
steps:
  - id: ship
    title: Application Deployment
    commands:
      - workflow: {file: deploy-production.yml, ref: "{no_such_ref}"}
      - workflow: {ref: main}
      - workflow: {file: deploy.yml, ref: main, inputs: {dry_run: true}}
      - workflow: {file: "../x", ref: main, branch: main}
      - {run: "echo hi", workflow: {file: deploy.yml, ref: main}}
"""


def test_a_bad_workflow_command_is_file_and_line(tmp_path, sim):
    root = workspace(tmp_path, sim, phase=BAD)
    checked = cockpit(root, "validate")
    assert checked.returncode == 2, checked.stdout + checked.stderr
    said = checked.stdout + checked.stderr
    assert "deploy.yaml:7: unknown placeholder {no_such_ref}" in said
    assert "deploy.yaml:8: missing required key 'file' in steps[0].commands[1].workflow" in said
    assert "deploy.yaml:9: steps[0].commands[2].workflow.inputs.dry_run: expected text" in said
    assert "deploy.yaml:10: unknown key 'branch'" in said
    assert "'../x' is not a workflow file name" in said
    assert "deploy.yaml:11: steps[0].commands[4]: a command needs exactly one of" in said
    assert "Traceback" not in said


def test_a_workflow_without_github_configured_is_file_and_line(tmp_path):
    root = phase_workspace(tmp_path / "ws", {"deploy.yaml": PHASE}, vars={"git_ref": "main"})
    checked = cockpit(root, "validate")
    assert checked.returncode == 2
    assert "deploy.yaml:8: a 'workflow:' command needs GitHub configured" in checked.stdout + (
        checked.stderr
    )


def test_a_supervisor_killed_mid_follow_is_re_attached_to_the_same_run(tmp_path, sim):
    sim.duration = 4.0
    root = started(workspace(tmp_path, sim))
    proc = deploying(root)
    wait_followed(root)
    _, status, _ = files(root)
    os.kill(proc.pid, signal.SIGKILL)  # the cockpit and the step's supervisor both die
    os.kill(status["supervisor"]["pid"], signal.SIGKILL)
    proc.communicate(timeout=30)
    (run,) = sim.runs.values()
    again = cockpit(root, "run", "deploy", "--headless", "--yes")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"re-attached to workflow run {run.id}" in again.stdout
    assert len(sim.runs) == 1 and sim.cancels == []  # never dispatched twice
    log, status, journal = files(root)
    assert "=== re-attached: Application Deployment (attempt 1)" in log
    assert f"run {run.id}: completed, success" in log
    assert log.count("$ workflow deploy-production.yml") == 1
    assert (status["state"], status["attempt"]) == ("done", 1)
    assert status["commands"][0]["workflow_run"] == run.id
    assert status["commands"][0]["exit_code"] == 0
    starts = [e for e in journal if e["type"] == "step.started"]
    assert len(starts) == 1
    assert step_state(root)["state"] == "done"
