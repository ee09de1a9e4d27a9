"""A workspace: the repository being released, its config, runbook and run folders.

Owns resolving ``--workspace`` / ``--config`` / ``--runbook`` into a loaded,
validated ``Workspace``; the state folder (``WORKSPACE/.cockpit`` or
``$COCKPIT_STATE_DIR``) created owner-only; listing runs and finding the active
one; and the operator's name (``$COCKPIT_OPERATOR``, git ``user.name``, ``$USER``).
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cockpit.config import Config, find_config, load_config, runbook_dir
from cockpit.runbook import Runbook, load_runbook


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


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` and every missing parent owner-only (0700)."""
    missing = []
    walk = path
    while not walk.exists():
        missing.append(walk)
        walk = walk.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)
    if path not in missing:
        os.chmod(path, 0o700)
    return path


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
        state_dir = Path(env_dir).resolve() if env_dir else root / ".cockpit"
        return cls(root, config_path, cfg, book, state_dir)

    @property
    def runs_dir(self) -> Path:
        return self.state_dir / "runs"

    def run_dir(self, run_id: str) -> Path:
        return self.runs_dir / run_id

    def operator(self) -> str:
        return operator_name(self.root)

    def list_runs(self) -> list[RunSummary]:
        """Every run in the state folder, oldest first (read from each journal's first events)."""
        out = []
        if not self.runs_dir.is_dir():
            return out
        for journal in sorted(self.runs_dir.glob("*/journal.jsonl")):
            summary = _summarise(journal)
            if summary is not None:
                out.append(summary)
        return sorted(out, key=lambda r: (r.started_at, r.id))

    def active_run_id(self) -> str | None:
        """The newest run that has not been closed."""
        open_runs = [r for r in self.list_runs() if not r.closed]
        return open_runs[-1].id if open_runs else None


def _summarise(journal: Path) -> RunSummary | None:
    started = None
    closed = False
    try:
        with open(journal, "rb") as fh:
            for raw in fh:
                try:
                    event = json.loads(raw)
                except ValueError:
                    continue
                if not isinstance(event, dict):
                    continue
                if event.get("type") == "run.started" and started is None:
                    started = event
                elif event.get("type") == "run.closed":
                    closed = True
    except OSError:
        return None
    if started is None:
        return None
    run = started.get("run", {})
    return RunSummary(
        run.get("id", journal.parent.name),
        run.get("type", "?"),
        run.get("version", "?"),
        run.get("operator", started.get("by", "?")),
        run.get("started_at", started.get("ts", "")),
        closed,
    )
