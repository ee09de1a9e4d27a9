"""Fail closed: whatever a ready endpoint answers, a probe never raises and never says READY
for it; one hostile environment never stops the others' polling; a step whose probe or
command goes wrong in an unexpected way ends failed in words, never done; a background
process that keeps a step's output open never holds the step.

Real loopback HTTP servers answering hostile bodies, real cockpit and supervisor
processes, real commands; nothing is monkeypatched.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

from cockpit.config import HealthSettings
from cockpit.journal import read_journal
from cockpit.monitor import HealthMonitor
from cockpit.probe import DEGRADED, READY, UNKNOWN, probe_once
from tests.helpers import cockpit_cmd, phase_workspace, wait_for

DEEP = b"[" * 30_000 + b"]" * 30_000
"""30,000 nested arrays: under the 64 KiB body cap, far past any parser's recursion limit."""
BODIES = {
    "deep": DEEP,
    "empty": b"",
    "text": b"all good\n",
    "ok": json.dumps({"status": "ok", "checks": {"db": "ok"}}).encode(),
}
NESTS = "ready body nests deeper than 64 levels"


class _Hostile(http.server.BaseHTTPRequestHandler):
    """``/KIND/...`` answers 200 with ``BODIES[KIND]``."""

    def do_GET(self) -> None:
        body = BODIES.get(self.path.strip("/").split("/")[0])
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # a probe cancelled mid-answer
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def hostile_server() -> Iterator[str]:
    """A loopback server on a free port; yields its base URL (append ``/deep`` …)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def cockpit(root: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "COCKPIT_OPERATOR": "ana"}
    return subprocess.run(
        cockpit_cmd("--workspace", str(root), *args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=root,
    )


def started_workspace(tmp_path: Path, phase: str, **config: object) -> Path:
    root = phase_workspace(tmp_path / "ws", {"deploy.yaml": phase}, **config)
    result = cockpit(root, "start", "--type", "standard", "--version", "1.0.0")
    assert result.returncode == 0, result.stderr
    return root


def step_status(root: Path, step: str) -> dict:
    result = cockpit(root, "status", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    return next(s for p in doc["phases"] for s in p["steps"] if s["id"] == step)


def journal(root: Path) -> list[dict]:
    return read_journal(next(root.glob(".cockpit/runs/*/journal.jsonl"))).events


# -- the probe ------------------------------------------------------------------------------


async def test_hostile_2xx_answers_are_degraded_in_words():
    with hostile_server() as base:
        deep = await probe_once("production", f"{base}/deep/api/ready", 3.0)
        empty = await probe_once("production", f"{base}/empty/api/ready", 3.0)
        text = await probe_once("production", f"{base}/text/api/ready", 3.0)
    assert (deep.state, deep.http_status) == (DEGRADED, 200)
    assert NESTS in deep.reason
    assert (empty.state, empty.reason) == (
        DEGRADED,
        "2xx but the body is empty, not the ready document",
    )
    assert (text.state, text.reason) == (
        DEGRADED,
        "2xx but the body is not JSON, not the ready document",
    )


async def test_a_url_no_request_can_be_made_to_is_unknown_in_words():
    """Past validation (a URL handed straight to the probe), a port out of range or a host
    name IDNA refuses is UNKNOWN with the error in words: never raised, never READY."""
    port = await probe_once("production", "http://127.0.0.1:99999/api/ready", 2.0)
    idna = await probe_once("production", "http://xn--a.com/api/ready", 2.0)
    assert port.state == UNKNOWN and "port must be 0-65535" in port.reason
    assert idna.state == UNKNOWN and idna.reason.startswith("the probe failed: ")
    for sample in (port, idna):
        assert sample.reason.isprintable() and sample.error == sample.reason


# -- the monitor ----------------------------------------------------------------------------


async def test_one_hostile_environment_never_stops_the_others_polling():
    """The TUI's poller: a deep body for staging and an unusable URL for "broken" show
    those environments DEGRADED/UNKNOWN in words while production keeps being probed and
    stays READY (it used to end every environment's polling: "unhandled errors in a
    TaskGroup", with the panels left showing READY)."""
    with hostile_server() as base:
        monitor = HealthMonitor(
            {
                "production": f"{base}/ok",
                "staging": f"{base}/deep",
                "broken": "http://127.0.0.1:99999",
            },
            HealthSettings(interval="10ms", timeout="2s"),
            lambda env, sample, changed: None,
        )
        envs = monitor.envs
        task = asyncio.create_task(monitor.run())
        try:
            for _ in range(500):
                if task.done() or min(e.probes for e in envs.values()) >= 5:
                    break
                await asyncio.sleep(0.02)
            polling = not task.done()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert polling, f"the monitor stopped: {task.exception()!r}"
    assert min(e.probes for e in envs.values()) >= 5
    assert (envs["production"].state, envs["production"].reason) == (READY, None)
    assert envs["staging"].state == DEGRADED and NESTS in envs["staging"].reason
    assert envs["broken"].state == UNKNOWN
    assert "port must be 0-65535" in envs["broken"].reason
    assert envs["broken"].success_ratio == 0


# -- steps and verifications, through the real cockpit --------------------------------------

PROBE_PHASE = """\
id: deploy
title: Deploy
steps:
  - id: migrate
    title: Migrate
    budget: 5m
    commands:
      - health: production
      - run: "echo migrating"
"""


def test_a_probe_step_against_a_hostile_endpoint_fails_in_words(tmp_path):
    """The `health:` command against 30,000 nested arrays: the step is failed with the
    reason in words, in the status, the journal and the log; the next command never runs."""
    with hostile_server() as base:
        root = started_workspace(
            tmp_path, PROBE_PHASE, environments={"production": {"url": f"{base}/deep"}}
        )
        result = cockpit(root, "run", "deploy", "--headless", "--yes")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    step = step_status(root, "migrate")
    assert step["state"] == "failed"
    assert NESTS in step["reason"] and "DEGRADED" in step["reason"]
    finished = [e for e in journal(root) if e["type"] == "step.finished"]
    assert [e["state"] for e in finished] == ["failed"]
    commands = [e for e in journal(root) if e["type"] == "command.finished"]
    assert [(e["index"], e["exit_code"]) for e in commands] == [(0, 1)]
    log = next(root.glob(".cockpit/runs/*/logs/deploy/migrate.log")).read_text()
    assert NESTS in log and "O migrating" not in log


def test_a_verification_against_a_hostile_endpoint_is_a_failed_verification(
    workspace_dir, tmp_path
):
    """`auto: {health: staging}` against 30,000 nested arrays: not ticked, the failure
    journaled with the reason in words (it used to be a RecursionError traceback)."""
    from cockpit.demo_sandbox import write_config

    with hostile_server() as base:
        write_config(workspace_dir, f"{base}/deep", f"{base}/ok", demo_tools=False)
        assert cockpit(workspace_dir, "start", "--type", "standard").returncode == 0
        result = cockpit(workspace_dir, "check", "staging-deployment", "verify-deployment-health")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"not verified: staging DEGRADED: {NESTS}" in result.stderr
    failed = [e for e in journal(workspace_dir) if e["type"] == "item.verification_failed"]
    assert len(failed) == 1 and NESTS in failed[0]["evidence"]["reason"]
    assert not any(e["type"] == "item.checked" for e in journal(workspace_dir))


DAEMON_PHASE = """\
id: deploy
title: Deploy
steps:
  - id: daemon
    title: Start the worker
    budget: 5m
    commands:
      - run: "(sleep 1; echo late; exec sleep 60) & echo early"
      - run: "echo second"
"""


def test_a_background_process_holding_the_output_never_holds_the_step(tmp_path):
    """The step ends at its shells' exits (plus a short drain), not when a daemon that
    kept stdout open lets go; the daemon's later line is still kept in the log."""
    root = started_workspace(tmp_path, DAEMON_PHASE)
    result = cockpit(root, "run", "deploy", "--headless", "--yes", timeout=30)
    shown = result.stdout + result.stderr
    assert result.returncode == 0, shown
    assert "Traceback" not in shown and "Event loop is closed" not in shown
    assert "  early" in result.stdout and "  second" in result.stdout
    step = step_status(root, "daemon")
    assert (step["state"], step["exit_code"]) == ("done", 0)
    log = next(root.glob(".cockpit/runs/*/logs/deploy/daemon.log"))
    wait_for(lambda: " O late" in log.read_text(), "the daemon's later line is logged")
    lines = log.read_text().splitlines()
    outcome = next(n for n, line in enumerate(lines) if "=== step done" in line)
    late = next(n for n, line in enumerate(lines) if line.endswith(" O late"))
    assert late > outcome  # kept, after the step's outcome
