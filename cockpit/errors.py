"""Errors that point at a place in an input file.

Owns ``SourceError`` (one problem at ``FILE:LINE``) and ``InputErrors`` (all the
problems found in one pass), which the CLI prints one per line and exits 2 on, and
``error_words``: any unexpected exception as one line in words, for the places that
fail closed (a step, a probe, a verification, a poller, a command line's last resort).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cockpit.secrets import mask_userinfo


@dataclass(frozen=True, order=True)
class SourceError:
    """One problem in an input file; ``line`` is 1-based (0 when it concerns the whole file)."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return (
            f"{self.file}:{self.line}: {self.message}"
            if self.line
            else f"{self.file}: {self.message}"
        )


class InputErrors(Exception):
    """Every problem found in a set of input files, in file and line order."""

    def __init__(self, errors: list[SourceError]):
        self.errors = sorted(set(errors))
        super().__init__("\n".join(str(e) for e in self.errors))


class CockpitError(Exception):
    """A refusal or failure to be shown to the operator in words (no traceback)."""


def display_path(path: Path | str) -> str:
    """A path as the user would type it: relative to the current directory when inside it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(p)


def error_words(exc: BaseException) -> str:
    """An unexpected exception as one line in words: its message (an exception group's
    members joined), the kind in brackets; never a traceback, never a class name alone."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(error_words(e) for e in exc.exceptions)
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    # one printable line, whatever the message held (it may quote a server or a file)
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    text = mask_userinfo(text)  # an httpx message quotes the URL it was given
    if len(text) > 300:
        text = text[:297] + "..."
    kind = type(exc).__name__
    return f"{text} ({kind})" if text else f"an unexpected {kind} with no message"
