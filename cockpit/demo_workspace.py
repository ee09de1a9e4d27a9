"""A demo workspace beyond one ``cockpit demo``: recognised, reopened live, cleaned away.

Owns the marker ``.cockpit-demo/demo.json`` that ``cockpit demo`` leaves in every
workspace it makes (what made it, when, and the pid of the demo serving it right now),
and what the marker allows: ``open_demo`` makes a demo workspace (in a new temporary
folder, or at ``--workspace DIR`` when DIR is new or empty) or reopens one made before —
its ``cockpit.yaml`` rewired to the simulated service, GitHub and mail relay just
started (``rewire``), CI's checks seeded again, the run in progress kept — and refuses
any other folder in words, never writing into it; ``stopped_demo`` says when a demo
workspace is opened without its simulated systems (they stopped with their demo);
``clean`` removes the demo's own folders from the temp folder: a ``cockpit-demo-*``
folder of this user with the marker, never through a symbolic link, and never one whose
demo still runs or whose run is driven now (a live run lock). No Textual here.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import psutil
import yaml

from cockpit import __version__
from cockpit.clock import Clock, iso
from cockpit.demo_commands import FAIL_FLAG, vars_for
from cockpit.demo_sandbox import MAIL_DIR, make_sandbox, seed_ci
from cockpit.errors import CockpitError
from cockpit.lock import RunLock
from cockpit.safefiles import StateFileError, read_bytes, replace_file
from cockpit.simgithub import SimGitHub
from cockpit.simmail import SimMail
from cockpit.simservice import SimService
from cockpit.workspace import Workspace

MARKER = Path(".cockpit-demo") / "demo.json"
"""In a demo workspace: what made it, and which demo process serves it now."""
MADE_BY = "cockpit demo"
PREFIX = "cockpit-demo-"
"""The name of every folder ``cockpit demo`` makes in the temp folder."""
HEADER = "# Release Cockpit demo workspace: environments on loopback, no network.\n"


def watch_command(root: Path) -> str:
    """What a second terminal types to watch the demo: ``cockpit --workspace DIR watch``."""
    return f"cockpit --workspace {shlex.quote(str(root))} watch"


def reopen_command(root: Path) -> str:
    return f"cockpit demo --workspace {shlex.quote(str(root))}"


def read_mark(root: Path) -> dict[str, Any] | None:
    """The demo marker of ``root``; None when ``root`` is not a demo workspace of this user
    (no marker, or one reached through a symbolic link, owned by someone else, or not the
    demo's)."""
    try:
        data = read_bytes(root / MARKER, root)
    except (OSError, CockpitError):
        return None
    try:
        found = json.loads(data or b"")
    except ValueError:
        return None
    if not isinstance(found, dict) or found.get("made_by") != MADE_BY:
        return None
    return found


def mark(root: Path, serving: bool) -> None:
    """Mark ``root`` as a demo workspace; ``serving``: this process serves it now."""
    previous = read_mark(root) or {}
    record: dict[str, Any] = {
        "made_by": MADE_BY,
        "version": __version__,
        "created_at": previous.get("created_at") or iso(Clock().now()),
        "pid": None,
        "create_time": None,
    }
    if serving:
        record.update(pid=os.getpid(), create_time=psutil.Process().create_time())
    (root / MARKER.parent).mkdir(exist_ok=True)
    replace_file(root / MARKER, json.dumps(record, indent=2).encode() + b"\n", root)


def serving_pid(record: dict[str, Any]) -> int | None:
    """The pid of the demo process serving the workspace now (None: no demo is running)."""
    pid, created = record.get("pid"), record.get("create_time")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid == os.getpid():
        return None
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        if isinstance(created, int | float) and abs(process.create_time() - created) > 1:
            return None  # the pid now belongs to another program
    except psutil.Error:
        return None
    return pid


def driven_run(root: Path) -> str | None:
    """Who drives a run of the workspace now (a live run lock), in words; None: nobody.

    Read from ``ROOT/.cockpit/runs/*/lock`` without loading the config; a link on the way
    is never followed (refused: nothing held there)."""
    state = root / ".cockpit"
    runs = state / "runs"
    if os.path.islink(state) or os.path.islink(runs) or not runs.is_dir():
        return None
    with contextlib.suppress(OSError):
        for entry in sorted(os.scandir(runs), key=lambda e: e.name):
            if not entry.is_dir(follow_symlinks=False):
                continue
            lock = RunLock(Path(entry.path) / "lock", anchor=state)
            if lock.is_held_elsewhere():
                holder = lock.read()
                who = holder.describe() if holder else "another process"
                return f"its run {entry.name} is being driven by {who}"
    return None


def in_use(root: Path, record: dict[str, Any]) -> str | None:
    """Why the demo workspace cannot be reopened or removed now, in words; None: it can."""
    pid = serving_pid(record)
    if pid is not None:
        return f"its demo is running now (pid {pid})"
    return driven_run(root)


def check_target(path: Path) -> bool:
    """Whether ``--workspace DIR`` reopens a demo workspace (True) or makes one (False: DIR
    is new, or an empty folder); any other folder, or one in use, is refused in words."""
    if os.path.islink(path):
        raise CockpitError(f"{path} is a symbolic link: the demo never writes through one")
    if not os.path.lexists(path):
        return False
    if not path.is_dir():
        raise CockpitError(f"{path} is a file, not a demo workspace: it is left as it is")
    record = read_mark(path)
    if record is None:
        if not any(path.iterdir()):
            return False
        raise CockpitError(
            f"{path} is not a demo workspace (no {MARKER} made by `cockpit demo` in it): "
            "the demo makes a new or empty folder its workspace, or reopens one it made, "
            "and leaves this one as it is"
        )
    busy = in_use(path, record)
    if busy is not None:
        raise CockpitError(
            f"the demo workspace {path} is in use: {busy}; watch it with `{watch_command(path)}`"
        )
    return True


def rewire(
    root: Path, service: SimService, github: SimGitHub | None = None, mail: SimMail | None = None
) -> None:
    """Point a demo workspace's ``cockpit.yaml`` at the simulated systems of this demo: the
    environments the service serves, the GitHub API, the mail relay, and the stand-in
    commands (this Python). Everything else in the file stays as it was."""
    path = root / "cockpit.yaml"
    if os.path.islink(path):
        raise CockpitError(f"{path} is a symbolic link: the demo never writes through one")
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CockpitError(f"{path}: cannot read the demo's config to reopen it ({exc})") from None
    if not isinstance(config, dict):
        raise CockpitError(f"{path}: not the demo's config (expected a mapping)")
    envs = config.get("environments")
    if not isinstance(envs, dict):
        envs = config["environments"] = {}
    for name in service.modes:
        if isinstance(envs.get(name), dict):
            envs[name]["url"] = service.url(name)
        else:
            envs[name] = {"url": service.url(name)}
    if github is not None and isinstance(config.get("github"), dict):
        poll = max(0.2, min(1.0, github.duration / 20))  # as write_config does
        config["github"].update(
            api_url=github.api_url, repo=github.repo, poll=f"{round(poll * 1000)}ms"
        )
    notify = config.get("notify")
    email = notify.get("email") if isinstance(notify, dict) else None
    if mail is not None and isinstance(email, dict):
        email.update(host=mail.host, port=mail.port)
    tools = config.get("vars")
    if isinstance(tools, dict):
        for name, command in vars_for(sys.executable).items():
            if "cockpit.demo_commands" in str(tools.get(name, "")):
                tools[name] = command
    text = HEADER + yaml.safe_dump(config, sort_keys=False)
    fresh = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fresh.write_text(text, encoding="utf-8")
        os.replace(fresh, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            fresh.unlink()
        raise CockpitError(f"cannot rewrite {path}: {exc.strerror or exc}") from None


def open_demo(
    path: Path | None,
    service: SimService,
    github: SimGitHub | None = None,
    mail: SimMail | None = None,
) -> tuple[Path, bool]:
    """The demo's workspace, served by this process: a new one (in a new temporary
    folder, or at ``path`` when it is new or empty) or, when ``path`` is a demo workspace
    made before, that one reopened with its config rewired to these simulated systems.
    Returns the folder and whether it was reopened; anything else is refused in words."""
    if path is None:
        root = make_sandbox(service=service, github=github, mail=mail)
        mark(root, serving=True)
        return root, False
    path = Path(os.path.abspath(path))
    if not check_target(path):
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CockpitError(f"cannot make the demo's folder {path}: {exc.strerror}") from None
        make_sandbox(service=service, github=github, mail=mail, at=path)
        mark(path, serving=True)
        return path, False
    mark(path, serving=True)  # first: a second demo or a `--clean` now leaves it alone
    rewire(path, service, github, mail)
    if github is not None:
        github.fail_flag = path / FAIL_FLAG
        seed_ci(github, Workspace.open(path))
    if mail is not None:
        mail.folder = path / MAIL_DIR
    return path, True


def stopped_demo(root: Path) -> str | None:
    """When ``root`` is a demo workspace whose demo is not running (its simulated systems
    stopped with it, so every probe would say DOWN): how to reopen it, in words."""
    record = read_mark(root)
    if record is None or serving_pid(record) is not None:
        return None
    return (
        f"{root} is a demo workspace and its simulated systems stopped with its demo "
        f"(driving it now would probe ports nobody answers): `{reopen_command(root)}` "
        f"reopens it with them, `{watch_command(root)}` only looks"
    )


def temp_folder() -> Path:
    """Where ``cockpit demo`` makes its folders (``TMPDIR``, else the system's)."""
    return Path(tempfile.gettempdir())


def clean(parent: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Remove the demo's folders in ``parent``: ``cockpit-demo-*`` folders of this user that
    carry the demo's marker, not links, not in use. Returns the folders removed and those
    left (with why, in words); a folder not made by the demo is not mentioned."""
    removed: list[Path] = []
    left: list[tuple[Path, str]] = []
    try:
        entries = sorted(os.scandir(parent), key=lambda e: e.name)
    except OSError as exc:
        raise CockpitError(f"cannot list {parent}: {exc.strerror or exc}") from None
    for entry in entries:
        if not entry.name.startswith(PREFIX):
            continue
        root = Path(entry.path)
        try:
            if entry.is_symlink() or not entry.is_dir(follow_symlinks=False):
                continue
            if entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
        except OSError:
            continue
        outcome = remove(root)
        if outcome is None:
            removed.append(root)
        elif outcome != NOT_A_DEMO:
            left.append((root, outcome))
    return removed, left


NOT_A_DEMO = "it is not a demo workspace"


def remove(root: Path) -> str | None:
    """Remove one demo workspace; None when removed, else why not (in words)."""
    if os.path.islink(root):
        return "it is a symbolic link"
    record = read_mark(root)
    if record is None:
        return NOT_A_DEMO
    busy = in_use(root, record)
    if busy is not None:
        return busy
    try:
        shutil.rmtree(root)  # never follows a link inside (it removes the link)
    except (OSError, StateFileError) as exc:
        return f"could not remove it: {getattr(exc, 'strerror', None) or exc}"
    return None
