"""Items that verify themselves from CI (``auto: {github_check:}``, ``auto: {workflow:}``)
and the GitHub release, against the loopback GitHub stand-in: real sockets, real httpx,
``cockpit check`` as a real process."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from cockpit.errors import CockpitError
from cockpit.journal import read_journal
from cockpit.release_actions import do_create_release
from cockpit.session import RunSession
from cockpit.simgithub import SimGitHub
from cockpit.workspace import Workspace
from tests.helpers import run_cli, subprocess_env

GATES = "pre-release-gates"
TOKEN = "sim-token-7f3a9c"


def use_sim(root: Path, sim: SimGitHub) -> None:
    """Point the workspace's config ``github:`` at the stand-in."""
    path = root / "cockpit.yaml"
    config = yaml.safe_load(path.read_text())
    config["github"] = {"api_url": sim.api_url, "repo": sim.repo, "token_env": "GH_TOKEN"}
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def head(root: Path, rev: str = "HEAD") -> str:
    out = subprocess.run(["git", "-C", str(root), "rev-parse", rev], capture_output=True, text=True)
    return out.stdout.strip()


@pytest.fixture
def sim():
    with SimGitHub(token=TOKEN) as server:
        yield server


@pytest.fixture
def run(workspace_dir, sim):
    """A started standard run (1.3.0) whose config points at the stand-in."""
    use_sim(workspace_dir, sim)
    RunSession.start(Workspace.open(workspace_dir), "standard", operator="ana").close()
    return workspace_dir


def check(root: Path, item: str, phase: str = GATES, token: str | None = TOKEN):
    env = subprocess_env(GH_TOKEN=token) if token else subprocess_env()
    if token is None:
        env.pop("GH_TOKEN", None)
    return run_cli(root, "check", phase, item, env=env)


def events(root: Path, kind: str) -> list[dict]:
    (path,) = (root / ".cockpit" / "runs").glob("*/journal.jsonl")
    return [e for e in read_journal(path).events if e["type"] == kind]


def test_a_passed_check_ticks_the_gate_with_its_evidence(run, sim):
    sha = head(run)
    sim.set_check(sha, "typecheck", "success")
    out = check(run, "typescript-compilation-passes")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (
        f"verified and ticked {GATES}/typescript-compilation-passes: "
        f"check 'typecheck' concluded success on {sha[:7]} (HEAD)"
    )
    (ticked,) = events(run, "item.checked")
    evidence = ticked["evidence"]
    assert (evidence["name"], evidence["conclusion"], evidence["sha"]) == (
        "typecheck",
        "success",
        sha,
    )
    assert evidence["url"] == f"https://github.com/{sim.repo}/runs/1"
    assert evidence["source"] == "check run"
    asked = [r for r in sim.requests if "check-runs" in r[1]]
    assert asked[0][1] == f"/repos/{sim.repo}/commits/{sha}/check-runs"
    assert asked[0][2]["Authorization"] == f"Bearer {TOKEN}"


def test_a_failed_running_or_missing_check_leaves_the_gate_unticked_and_says_why(run, sim):
    sha = head(run)
    sim.set_check(sha, "lint", "failure")
    sim.set_check(sha, "unit-tests", None)  # still in progress
    failed = check(run, "eslint-checks-pass-with-zero-errors")
    assert failed.returncode == 1
    assert (
        f"not verified: check 'lint' concluded failure on {sha[:7]} (HEAD), not success"
        in failed.stderr
    )
    running = check(run, "unit-tests-pass-90-coverage")
    assert running.returncode == 1
    assert "check 'unit-tests' is still running (in_progress)" in running.stderr
    assert "verify again when it ends" in running.stderr
    missing = check(run, "security-vulnerability-scan-passes")
    assert missing.returncode == 1
    assert "no check run or commit status named 'security-scan'" in missing.stderr
    for out in (failed, running, missing):
        assert "Traceback" not in out.stderr
    assert events(run, "item.checked") == []
    found = {e["item"]: e["evidence"] for e in events(run, "item.verification_failed")}
    assert found["eslint-checks-pass-with-zero-errors"]["conclusion"] == "failure"
    assert found["eslint-checks-pass-with-zero-errors"]["url"].endswith("/runs/1")
    assert found["unit-tests-pass-90-coverage"]["state"] == "running"
    assert found["security-vulnerability-scan-passes"]["state"] == "missing"
    assert {e["sha"] for e in found.values()} == {sha}


def test_a_commit_status_of_that_context_counts_and_a_502_is_retried(run, sim):
    sha = head(run)
    sim.set_status(sha, "security-scan", "success")
    sim.fail_next(1, "/status")
    out = check(run, "security-vulnerability-scan-passes")
    assert out.returncode == 0, out.stderr
    (ticked,) = events(run, "item.checked")
    assert ticked["evidence"]["source"] == "commit status"
    sim.set_status(sha, "security-scan", "pending")
    assert (
        run_cli(run, "check", GATES, "security-vulnerability-scan-passes", "--undo").returncode == 0
    )
    again = check(run, "security-vulnerability-scan-passes")
    assert again.returncode == 1 and "still running (pending)" in again.stderr


def test_the_release_commit_is_the_production_tag_when_there_is_one(run, sim):
    tagged = head(run, "HEAD~1")
    subprocess.run(["git", "-C", str(run), "tag", "production-v1.3.0", tagged], check=True)
    sim.set_check(head(run), "typecheck", "failure")  # HEAD is not what is released
    sim.set_check(tagged, "typecheck", "success")
    out = check(run, "typescript-compilation-passes")
    assert out.returncode == 0, out.stderr
    assert f"on {tagged[:7]} (production-v1.3.0)" in out.stdout


def test_before_the_production_tag_the_release_candidate_tag_is_the_release_commit(run, sim):
    candidate = head(run, "HEAD~1")
    subprocess.run(["git", "-C", str(run), "tag", "rc-v1.3.0", candidate], check=True)
    sim.set_check(head(run), "typecheck", "failure")  # HEAD moved on past the candidate
    sim.set_check(candidate, "typecheck", "success")
    out = check(run, "typescript-compilation-passes")
    assert out.returncode == 0, out.stderr
    assert f"on {candidate[:7]} (rc-v1.3.0)" in out.stdout


def test_staging_deployment_verifies_from_its_workflow_run(run, sim):
    sha = head(run)
    item = "deploy-to-vercel-staging-environment"
    sim.set_workflow_run("deploy-staging.yml", sha, "failure")
    sim.set_workflow_run("deploy-staging.yml", head(run, "HEAD~1"), "success")  # another commit
    failed = check(run, item, phase="staging-deployment")
    assert failed.returncode == 1
    assert "workflow deploy-staging.yml concluded failure" in failed.stderr
    sim.set_workflow_run("deploy-staging.yml", sha, "success")  # re-run: the latest counts
    ok = check(run, item, phase="staging-deployment")
    assert ok.returncode == 0, ok.stderr
    (ticked,) = events(run, "item.checked")
    assert ticked["evidence"]["name"] == "deploy-staging.yml"
    assert ticked["evidence"]["url"] == f"https://github.com/{sim.repo}/actions/runs/5003"
    asked = [r[1] for r in sim.requests if r[1].endswith("/runs")]
    assert asked == [f"/repos/{sim.repo}/actions/workflows/deploy-staging.yml/runs"] * 2


def test_no_token_or_a_wrong_one_is_said_in_words(run, sim):
    sim.set_check(head(run), "typecheck", "success")
    none = check(run, "typescript-compilation-passes", token=None)
    assert none.returncode == 2
    assert "$GH_TOKEN is not set" in none.stderr and "Traceback" not in none.stderr
    assert events(run, "item.checked") == [] and events(run, "item.verification_failed") == []
    wrong = check(run, "typescript-compilation-passes", token="wrong-token-123")
    assert wrong.returncode == 1 and "Traceback" not in wrong.stderr
    assert "401 Bad credentials (the token is wrong or expired)" in wrong.stderr
    (path,) = (run / ".cockpit" / "runs").glob("*/journal.jsonl")
    assert "wrong-token-123" not in path.read_text() + wrong.stderr + wrong.stdout


def test_github_items_need_github_configured(workspace_dir):
    path = workspace_dir / "cockpit.yaml"
    config = yaml.safe_load(path.read_text())
    config.pop("github", None)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    out = run_cli(workspace_dir, "validate")
    assert out.returncode == 2
    line = "10-pre-release-gates.yaml:9: 'auto: {github_check: …}' needs GitHub configured"
    assert line in out.stderr
    assert "20-staging-deployment.yaml:21: 'auto: {workflow: …}' needs GitHub" in out.stderr


def test_the_shipped_config_works_without_a_token(workspace_dir):
    env = subprocess_env()
    env.pop("GH_TOKEN", None)
    assert run_cli(workspace_dir, "validate", env=env).returncode == 0
    assert run_cli(workspace_dir, "start", "--type", "standard", env=env).returncode == 0
    out = run_cli(workspace_dir, "check", GATES, "typescript-compilation-passes", env=env)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "$GH_TOKEN is not set" in out.stderr
    status = json.loads(run_cli(workspace_dir, "status", "--json", env=env).stdout)
    assert status["phases"][0]["done"] == 0


def test_the_github_release_has_the_changelog_as_notes_and_a_second_is_refused(
    run, sim, monkeypatch
):
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    ws = Workspace.open(run)
    (run_id,) = [p.name for p in (run / ".cockpit" / "runs").iterdir()]
    session = RunSession(ws, run_id, operator="ana")
    try:
        notes = "## [1.3.0] - 2026-11-24\n\n### Added\n- Customer survey (#131)\n"
        created = asyncio.run(do_create_release(session, notes))
        session.write(created)
        assert created.type == "release.created"
        assert created.url == f"https://github.com/{sim.repo}/releases/tag/production-v1.3.0"
        (release,) = sim.releases
        assert release["body"] == notes and release["tag_name"] == "production-v1.3.0"
        assert release["name"] == "Release v1.3.0" and release["draft"] is False
        again = asyncio.run(do_create_release(session, notes))
        session.write(again)
        assert again.type == "release.failed"
        assert "422 Validation Failed: already_exists" in again.error
        with pytest.raises(CockpitError, match="changelog draft is empty"):
            asyncio.run(do_create_release(session, "  \n"))
        monkeypatch.delenv("GH_TOKEN")
        with pytest.raises(CockpitError, match=r"\$GH_TOKEN is not set"):
            asyncio.run(do_create_release(session, notes))
    finally:
        session.close()
    kinds = [e["type"] for e in read_journal(session.journal_path).events]
    assert kinds[-2:] == ["release.created", "release.failed"]
    assert TOKEN not in session.journal_path.read_text()
    status = run_cli(run, "status")
    assert "Traceback" not in status.stderr
