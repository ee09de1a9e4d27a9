"""Finding and stopping every process a step started, wherever it went.

Owns the step token (an environment variable every command of a step and all its
descendants inherit, so a process that left the process group or the session is
still found), killing a tree (SIGINT, then SIGTERM after a grace, then SIGKILL, to
the group and to every process holding the token), checking that none survived,
and the CPU and memory a running command's tree uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import uuid
from dataclasses import dataclass

import psutil

TOKEN_VAR = "COCKPIT_STEP_TOKEN"
ESCALATION = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)


def new_token() -> str:
    return uuid.uuid4().hex


def holders(token: str) -> list[psutil.Process]:
    """Live processes (of this user) whose environment carries ``token``."""
    found = []
    me = os.getpid()
    for proc in psutil.process_iter(["pid"]):
        if proc.pid == me:
            continue
        try:
            if proc.environ().get(TOKEN_VAR) == token and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


def tree(pid: int) -> list[psutil.Process]:
    """``pid`` and its live descendants."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def _signal_all(pgid: int | None, procs: list[psutil.Process], sig: signal.Signals) -> None:
    if pgid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
    for proc in procs:
        with contextlib.suppress(psutil.Error, OSError):
            proc.send_signal(sig)


async def stop_tree(pid: int | None, token: str, grace: float = 2.0) -> list[int]:
    """Stop the command ``pid`` (a group leader) and everything holding ``token``.

    Returns the pids still alive afterwards (empty when every process is gone).
    """
    pgid = pid
    for sig in ESCALATION:
        procs = {p.pid: p for p in [*(tree(pid) if pid else []), *holders(token)]}
        if not procs and pid is not None and not _group_alive(pgid):
            return []
        _signal_all(pgid, list(procs.values()), sig)
        deadline = asyncio.get_running_loop().time() + (grace if sig != signal.SIGKILL else 5.0)
        while asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
            if not holders(token) and not (pid and _alive(pid)):
                return []
    return [p.pid for p in holders(token)]


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _group_alive(pgid: int | None) -> bool:
    if pgid is None:
        return False
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


@dataclass
class Usage:
    """CPU (percent of one core) and resident memory of a command's whole tree."""

    cpu_percent: float
    rss_bytes: int
    processes: int


class UsageMeter:
    """Samples a tree's CPU and memory; the first sample primes the CPU counters."""

    def __init__(self) -> None:
        self._procs: dict[int, psutil.Process] = {}

    def sample(self, pid: int) -> Usage | None:
        procs = tree(pid)
        if not procs:
            return None
        cpu = 0.0
        rss = 0
        alive = {proc.pid for proc in procs}
        for pid in [pid for pid in self._procs if pid not in alive]:
            del self._procs[pid]  # short-lived children come and go: keep only the live tree
        for proc in procs:
            known = self._procs.setdefault(proc.pid, proc)
            try:
                cpu += known.cpu_percent(None)
                rss += known.memory_info().rss
            except psutil.Error:
                continue
        return Usage(cpu, rss, len(procs))


def is_same_process(pid: int, create_time: float | None) -> bool:
    """True when ``pid`` is alive and is the process that was started (not a reused pid)."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return create_time is None or abs(proc.create_time() - create_time) < 1.0
    except psutil.Error:
        return False
