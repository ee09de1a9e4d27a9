"""One driver per run: the run lock.

Owns ``runs/ID/lock``: an advisory ``flock`` held for as long as a process drives
the run (the kernel drops it if the process dies, so a ``kill -9`` never wedges a
run), with the holder's pid, host, user and start time written inside for humans.
A lock file naming a process that no longer holds the flock is stale: the next
driver takes over and says so (psutil tells whether that pid is gone or reused).
The file is never unlinked, so two racing drivers always contend on one inode.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from cockpit.clock import Clock, iso, local_hm
from cockpit.errors import CockpitError


@dataclass(frozen=True)
class Holder:
    """Who drives (or drove) a run."""

    pid: int
    host: str
    user: str
    operator: str
    started_at: str
    create_time: float | None = None

    def describe(self) -> str:
        return (
            f"{self.operator} (user {self.user}, pid {self.pid} on {self.host}, "
            f"since {local_hm(self.started_at)})"
        )

    def gone_reason(self) -> str:
        """Why this holder no longer drives, in words (for a takeover)."""
        if self.host != socket.gethostname():
            return f"its lock was left by host {self.host}"
        if not psutil.pid_exists(self.pid):
            return f"pid {self.pid} is no longer running"
        try:
            process = psutil.Process(self.pid)
            if process.status() == psutil.STATUS_ZOMBIE:
                return f"pid {self.pid} has exited"
            created = process.create_time()
        except psutil.Error:
            return f"pid {self.pid} is no longer running"
        if self.create_time is not None and abs(created - self.create_time) > 1:
            return f"pid {self.pid} now belongs to another program"
        return f"pid {self.pid} released the lock"


class LockHeld(CockpitError):
    """Another live process drives the run."""

    def __init__(self, holder: Holder | None):
        self.holder = holder
        who = holder.describe() if holder else "another process"
        super().__init__(f"this run is being driven by {who}")


class RunLock:
    """The driver lock of one run."""

    def __init__(self, path: Path, clock: Clock | None = None):
        self.path = path
        self.clock = clock or Clock()
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def read(self) -> Holder | None:
        """The holder recorded in the lock file, if any (whether or not it is alive)."""
        try:
            text = self.path.read_text()
        except (FileNotFoundError, OSError):
            return None
        try:
            data = json.loads(text)
            return Holder(**data)
        except (ValueError, TypeError):
            return None

    def is_held_elsewhere(self) -> bool:
        """True when a live process holds the lock (checked without taking it)."""
        if self._fd is not None:
            return False
        try:
            fd = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def acquire(self, operator: str) -> Holder | None:
        """Take the lock; return the stale previous holder if one was taken over.

        Raises LockHeld when a live process drives the run.
        """
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockHeld(self.read()) from None
        previous = self.read()
        me = psutil.Process()
        holder = Holder(
            pid=os.getpid(),
            host=socket.gethostname(),
            user=getpass.getuser(),
            operator=operator,
            started_at=iso(self.clock.now()),
            create_time=me.create_time(),
        )
        data = json.dumps(asdict(holder)).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
        os.fsync(fd)
        self._fd = fd
        return previous

    def release(self) -> None:
        """Give the lock up; the file stays (empty) so racing drivers share one inode."""
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None
