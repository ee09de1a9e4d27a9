"""Shared fixtures: a sandbox workspace (real git repo with production tags) and runs in it."""

from __future__ import annotations

import contextlib
import ctypes
import threading
import time
from datetime import UTC, datetime
from http.server import HTTPServer
from pathlib import Path

import psutil
import pytest

from cockpit.clock import FrozenClock
from cockpit.demo_sandbox import make_repo, write_config
from cockpit.session import RunSession
from cockpit.workspace import Workspace
from tests.helpers import Recorder

FROZEN = datetime(2026, 11, 24, 14, 0, 0, tzinfo=UTC)


def _become_subreaper() -> None:
    """Processes a test leaves (a step's supervisor whose cockpit was killed) stay in this
    process's tree instead of going to init, so each test can clean up exactly its own."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


_become_subreaper()


@pytest.fixture(autouse=True)
def _no_process_left_behind():
    """After each test: stop whatever processes the test started and left running."""
    yield
    me = psutil.Process()
    left = me.children(recursive=True)
    for proc in left:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(left, timeout=5)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COCKPIT_OPERATOR", "ana")
    monkeypatch.delenv("COCKPIT_STATE_DIR", raising=False)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


@pytest.fixture
def workspace_dir(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    make_repo(root)
    write_config(root, "http://127.0.0.1:18081", "http://127.0.0.1:18082", demo_tools=False)
    return root


@pytest.fixture
def ws(workspace_dir: Path) -> Workspace:
    return Workspace.open(workspace_dir)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(FROZEN)


@pytest.fixture
def session(ws: Workspace, clock: FrozenClock) -> RunSession:
    s = RunSession.start(ws, "standard", clock=clock, operator="ana")
    yield s
    s.close()


@pytest.fixture
def rollout(tmp_path: Path) -> Path:
    """A workspace with another team's runbook (tests/rollout.py) and a started run."""
    from tests.rollout import make_rollout

    return make_rollout(tmp_path)


@pytest.fixture
def webhook():
    """A webhook URL on loopback whose posts land in ``Recorder.posts``."""
    server = HTTPServer(("127.0.0.1", 0), Recorder)
    Recorder.posts = []
    Recorder.status = 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/T000/B000/secretpath"
    server.shutdown()
    server.server_close()
