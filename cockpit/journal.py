"""The run's journal: append-only JSON Lines, flushed and fsynced per event.

Owns the on-disk format of events and the two ways of reading it: a full load
(``read_journal``) and following a file that another process appends to
(``JournalFollower``). A torn last line (power lost mid-write) or a corrupt line
is skipped with a warning naming the line; a journal written by a newer format
is refused in words. Appends take an advisory lock so that a script ticking a
gate (``cockpit check``) and the driving TUI never interleave bytes.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cockpit.clock import Clock, iso
from cockpit.errors import CockpitError
from cockpit.secrets import Redactor
from cockpit.termtext import plain_values

FORMAT = 1


class JournalError(CockpitError):
    """A journal that cannot be read at all (newer format, unreadable file)."""


def fsync_dir(path: Path) -> None:
    """Make a directory entry (a new file in ``path``) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Journal:
    """Appends events to one journal file; each ``append`` is on disk when it returns."""

    def __init__(
        self,
        path: Path,
        operator: str,
        clock: Clock | None = None,
        redactor: Redactor | None = None,
    ):
        self.path = path
        self.operator = operator
        self.clock = clock or Clock()
        self.redactor = redactor or Redactor()
        self._lock = threading.Lock()
        self._fd: int | None = None

    def _open(self) -> int:
        if self._fd is None:
            existed = self.path.exists()
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            if not existed:
                fsync_dir(self.path.parent)
        return self._fd

    def append(self, type_: str, **fields: Any) -> dict[str, Any]:
        """Write one event (``v``, ``ts``, ``type``, ``by`` plus ``fields``) and fsync it.

        Secret values are masked before anything reaches the file.
        """
        event: dict[str, Any] = {"v": FORMAT, "ts": iso(self.clock.now()), "type": type_}
        event.setdefault("by", self.operator)
        event.update(fields)
        event = self.redactor.deep(event)
        data = (json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        with self._lock:
            fd = self._open()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data  # end a torn line so this event stands on its own
                written = 0
                while written < len(data):
                    written += os.write(fd, data[written:])
                os.fsync(fd)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        return event

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


_CONTROL_IN_JSON = re.compile(
    rb"\\u00[01][0-9a-fA-F]|\\u00[89][0-9a-fA-F]|\\u007[fF]|\\[bfr]|\xc2[\x80-\x9f]"
)
"""A control character inside a JSON line, as JSON writes it (escaped C0 and DEL; C1 as
UTF-8). Only such a line is cleaned: every text read from the journal is plain text (see
``cockpit.termtext``), and replaying a clean journal costs nothing more."""


@dataclass
class Batch:
    """Events read in one go, the warnings met on the way, and where reading stopped."""

    events: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class JournalFollower:
    """Reads a journal incrementally: each ``read_new`` returns only complete new lines.

    With ``final=True`` (a full load) an unterminated last line is a torn write and is
    reported; while following, it is left for the next read (the writer may be mid-line).
    """

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.line_no = 0

    def read_new(self, final: bool = False) -> Batch:
        batch = Batch()
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read()
        except FileNotFoundError:
            return batch
        except OSError as exc:
            raise JournalError(f"cannot read journal {self.path}: {exc.strerror or exc}") from exc
        if not chunk:
            return batch
        end = chunk.rfind(b"\n")
        lines = chunk[:end].split(b"\n") if end >= 0 else []
        rest = chunk[end + 1 :]
        for raw in lines:
            self.line_no += 1
            self._decode(raw, batch)
        self.offset += end + 1
        if rest and final:
            self.line_no += 1
            batch.warnings.append(
                f"{self.path}:{self.line_no}: torn last line skipped "
                f"({len(rest)} bytes, the write was interrupted)"
            )
        return batch

    def _decode(self, raw: bytes, batch: Batch) -> None:
        if not raw.strip():
            return
        try:
            event = json.loads(raw)
            if not isinstance(event, dict) or "type" not in event:
                raise ValueError("not an event")
        except (ValueError, UnicodeDecodeError):
            batch.warnings.append(
                f"{self.path}:{self.line_no}: unreadable line skipped ({len(raw)} bytes)"
            )
            return
        version = event.get("v", FORMAT)
        if not isinstance(version, int) or version > FORMAT:
            raise JournalError(
                f"{self.path}:{self.line_no}: written by a newer Release Cockpit (journal format "
                f"{version}; this version reads format {FORMAT}). Upgrade cockpit to open this run."
            )
        if _CONTROL_IN_JSON.search(raw):  # a note or a reason with a control character in it
            event = plain_values(event)
        batch.events.append(event)


def read_journal(path: Path) -> Batch:
    """Every readable event of a journal, with warnings for what was skipped."""
    if not path.exists():
        raise JournalError(f"no journal at {path}")
    return JournalFollower(path).read_new(final=True)
