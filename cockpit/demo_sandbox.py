"""The demo's sandbox: a throwaway workspace that looks like a real release in progress.

Owns creating, in a temporary folder, a git repository with a history of
production tags (``production-v1.0.0`` … ``production-v1.2.0``, plus ``rc-v`` and
``hotfix-v`` tags that do not count) and conventional commits since the last
release, and a ``cockpit.yaml`` whose environments live on loopback. Commits
carry fixed dates so the same sandbox gives the same hashes (snapshot tests).
No network, no setup.
"""

from __future__ import annotations

import socket
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from cockpit.config import shipped_dir
from cockpit.demo_commands import vars_for
from cockpit.simservice import SimService

HISTORY: list[tuple[str, str | None]] = [
    ("feat: customer records and job scheduling", "production-v1.0.0"),
    ("feat: SMS reminders for upcoming jobs", "rc-v1.1.0"),
    ("fix: reminder time zone off by one hour", "production-v1.1.0"),
    ("fix: photo upload fails on large images (#112)", "production-v1.1.1"),
    ("fix(security): escape customer notes in invoices", "hotfix-v1.1.2"),
    ("feat: invoice PDF export", "production-v1.2.0"),
    ("feat: customer survey after each job (#131)", None),
    ("perf: dashboard loads 3x faster (#134)", None),
    ("fix: calendar sync drops recurring jobs (#137)", None),
    ("chore(deps): bump next from 14.2.3 to 14.2.5", None),
    ("Update SMS templates for holidays", None),
]
EPOCH = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_repo(root: Path, history: list[tuple[str, str | None]] = HISTORY) -> None:
    """A git repository at ``root`` with ``history`` as commits (and tags), fixed dates."""
    import git

    repo = git.Repo.init(root, initial_branch="main")
    with repo.config_writer() as cw:
        cw.set_value("user", "name", "Demo Operator")
        cw.set_value("user", "email", "demo@example.com")
    actor = git.Actor("Dirt Free Dev", "dev@dirt-free-crm.example")
    notes = root / "CHANGES.txt"
    for n, (message, tag) in enumerate(history):
        with notes.open("a") as fh:
            fh.write(message + "\n")
        repo.index.add([notes.name])
        when = f"{int((EPOCH + timedelta(days=3 * n)).timestamp())} +0000"
        repo.index.commit(
            message, author=actor, committer=actor, author_date=when, commit_date=when
        )
        if tag:
            repo.create_tag(tag)


def write_config(
    root: Path, staging_url: str, production_url: str, demo_tools: bool = True
) -> Path:
    """The demo's cockpit.yaml: the shipped config with loopback environments.

    With ``demo_tools``, the runbook's commands are wired to ``cockpit.demo_commands``.
    """
    shipped = yaml.safe_load((shipped_dir() / "cockpit.yaml").read_text())
    shipped["environments"] = {
        "staging": {"url": staging_url},
        "production": {"url": production_url},
    }
    shipped["health"]["interval"] = "1s"  # the demo shows changes within a couple of seconds
    if demo_tools:
        shipped["vars"].update(vars_for(sys.executable))  # stand-ins for the runbook's commands
    shipped["health"]["window"] = 30
    path = root / "cockpit.yaml"
    path.write_text(
        "# Release Cockpit demo workspace: environments on loopback, no network.\n"
        + yaml.safe_dump(shipped, sort_keys=False)
    )
    return path


def make_sandbox(parent: Path | None = None, service: SimService | None = None) -> Path:
    """A fresh demo workspace (git history, tags, config) in a new temporary folder.

    With ``service``, the environments point at the simulated application; without,
    at free loopback ports where nothing answers.
    """
    root = Path(tempfile.mkdtemp(prefix="cockpit-demo-", dir=parent))
    make_repo(root)
    (root / ".gitignore").write_text(".cockpit/\n.cockpit-demo/\n")
    if service is not None:
        write_config(root, service.url("staging"), service.url("production"))
    else:
        write_config(root, f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}")
    return root
