"""Reading step logs back: the tail for the screen, and search through the whole file.

Owns reading ``runs/ID/logs/PHASE/STEP.log`` without loading it whole: the last
lines from the end of the file, following what another process appends (as lines for a
screen, or as bytes to copy), and a streaming search that counts every match and
keeps the last ones (a million-line log is searched in one pass, bounded memory).
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

from cockpit.termtext import plain


def tail_lines(path: Path, count: int, end: int | None = None) -> list[str]:
    """The last ``count`` lines of a log file (read from its end, or from offset ``end``)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell() if end is None else min(end, fh.tell())
            block = min(size, max(4096, count * 512))
            fh.seek(size - block)
            data = fh.read(block)
    except FileNotFoundError:
        return []
    lines = data.decode("utf-8", "replace").split("\n")
    if lines and not lines[-1]:
        lines.pop()  # the file ends with a whole line
    if block < size and lines:
        lines = lines[1:]  # the first line may be cut
    return lines[-count:]


def search_log(path: Path, term: str, keep: int = 200) -> tuple[list[str], int]:
    """Lines whose text contains ``term`` (case-insensitive; colours and other control
    sequences are not text): the last ``keep`` of them, and how many."""
    needle = term.lower()
    found: deque[str] = deque(maxlen=keep)
    total = 0
    try:
        with open(path, "rb") as fh:
            for raw in fh:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                if needle in plain(line).lower():
                    total += 1
                    found.append(line)
    except FileNotFoundError:
        return [], 0
    return list(found), total


class LogFollower:
    """Follows a step log another process appends to: each ``read_new`` returns new whole lines."""

    def __init__(self, path: Path, start_at_end: bool = False, offset: int = 0):
        self.path = path
        self.offset = offset
        if start_at_end:
            try:
                self.offset = path.stat().st_size
            except FileNotFoundError:
                self.offset = 0

    def read_new(self, limit_bytes: int = 4 * 1024 * 1024) -> tuple[list[str], int]:
        """New complete lines (the newest within ``limit_bytes``) and how many were passed over."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return [], 0
        if size < self.offset:  # truncated or replaced: start over
            self.offset = 0
        start = max(self.offset, size - limit_bytes)
        with open(self.path, "rb") as fh:
            skipped_bytes = start - self.offset
            fh.seek(start)
            data = fh.read(size - start)
        end = data.rfind(b"\n")
        if end < 0:
            return [], 0
        lines = data[:end].decode("utf-8", "replace").split("\n")
        skipped = 0
        if skipped_bytes:
            lines = lines[1:]  # the first may be cut
            skipped = -1  # unknown count: the caller says "earlier lines passed over"
        self.offset = start + end + 1
        return lines, skipped

    def read_all(self, chunk: int = 8 * 1024 * 1024) -> bytes:
        """Every whole line gained since the last read, as bytes (nothing is passed over)."""
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read(chunk)
        except FileNotFoundError:
            return b""
        end = data.rfind(b"\n")
        if end < 0:
            return b""
        self.offset += end + 1
        return data[: end + 1]


def tail_offset(path: Path, lines: int) -> int:
    """The offset where the last ``lines`` lines of a file begin (to follow from there)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            start = max(0, size - 64 * 1024)
            fh.seek(start)
            data = fh.read(size - start)
    except FileNotFoundError:
        return 0
    pos = len(data) - 1 if data.endswith(b"\n") else len(data)
    for _ in range(lines):
        at = data.rfind(b"\n", 0, pos)
        if at < 0:
            return 0 if start == 0 else start + data.find(b"\n") + 1
        pos = at
    return start + pos + 1


def file_size(path: Path) -> int:
    """A file's size (0 when it does not exist yet)."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
