"""Errors that point at a place in an input file.

Owns ``SourceError`` (one problem at ``FILE:LINE``) and ``InputErrors`` (all the
problems found in one pass), which the CLI prints one per line and exits 2 on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
