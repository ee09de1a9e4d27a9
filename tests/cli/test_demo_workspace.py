"""The demo's workspace beyond one run: ``cockpit demo --workspace DIR`` makes a demo there
and, later, reopens it with fresh simulated systems (its config rewired, the run kept); a
folder that is not the demo's is refused in words and left alone; driving a demo
workspace whose demo ended is refused instead of flagging a false DOWN; ``cockpit demo
--clean`` removes only the demo's own folders from the temp folder (the test's)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

import yaml

from cockpit.demo_sandbox import DEMO_JOBS, DEMO_TOKEN, MAIL_DIR, make_sandbox
from cockpit.demo_workspace import MARKER, mark, open_demo, read_mark
from cockpit.release_actions import do_send_email, release_view
from cockpit.session import RunSession
from cockpit.simgithub import SimGitHub
from cockpit.simmail import SimMail
from cockpit.simservice import SimService
from cockpit.workspace import Workspace
from tests.helpers import cockpit_cmd, run_cli, subprocess_env


def demo_env(tmp_path: Path) -> dict[str, str]:
    temp = tmp_path / "tmp"
    temp.mkdir(exist_ok=True)
    return subprocess_env(TMPDIR=str(temp), COCKPIT_DEMO_WORKFLOW_SECONDS="0.5")


def cockpit(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cockpit_cmd(*args),
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        env=env,
    )


def loopback(root: Path) -> dict[str, object]:
    """What the demo's config points at on loopback."""
    config = yaml.safe_load((root / "cockpit.yaml").read_text())
    return {
        "staging": config["environments"]["staging"]["url"],
        "production": config["environments"]["production"]["url"],
        "github": config["github"]["api_url"],
        "mail": config["notify"]["email"]["port"],
    }


def files_of(folder: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


def test_demo_workspace_is_made_then_reopened_live_with_its_run(tmp_path):
    env = demo_env(tmp_path)
    root = tmp_path / "my-demo"
    made = cockpit("demo", "--headless", "--workspace", str(root), env=env)
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr
    assert f"demo workspace: {root}\n" in made.stdout
    assert f"`cockpit demo --workspace {root}` reopens it" in made.stdout
    assert read_mark(root) is not None
    assert not list((tmp_path / "tmp").iterdir())  # no temporary folder besides
    (run,) = Workspace.open(root).list_runs()
    first = loopback(root)

    # the demo ended: its simulated systems are gone, and driving the workspace says so
    # rather than probing ports nobody answers
    down = run_cli(root, "health")
    assert down.returncode == 1
    refused = run_cli(root)
    assert refused.returncode == 2
    assert "its simulated systems stopped with its demo" in refused.stderr
    assert f"`cockpit demo --workspace {root}` reopens it" in refused.stderr

    # the global option before the subcommand reopens it the same way
    again = cockpit("--workspace", str(root), "demo", "--headless", env=env)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr
    assert f"reopened with fresh simulated systems; run {run.id} continues" in again.stdout
    assert [r.id for r in Workspace.open(root).list_runs()] == [run.id]
    second = loopback(root)
    assert all(second[key] != first[key] for key in first), (first, second)
    assert "Production Deployment                    complete" in again.stdout


def sims() -> tuple[SimService, SimGitHub, SimMail]:
    """The demo's simulated systems, as ``cockpit demo`` starts them (not yet running)."""
    github = SimGitHub(repo="dirt-free/crm", token=DEMO_TOKEN, duration=1, jobs=DEMO_JOBS)
    return SimService(latency_s=0.01), github, SimMail()


def test_a_reopened_demo_workspace_answers_ready_and_flags_nothing(tmp_path):
    root = tmp_path / "demo"
    service, github, mail = sims()
    with service, github, mail:
        made, reopened = open_demo(root, service, github, mail)
        session = RunSession.start(Workspace.open(root), "standard", operator="ana")
        session.close()
    assert (made, reopened) == (root, False)
    mark(root, serving=False)  # that demo ended
    old_mail = root / MAIL_DIR / "001.eml"
    old_mail.parent.mkdir(parents=True, exist_ok=True)
    old_mail.write_bytes(b"Subject: kept from the demo before\n\nhello\n")
    before = loopback(root)
    assert run_cli(root, "health").returncode == 1  # nobody answers the old ports

    service, github, mail = sims()
    with service, github, mail:
        again, reopened = open_demo(root, service, github, mail)
        assert (again, reopened) == (root, True)
        config = yaml.safe_load((root / "cockpit.yaml").read_text())
        assert config["environments"]["production"]["url"] == service.url("production")
        assert config["github"]["api_url"] == github.api_url
        assert all(loopback(root)[key] != before[key] for key in before)

        health = run_cli(root, "health", "--json")
        assert health.returncode == 0, health.stdout + health.stderr
        states = {h["env"]: h["state"] for h in json.loads(health.stdout)}
        assert states == {"staging": "READY", "production": "READY"}

        status = run_cli(root, "status", "--json")
        assert status.returncode == 0, status.stderr
        doc = json.loads(status.stdout)
        assert doc["run"]["id"] == session.run_id  # the run in progress is kept
        assert doc["rollback_criteria_met"] == []

        # a second demo on it now is refused: this one serves it
        busy = cockpit("demo", "--headless", "--workspace", str(root), env=demo_env(tmp_path))
        assert busy.returncode == 2 and "its demo is running now" in busy.stderr

        live = RunSession(Workspace.open(root), session.run_id, operator="ana")
        try:
            sent = asyncio.run(do_send_email(live, release_view(live, "READY").email))
        finally:
            live.close()
    assert sent.type == "notification.sent", getattr(sent, "error", "")
    assert old_mail.read_bytes().startswith(b"Subject: kept from the demo before")
    assert (root / MAIL_DIR / "002.eml").is_file()  # the earlier mail is not written over


def test_an_empty_folder_becomes_the_demos_workspace(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with SimService(latency_s=0.01) as service:
        assert open_demo(empty, service) == (empty, False)
    assert read_mark(empty) is not None
    assert (empty / "cockpit.yaml").is_file() and (empty / ".git").is_dir()


def test_a_folder_that_is_not_the_demos_is_refused_and_left_alone(tmp_path):
    env = demo_env(tmp_path)
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine\n")
    (folder / "cockpit.yaml").write_text("environments: {}\n")
    (folder / ".cockpit-demo").mkdir()  # a folder of that name is not the demo's marker
    before = files_of(folder)
    for args in (
        ("demo", "--headless", "--workspace", str(folder)),
        ("--workspace", str(folder), "demo", "--headless"),
        ("demo", "--clean", "--workspace", str(folder)),
    ):
        result = cockpit(*args, env=env)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert f"{folder} is not a demo workspace" in result.stderr or (
            f"{folder} is left as it is: it is not a demo workspace" in result.stderr
        ), (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert files_of(folder) == before
    assert not list((tmp_path / "tmp").iterdir())  # and no demo was made elsewhere instead


def test_clean_removes_only_the_demos_own_folders(tmp_path):
    temp = tmp_path / "tmp"
    temp.mkdir()
    ended = [make_sandbox(temp), make_sandbox(temp)]
    for root in ended:
        mark(root, serving=False)
    unmarked = temp / "cockpit-demo-foo"
    unmarked.mkdir()
    (unmarked / "keep.txt").write_text("not the demo's\n")
    foreign = temp / "cockpit-demo-bar"
    (foreign / MARKER).parent.mkdir(parents=True)
    (foreign / MARKER).write_text(json.dumps({"made_by": "someone else"}))
    elsewhere = tmp_path / "outside"
    elsewhere.mkdir()
    outside = make_sandbox(elsewhere)
    mark(outside, serving=False)
    (temp / "cockpit-demo-link").symlink_to(outside)  # never followed
    named = temp / "my-demo"  # a demo made with --workspace: not a temp folder of the demo's
    named.mkdir()
    make_sandbox(at=named)
    mark(named, serving=False)
    serving = make_sandbox(temp)
    mark(serving, serving=True)  # served by this process: its demo is running
    driven = make_sandbox(temp)
    mark(driven, serving=False)
    session = RunSession.start(Workspace.open(driven), "standard", operator="ana")
    session.take_lock()  # this process drives its run
    try:
        result = cockpit("demo", "--clean", env=subprocess_env(TMPDIR=str(temp)))
    finally:
        session.close()
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert sorted(line for line in lines if line.startswith("removed ")) == sorted(
        f"removed {root}" for root in ended
    )
    assert lines[-1] == f"2 demo folders removed from {temp}"
    assert f"left {serving}: its demo is running now (pid {os.getpid()})" in lines
    assert any(
        line.startswith(f"left {driven}: its run {session.run_id} is being driven by ana")
        for line in lines
    ), lines
    assert not any(root.exists() for root in ended)
    for kept in (unmarked / "keep.txt", foreign / MARKER, outside / MARKER, named, serving, driven):
        assert kept.exists(), kept
    assert (temp / "cockpit-demo-link").is_symlink()
    assert not any(
        str(p) in result.stdout for p in (unmarked, foreign, named, temp / "cockpit-demo-link")
    )
