"""The demo's sandbox: a throwaway workspace that looks like a real release in progress.

Owns creating, in a temporary folder, a git repository with a history of
production tags (``production-v1.0.0`` … ``production-v1.2.0``, plus ``rc-v`` and
``hotfix-v`` tags that do not count) and conventional commits since the last
release, and a ``cockpit.yaml`` whose environments and GitHub API live on loopback;
and the demo's GitHub (``demo_github``): a ``SimGitHub`` whose deploy workflow runs
build, deploy and smoke jobs for ``COCKPIT_DEMO_WORKFLOW_SECONDS`` (default 20), with a
demo token in the environment the steps' supervisors inherit, CI's checks on the release
commit passed (``seed_ci``), the stakeholder e-mail sent to a loopback relay that keeps
it in ``.cockpit-demo/mail/`` (``cockpit.simmail``), and the steps still running when the demo ends aborted
(``abort_left_running``). Commits carry fixed dates so the same sandbox gives the same
hashes (snapshot tests). No network, no setup.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from cockpit.config import shipped_dir
from cockpit.demo_commands import FAIL_FLAG, GITHUB_API_VAR, vars_for
from cockpit.errors import CockpitError
from cockpit.simgithub import SimGitHub
from cockpit.simmail import SimMail
from cockpit.simservice import SimService
from cockpit.workspace import Workspace

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
DEMO_TOKEN = "demo-token"
"""The simulated GitHub's token, exported as the config's ``github.token_env``."""
DEMO_SENDER = "releases@dirt-free-crm.com"
DEMO_RECIPIENTS = ("stakeholders@dirt-free-crm.com", "support@dirt-free-crm.com")
MAIL_DIR = Path(".cockpit-demo") / "mail"
"""Where the demo's relay keeps each message it received (in the sandbox)."""
WORKFLOW_SECONDS_VAR = "COCKPIT_DEMO_WORKFLOW_SECONDS"
WORKFLOW_SECONDS = 20.0
DEMO_JOBS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("build", ("Set up job", "Check out", "Install dependencies", "Type check", "Build")),
    ("deploy", ("Set up job", "Deploy to Vercel", "Promote to production")),
    ("smoke", ("Set up job", "Smoke test /api/ready", "Smoke test login")),
)


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


def workflow_seconds() -> float:
    """How long the demo's deploy workflow runs (``COCKPIT_DEMO_WORKFLOW_SECONDS``)."""
    text = os.environ.get(WORKFLOW_SECONDS_VAR, "").strip()
    if not text:
        return WORKFLOW_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0.5 <= seconds <= 3600:
        raise CockpitError(
            f"{WORKFLOW_SECONDS_VAR}={text!r}: expected a number of seconds from 0.5 to 3600"
        )
    return seconds


def write_config(
    root: Path,
    staging_url: str,
    production_url: str,
    demo_tools: bool = True,
    github: SimGitHub | None = None,
    mail: SimMail | None = None,
) -> Path:
    """The demo's cockpit.yaml: the shipped config with loopback environments.

    With ``demo_tools``, the runbook's commands are wired to ``cockpit.demo_commands``.
    With ``github``, workflows go to that simulated GitHub; without, to a loopback port
    where nothing answers (a sandbox never reaches the real GitHub). With ``mail``, the
    stakeholder e-mail goes to that loopback relay (kept in its folder).
    """
    shipped = yaml.safe_load((shipped_dir() / "cockpit.yaml").read_text())
    shipped["environments"] = {
        "staging": {"url": staging_url},
        "production": {"url": production_url},
    }
    if "github" in shipped:
        if github is None:
            shipped["github"]["api_url"] = f"http://127.0.0.1:{free_port()}"
        else:
            poll = max(0.2, min(1.0, github.duration / 20))  # a line per change, promptly
            shipped["github"].update(
                api_url=github.api_url, repo=github.repo, poll=f"{round(poll * 1000)}ms"
            )
    if mail is not None:
        shipped.setdefault("notify", {})["email"] = {
            "host": mail.host,
            "port": mail.port,
            "security": "none",  # loopback only
            "from": DEMO_SENDER,
            "to": list(DEMO_RECIPIENTS),
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


@contextlib.contextmanager
def demo_github() -> Iterator[SimGitHub]:
    """The demo's GitHub on loopback, its token exported (as ``GH_TOKEN``, the shipped
    config's ``github.token_env``) for this process and the supervisors it starts, and
    restored after."""
    sim = SimGitHub(
        repo="dirt-free/crm", token=DEMO_TOKEN, duration=workflow_seconds(), jobs=DEMO_JOBS
    )
    saved = {name: os.environ.get(name) for name in ("GH_TOKEN", GITHUB_API_VAR)}
    with sim:
        os.environ["GH_TOKEN"] = DEMO_TOKEN
        os.environ[GITHUB_API_VAR] = f"{sim.api_url}/repos/{sim.repo}"  # the gh stand-in's
        try:
            yield sim
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def seed_ci(github: SimGitHub, ws: Workspace) -> None:
    """What CI says about the sandbox's release commit (HEAD) on the simulated GitHub:
    every check run and workflow the runbook's items verify themselves from
    (``auto: {github_check:}``, ``auto: {workflow:}``), passed."""
    import git

    sha = git.Repo(ws.root).head.commit.hexsha
    for phase in ws.runbook.phases.values():
        for entry in phase.entries():
            auto = entry.item.auto
            if getattr(auto, "github_check", None):
                github.set_check(sha, auto.github_check, "success")
            if getattr(auto, "workflow", None):
                github.set_workflow_run(auto.workflow, sha, "success")


def make_sandbox(
    parent: Path | None = None,
    service: SimService | None = None,
    github: SimGitHub | None = None,
    mail: SimMail | None = None,
    at: Path | None = None,
) -> Path:
    """A fresh demo workspace (git history, tags, config) in a new temporary folder (or in
    ``at``, an empty folder).

    With ``service``, the environments point at the simulated application; without,
    at free loopback ports where nothing answers. With ``github``, the workflows go to
    it, and the demo's "fail next" fails its next workflow run too. With ``mail``, the
    e-mail goes to that relay, which keeps it in the sandbox's ``MAIL_DIR``.
    """
    root = at if at is not None else Path(tempfile.mkdtemp(prefix="cockpit-demo-", dir=parent))
    make_repo(root)
    (root / ".gitignore").write_text(".cockpit/\n.cockpit-demo/\n")
    if github is not None:
        github.fail_flag = root / FAIL_FLAG
    if mail is not None:
        mail.folder = root / MAIL_DIR
    if service is not None:
        write_config(
            root, service.url("staging"), service.url("production"), github=github, mail=mail
        )
    else:
        write_config(root, f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}")
    if github is not None:
        seed_ci(github, Workspace.open(root))
    return root


def abort_left_running(ws: Workspace, run_id: str | None) -> list[str]:
    """Abort the demo run's steps still running as the demo ends, while its simulated
    systems still answer (a followed workflow would wait for a GitHub that is gone, a
    command would probe a service that is gone); each abort in words."""
    import asyncio

    from cockpit.driver import RunDriver
    from cockpit.session import RunSession

    if run_id is None:
        return []
    session = RunSession(ws, run_id)
    said = []
    try:
        running = session.state.running_steps()
        if not running:
            return []
        try:
            session.take_lock()
        except CockpitError as exc:
            return [f"steps still running, left as they are: {exc}"]
        for phase_id, step_id in running:
            title = session.step_spec(phase_id, step_id).title
            asyncio.run(RunDriver(session).abort_step(phase_id, step_id))
            session.refresh()
            st = session.state.step(phase_id, step_id)
            ended = [c.outcome for c in st.commands if c.outcome]
            how = ended[-1] if ended else st.reason or "no reason given"
            said.append(f"{title} was still running: {st.state} ({how})")
    finally:
        session.close()
    return said
