"""A workspace: the repository being released, its config, runbook and run folders.

Owns resolving ``--workspace`` / ``--config`` / ``--runbook`` into a loaded,
validated ``Workspace``; where the state folder is (``WORKSPACE/.cockpit`` or
``$COCKPIT_STATE_DIR``, checked and created through ``cockpit.safefiles``: a link or a
folder of another user there is refused); listing runs and finding the active one; and
the operator's name (``$COCKPIT_OPERATOR``, git ``user.name``, ``$USER``).
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from pathlib import Path

from cockpit.config import Config, find_config, load_config, runbook_dir
from cockpit.journal import JournalError, decode, line_type
from cockpit.runbook import Runbook, load_runbook
from cockpit.safefiles import check_folder, reading
from cockpit.versions import Versioning


def operator_name(root: Path) -> str:
    """Who is at the keyboard: $COCKPIT_OPERATOR, else git user.name, else the login name."""
    explicit = os.environ.get("COCKPIT_OPERATOR", "").strip()
    if explicit:
        return explicit
    try:
        import git

        repo = git.Repo(root, search_parent_directories=True)
        name = repo.config_reader().get_value("user", "name", default="")
        if str(name).strip():
            return str(name).strip()
    except Exception:  # no repo, no git, unreadable config: fall back to the login name
        pass
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


@dataclass
class RunSummary:
    """One line of ``cockpit runs``."""

    id: str
    type: str
    version: str
    operator: str
    started_at: str
    closed: bool


@dataclass
class Workspace:
    """A loaded workspace."""

    root: Path
    config_path: Path
    config: Config
    runbook: Runbook
    state_dir: Path

    @classmethod
    def open(cls, root: Path, config: Path | None = None, runbook: Path | None = None) -> Workspace:
        """Load config and runbook; raises InputErrors listing every problem."""
        root = root.resolve()
        config_path = find_config(root, config)
        cfg = load_config(config_path)
        book = load_runbook(runbook_dir(cfg, root, runbook), cfg)
        env_dir = os.environ.get("COCKPIT_STATE_DIR")
        # not resolved: a link there is refused when used, never silently followed
        state_dir = Path(os.path.abspath(env_dir)) if env_dir else root / ".cockpit"
        return cls(root, config_path, cfg, book, state_dir)

    @property
    def versioning(self) -> Versioning:
        """The config's version rules: scheme, production tag pattern, release types."""
        return self.config.versioning_rules()

    @property
    def runs_dir(self) -> Path:
        return self.state_dir / "runs"

    def run_dir(self, run_id: str) -> Path:
        return self.runs_dir / run_id

    def operator(self) -> str:
        return operator_name(self.root)

    def list_runs(self, warnings: list[str] | None = None) -> list[RunSummary]:
        """Every run in the state folder, oldest first (read from each journal's first events).

        A run that cannot be listed (a link, no readable ``run.started``) is left out with a
        warning in ``warnings``; a refused state folder is a ``StateFileError``.
        """
        out: list[RunSummary] = []
        warnings = [] if warnings is None else warnings
        for journal in self.journals(warnings):
            summary = _summarise(journal, self.state_dir, warnings)
            if summary is not None:
                out.append(summary)
        return sorted(out, key=lambda r: (r.started_at, r.id))

    def journals(self, warnings: list[str]) -> list[Path]:
        """The journal of every run folder, by folder name (a link is left out with a
        warning; a refused state folder is a ``StateFileError``)."""
        out: list[Path] = []
        if not check_folder(self.runs_dir, self.state_dir):
            return out
        for entry in sorted(os.scandir(self.runs_dir), key=lambda e: e.name):
            if entry.is_symlink():
                warnings.append(f"refusing to use {entry.path}: it is a symbolic link")
                continue
            if not entry.is_dir(follow_symlinks=False):
                continue
            journal = Path(entry.path) / "journal.jsonl"
            if os.path.lexists(journal):
                out.append(journal)
        return out

    def active_run_id(self, warnings: list[str] | None = None) -> str | None:
        """The newest run that has not been closed (runs left out: said in ``warnings``)."""
        open_runs = [r for r in self.list_runs(warnings) if not r.closed]
        return open_runs[-1].id if open_runs else None


_LISTED = frozenset({b"run.started", b"run.closed"})


def _summarise(journal: Path, anchor: Path, warnings: list[str]) -> RunSummary | None:
    started = None
    closed = False
    number = 0
    try:
        with reading(journal, anchor) as fh:
            for number, raw in enumerate(fh, 1):
                kind = line_type(raw)
                if kind is not None and kind not in _LISTED:
                    continue  # a run's bulk (health samples, steps) is not what is listed
                try:
                    event, _ = decode(raw.rstrip(b"\n"), f"{journal}:{number}")
                except JournalError as exc:  # a newer format: listed, opening it says why
                    warnings.append(str(exc))
                    break
                if event is None:
                    continue
                if event["type"] == "run.started" and started is None:
                    started = event
                elif event["type"] == "run.closed":
                    closed = True
    except OSError as exc:
        warnings.append(f"{exc}; the run is not listed")
        return None
    if started is None:
        if number:  # an empty journal is a run being started right now
            warnings.append(f"{journal}: no readable run.started event; the run is not listed")
        return None
    run = started["run"]
    return RunSummary(
        run["id"],
        run["type"],
        run["version"],
        run.get("operator") or started.get("by") or "?",
        run.get("started_at") or started["ts"],
        closed,
    )
