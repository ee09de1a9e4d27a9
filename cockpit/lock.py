"""One driver per run: the run lock.

Owns ``runs/ID/lock``: an advisory ``flock`` held for as long as a process drives
the run (the kernel drops it if the process dies, so a ``kill -9`` never wedges a
run), with the holder's pid, host, user and start time written inside for humans.
A lock file naming a process that no longer holds the flock is stale: the next
driver takes over and says so (psutil tells whether that pid is gone or reused).
The file is never unlinked, so two racing drivers always contend on one inode. A
corrupt lock (not UTF-8, not JSON, a record of the wrong shape, or a folder in its
place) is stale by the same rule when no process holds it: it is described in words
(``replaced``) and replaced; a symbolic link or a file of another user is refused
(``cockpit.safefiles``), never written through.
"""

from __future__ import annotations

import errno
import fcntl
import getpass
import json
import os
import socket
import time
from contextlib import suppress
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import psutil

from cockpit.clock import Clock, iso, local_hms
from cockpit.errors import CockpitError
from cockpit.eventcheck import is_time
from cockpit.safefiles import StateFileError, cannot, open_folder, read_bytes, write_at_start
from cockpit.safefiles import open_file as open_state_file
from cockpit.termtext import inert


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
            f"since {local_hms(self.started_at)})"
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


def _holder(data: Any) -> Holder | str:
    """The holder a lock file's JSON records, or what is wrong with it in words."""
    if not isinstance(data, dict):
        return "it is not a lock record"
    text = ("host", "user", "operator", "started_at")
    if not isinstance(data.get("pid"), int) or isinstance(data.get("pid"), bool):
        return "its pid is not a number"
    for key in text:
        if not isinstance(data.get(key), str):
            return f"its {key} is not text"
    if not is_time(data["started_at"]):
        return "its started_at is not a time"
    created = data.get("create_time")
    if created is not None and (isinstance(created, bool) or not isinstance(created, int | float)):
        return "its create_time is not a number"
    known = {f.name for f in fields(Holder)}
    # its texts reach terminals (errors, the header, notices): made inert once, here
    return Holder(
        **{k: inert(v) if isinstance(v, str) else v for k, v in data.items() if k in known}
    )


class RunLock:
    """The driver lock of one run (``anchor``: the state folder its folders are checked
    from; default: the run's own folder)."""

    def __init__(self, path: Path, clock: Clock | None = None, anchor: Path | None = None):
        self.path = path
        self.clock = clock or Clock()
        self.anchor = anchor if anchor is not None else path.parent
        self._fd: int | None = None
        self.problem: str | None = None
        """What was wrong with the lock file at the last ``read``, in words (None: nothing)."""
        self.replaced: str | None = None
        """Set by ``acquire`` when it replaced a corrupt lock: what was wrong, in words."""

    @property
    def held(self) -> bool:
        return self._fd is not None

    def read(self) -> Holder | None:
        """The holder recorded in the lock file, if any (whether or not it is alive).

        A missing or empty lock is None; so is a corrupt one, with ``problem`` saying why.
        """
        self.problem = None
        try:
            data = read_bytes(self.path, self.anchor)
        except StateFileError as exc:
            self.problem = str(exc)
            return None
        if not data:
            return None
        try:
            found = _holder(json.loads(data.decode("utf-8")))
        except UnicodeDecodeError:
            found = "it is not UTF-8 text"
        except ValueError:
            found = "it is not JSON"
        if isinstance(found, str):
            self.problem = f"the lock file {self.path} is corrupt: {found}"
            return None
        return found

    def is_held_elsewhere(self) -> bool:
        """True when a live process holds the lock (checked without taking it)."""
        if self._fd is not None:
            return False
        try:
            fd = open_state_file(self.path, os.O_RDONLY, self.anchor)
        except OSError:  # missing, or nothing a cockpit could hold (a folder, a link)
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def _open(self) -> int:
        """The lock file, opened for writing; a folder in its place is replaced once."""
        flags = os.O_RDWR | os.O_CREAT
        try:
            return open_state_file(self.path, flags, self.anchor)
        except StateFileError as exc:
            if exc.errno != errno.EISDIR:
                raise
        self.replaced = self._remove_folder()
        return open_state_file(self.path, flags, self.anchor)

    def _remove_folder(self) -> str:
        """Take away a folder where the lock file belongs (no cockpit can hold a folder):
        removed when empty, else moved aside. Racing drivers: one moves it, all then open
        the one new file."""
        parent = open_folder(self.path.parent, self.anchor)
        name = self.path.name
        try:
            try:
                os.rmdir(name, dir_fd=parent)
                return f"the lock {self.path} was an empty folder"
            except FileNotFoundError:
                return f"the lock {self.path} was a folder (another driver removed it)"
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise cannot("replace", self.path, exc) from None
            aside = f"{name}.folder-{os.getpid()}"
            with suppress(FileNotFoundError):
                os.rename(name, aside, src_dir_fd=parent, dst_dir_fd=parent)
            return f"the lock {self.path} was a folder (moved aside to {aside})"
        finally:
            os.close(parent)

    def acquire(self, operator: str) -> Holder | None:
        """Take the lock; return the stale previous holder if one was taken over.

        A corrupt lock that no live process holds is replaced, and ``replaced`` says what
        was wrong with it. Raises LockHeld when a live process drives the run, and
        StateFileError when the lock cannot be used or written (in words).
        """
        self.replaced = None
        fd = self._open()
        for attempt in range(5):  # a watcher's look (``is_held_elsewhere``) holds it briefly
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if attempt == 4:
                    os.close(fd)
                    raise LockHeld(self.read()) from None
                time.sleep(0.05)
        previous = self.read()
        if self.problem is not None:
            self.replaced = self.problem
        me = psutil.Process()
        holder = Holder(
            pid=os.getpid(),
            host=socket.gethostname(),
            user=getpass.getuser(),
            operator=operator,
            started_at=iso(self.clock.now()),
            create_time=me.create_time(),
        )
        try:
            write_at_start(fd, json.dumps(asdict(holder)).encode(), self.path)
        except StateFileError:
            os.close(fd)  # the flock goes with it: the run stays free
            raise
        self._fd = fd
        return previous

    def release(self) -> None:
        """Give the lock up; the file stays (empty) so racing drivers share one inode."""
        if self._fd is None:
            return
        try:
            with suppress(OSError):  # a full disk: the holder record is stale by the flock
                os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None
