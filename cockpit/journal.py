"""The run's journal: append-only JSON Lines, flushed and fsynced per event.

Owns the on-disk format of events and the two ways of reading it: a full load
(``read_journal``) and following a file that another process appends to
(``JournalFollower``). A torn last line (power lost mid-write) or a corrupt line
— not JSON, not an event, or an event with a field missing or of the wrong type
(``cockpit.eventcheck``) — is skipped with a warning naming the file and line; a journal
written by a newer format (``v`` compared as a number) is refused in words. Appends take
an advisory lock so that a script ticking a gate (``cockpit check``) and the driving TUI
never interleave bytes, and each line is written whole or not at all (a full disk cuts
nothing in half). Files are opened through ``cockpit.safefiles``: never through a link.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cockpit.clock import Clock, iso
from cockpit.errors import CockpitError
from cockpit.eventcheck import problem
from cockpit.safefiles import StateFileError, append_whole, cannot, open_file, reading
from cockpit.secrets import Redactor
from cockpit.termtext import inert, plain_values

FORMAT = 1


class JournalError(CockpitError):
    """A journal that cannot be read at all (newer format, unreadable file)."""


class Journal:
    """Appends events to one journal file; each ``append`` is on disk when it returns."""

    def __init__(
        self,
        path: Path,
        operator: str,
        clock: Clock | None = None,
        redactor: Redactor | None = None,
        anchor: Path | None = None,
    ):
        self.path = path
        self.anchor = anchor
        """The state folder the journal's folders are checked from (default: its own)."""
        self.operator = operator
        self.clock = clock or Clock()
        self.redactor = redactor or Redactor()
        self._lock = threading.Lock()
        self._fd: int | None = None

    def _open(self) -> int:
        if self._fd is None:
            flags = os.O_RDWR | os.O_APPEND | os.O_CREAT
            try:
                self._fd = open_file(self.path, flags, self.anchor, durable=True)
            except OSError as exc:  # a refusal in words is passed on unchanged
                raise cannot("write", self.path, exc) from None
        return self._fd

    def append(self, type_: str, **fields: Any) -> dict[str, Any]:
        """Write one event (``v``, ``ts``, ``type``, ``by`` plus ``fields``) and fsync it.

        Secret values are masked before anything reaches the file. The line is written
        whole or not at all; a failure is a ``StateFileError`` ("cannot write PATH: no
        space left on device").
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
                append_whole(fd, data, self.path, sync=True)
            except OSError as exc:  # append_whole's own error is passed on unchanged
                raise cannot("write", self.path, exc) from None
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
    A line is read once: a skipped one is never read again, so nothing counts twice.
    """

    def __init__(self, path: Path, anchor: Path | None = None):
        self.path = path
        self.anchor = anchor
        self.offset = 0
        self.line_no = 0

    def read_new(self, final: bool = False) -> Batch:
        batch = Batch()
        try:
            with reading(self.path, self.anchor) as fh:
                fh.seek(self.offset)
                chunk = fh.read()
        except FileNotFoundError:
            return batch
        except StateFileError:
            raise
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
            batch.warnings.append(
                f"{self.path}:{self.line_no + 1}: torn last line skipped "
                f"({len(rest)} bytes, the write was interrupted)"
            )
        return batch

    def _decode(self, raw: bytes, batch: Batch) -> None:
        event, warning = decode(raw, f"{self.path}:{self.line_no}")
        if warning:
            batch.warnings.append(warning)
        if event is not None:
            batch.events.append(event)


_TYPE = b'"type":"'


def line_type(raw: bytes) -> bytes | None:
    """The event type of a journal line as the journal writes it (compact JSON, ``type``
    among the first keys), found without parsing the line; None when it is not there (a
    line written otherwise: parse it to know)."""
    at = raw.find(_TYPE, 0, 120)
    if at < 0:
        return None
    start = at + len(_TYPE)
    end = raw.find(b'"', start, start + 64)
    return raw[start:end] if end > 0 else None


def version_of(line: dict[str, Any]) -> float | None:
    """The journal format a line says it is in, as a number (``"1"`` reads as 1); None
    when it is not a number at all."""
    version = line.get("v", FORMAT)
    if isinstance(version, str):
        try:
            version = float(version.strip())
        except ValueError:
            return None
    if isinstance(version, bool) or not isinstance(version, int | float) or math.isnan(version):
        return None
    return version


def decode(raw: bytes, where: str) -> tuple[dict[str, Any] | None, str | None]:
    """One journal line: the event, or None and a warning (``FILE:LINE: why; skipped``).

    Raises JournalError for a line written by a newer format: reading on would be guessing.
    """
    if not raw.strip():
        return None, None
    try:
        event = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None, f"{where}: unreadable line skipped ({len(raw)} bytes, not JSON)"
    if isinstance(event, dict):
        version = version_of(event)
        if version is None:
            return None, (
                f"{where}: journal format {str(event.get('v'))[:20]!r} is not a number; "
                "line skipped"
            )
        if version > FORMAT:
            raise JournalError(
                f"{where}: written by a newer Release Cockpit (journal format {version:g}; "
                f"this version reads format {FORMAT}). Upgrade cockpit to open this run."
            )
    why = problem(event)
    if why is not None:  # it may quote the line's own values: shown inert
        return None, f"{where}: {inert(why)}; line skipped"
    if _CONTROL_IN_JSON.search(raw):  # a note or a reason with a control character in it
        event = plain_values(event)
    return event, None


def read_journal(path: Path, anchor: Path | None = None) -> Batch:
    """Every readable event of a journal, with warnings for what was skipped."""
    if not os.path.lexists(path):
        raise JournalError(f"no journal at {path}")
    return JournalFollower(path, anchor).read_new(final=True)
