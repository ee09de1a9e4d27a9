"""Helpers every kind of test uses: the CLI as a subprocess, workspaces with a team's own
runbook, bounded waits on a condition (never a fixed sleep, never a timing assertion), and
a real tiny disk to fill (never a patched function faking the error)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

LONG_LIVED = {"journal", "health", "wait-run", "reconcile", "output"}
"""Worker groups that live as long as the app (``settle`` does not wait for them)."""


def cockpit_cmd(*args: str) -> list[str]:
    """The cockpit CLI as a real subprocess (the installed console script's entry point)."""
    return [sys.executable, "-m", "cockpit.cli", *args]


def run_cli(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``cockpit --workspace ROOT ARGS`` as a real process, no terminal, stdin empty: its
    exit code, stdout and stderr (bounded: a hang fails the test)."""
    return subprocess.run(
        cockpit_cmd("--workspace", str(root), *args),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env=env,
    )


def subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env


def phase_workspace(root: Path, phases: dict[str, str], **config: object) -> Path:
    """A git workspace whose own runbook folder holds ``phases`` (file name → YAML) and config."""
    (root / "runbook").mkdir(parents=True)
    for name, text in phases.items():
        (root / "runbook" / name).write_text(text)
    settings = {"runbook": "runbook", "environments": {}, **config}
    (root / "cockpit.yaml").write_text(yaml.safe_dump(settings))
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def set_var(root: Path, name: str, value: str) -> None:
    """Change one config var of the workspace at ``root``."""
    path = root / "cockpit.yaml"
    config = yaml.safe_load(path.read_text())
    config.setdefault("vars", {})[name] = value
    path.write_text(yaml.safe_dump(config))


async def until(pilot, condition: Callable[[], bool], what: str, attempts: int = 250) -> None:
    """Let the app run until ``condition`` holds (bounded; no timing assertion)."""
    for _ in range(attempts):
        if condition():
            return
        await pilot.pause(0.02)
    told = [f"{n.title}: {n.message}" for n in list(pilot.app._notifications)[-3:]]
    raise AssertionError(f"never happened: {what} (last notifications: {told})")


async def settle(pilot) -> None:
    """Let the app process what was pressed: a refresh, then every short-lived worker ends.

    For asserting that a key did nothing (a disabled binding, a read-only view).
    """
    await pilot.pause()
    app = pilot.app
    busy = [w for w in app.workers if w.group not in LONG_LIVED and not w.is_finished]
    if busy:
        await app.workers.wait_for_complete(busy)
    await pilot.pause()


def wait_for(condition: Callable[[], object], what: str, attempts: int = 400) -> None:
    """Poll ``condition`` (bounded) until it holds, from a test that is not an app."""
    for _ in range(attempts):
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


@contextlib.contextmanager
def tiny_disk(folder: Path, size: str = "64k") -> Iterator[Path]:
    """A real, tiny filesystem (tmpfs) mounted at ``folder`` while the block runs, so that a
    full disk is the kernel's own ENOSPC; skips the test, saying why, where mounting is not
    permitted (not root, no ``mount``, a container without the capability)."""
    import pytest

    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tiny tmpfs needs root")
    options = f"size={size},mode=0700"
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except OSError as exc:
        pytest.skip(f"cannot run mount: {exc}")
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30)


def fill_disk(folder: Path) -> None:
    """Write a filler file in ``folder`` until its filesystem says it is full."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for chunk in (b"x" * 4096, b"x"):
            try:
                while True:
                    os.write(fd, chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    finally:
        os.close(fd)


class Recorder(BaseHTTPRequestHandler):
    """A loopback stand-in for a Slack incoming webhook: records each JSON post."""

    posts: list[dict] = []
    status = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Recorder.posts.append(json.loads(body))
        self.send_response(Recorder.status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        return


def own_holders(token: str) -> list:
    """Live processes of this test's own tree (the test process is a subreaper, so a
    step's orphans stay in it) whose environment carries the step's ``token`` — never a
    look at anyone else's processes."""
    import psutil

    from cockpit.proctree import TOKEN_VAR

    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.environ().get(TOKEN_VAR) == token and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except psutil.Error:
            continue
    return found
