"""A watcher is read-only: every key of every screen and every command of the palette, on a
run started with the CLI and driven by nobody, leaves the run's journal byte-identical, the
workspace (run folder and git repository included) untouched, no tag or branch made, and
no step's command run.

The keys and commands are enumerated, never listed by hand (a key added later is pressed
too): the screen's ``BINDINGS``, the app's, ``screen.active_bindings`` (the focused
widget's movement keys, the palette key) and ``CockpitApp.get_system_commands(screen)``
(what the palette offers). A dialog a key opens is answered yes (its text filled, ``y``,
Enter, its affirmative buttons), then closed with its own keys. The one thing a watcher
may write is Textual's Screenshot command: an SVG in the user's downloads folder, never in
the workspace (here a folder of the test's own)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import unicodedata
from collections import Counter
from pathlib import Path

from textual import events
from textual.binding import Binding
from textual.command import CommandPalette
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Input

from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.checklist import ChecklistScreen
from screens.dashboard import DashboardScreen
from screens.decision import DecisionDialog
from screens.deploy import DeployScreen
from screens.history import HistoryScreen
from screens.keys import KeysScreen
from screens.release import ReleaseScreen, ReportScreen
from screens.start import WaitingScreen
from tests.helpers import LONG_LIVED, phase_workspace, run_cli, until

RUNBOOK = {
    "10-gates.yaml": """\
id: gates
title: Gates
sections:
  - title: Checks
    items:
      - Tests are green
      - {text: Security scan reviewed, note_required: true}
      - {text: "Is the change log complete?", answer: yes-no}
  - title: Sign-off
    role: QA lead
    items: [QA signs off]
""",
    "20-ship.yaml": """\
id: ship
title: Ship payments-api
kind: deploy
environment: live
after: [gates]
steps:
  - id: roll
    title: Roll the fleet
    confirm: live
    commands:
      - run: "touch {marker}"
  - id: soak
    title: Soak
    budget: 10m
    checks: [Error rate flat]
""",
    "30-go.yaml": """\
id: go-no-go
title: Go / no-go
kind: decision
sections:
  - title: Abort when
    kind: criteria
    items:
      - {text: The API answers 5xx, id: api-5xx, records: signal-down}
  - title: Call it
    items:
      - {text: Write down why, id: why, records: decision-rationale, note_required: true}
""",
    "40-revert.yaml": """\
id: revert
title: Revert the fleet
kind: rollback
after: [go-no-go]
steps:
  - id: back
    title: Roll back
    commands:
      - run: "touch {marker}"
""",
    "50-hotfix.yaml": """\
id: emergency
title: Emergency fix
kind: hotfix
sections:
  - title: Branch
    items:
      - {text: Branch cut from the live tag, id: cut, records: hotfix-branch}
""",
    "60-review.yaml": """\
id: review
title: Review
kind: review
sections:
  - title: Meeting
    items: [Timeline read]
""",
}


def git(root: Path, *args: str) -> str:
    who = {
        f"GIT_{role}_{what}": "t" for role in ("AUTHOR", "COMMITTER") for what in ("NAME", "EMAIL")
    }
    done = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, env={**os.environ, **who}
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``root`` (``.git`` and ``.cockpit`` included): its size
    and modification time (a folder's changes when an entry is made or removed in it)."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            st = os.lstat(os.path.join(folder, name))
            found[os.path.relpath(os.path.join(folder, name), root)] = (st.st_size, st.st_mtime_ns)
    found["."] = (0, os.lstat(root).st_mtime_ns)
    return found


def keys_of(screen: Screen) -> list[str]:
    """Every key ``screen`` could answer to: what it answers to now (its widgets' keys, the
    palette's), and every binding of the screen and of the app, hidden ones included."""
    keys = dict.fromkeys(screen.active_bindings)
    for binding in [*screen.BINDINGS, *screen.app.BINDINGS]:
        key = binding.key if isinstance(binding, Binding) else binding[0]
        keys.update(dict.fromkeys(k.strip() for k in key.split(",")))
    keys.pop("ctrl+q")  # quits the watcher: pressed last, once
    return list(keys)


def typed(key: str) -> str | None:
    """The character a key types (``question_mark``: ``?``), None for one typing none."""
    if len(key) == 1:
        return key
    with contextlib.suppress(KeyError):
        return unicodedata.lookup(key.replace("_", " ").upper())
    return None


class Walk:
    """One watcher session going through its screens, pressing and running everything."""

    def __init__(self, app: CockpitApp, pilot, downloads: Path):
        self.app = app
        self.pilot = pilot
        self.downloads = downloads
        self.counts: dict[str, tuple[int, int, int]] = {}
        self.dialogs: Counter[str] = Counter()
        self.ran: set[str] = set()
        """Commands whose callable is the same on every screen (the app's), run once."""
        self.quits: set[object] = set()

    async def screen(self, name: str, reach) -> Screen:
        """Press every key of the screen ``reach`` opens, then run every palette command
        it offers; after each, back to a fresh one if it went elsewhere. Returns the
        screen reached first."""
        app = self.app
        screen = first = await self.reach(reach)
        keys = keys_of(screen)
        titles = [c.title for c in app.get_system_commands(screen)]
        for key in keys:
            screen = await self.back_to(screen, reach)
            focused = screen.focused
            await self.press(key)
            await self.answer_dialogs()
            if app.screen is screen and focused is not None and screen.focused is not focused:
                focused.focus()  # the next key acts where this one did (tab moved it)
        ran = 0
        for title in titles:
            screen = await self.back_to(screen, reach)
            offered = {c.title: c.callback for c in app.get_system_commands(screen)}
            if title not in offered:  # Maximize: the focus moved; a fresh screen has it
                screen = await self.reach(reach)
                offered = {c.title: c.callback for c in app.get_system_commands(screen)}
            assert title in offered, f"{name}: {title!r} no longer offered"
            command = offered[title]
            if title == "Quit":
                self.quits.add(command)  # ends the session: run last, once
                continue
            if self.same_everywhere(title, command):
                if title in self.ran:
                    continue
                self.ran.add(title)
            ran += 1
            app.call_later(command)  # as the palette runs a command
            await self.quiet()
            if title == "Screenshot":  # saved after a timer, from a thread
                saved = lambda: any(self.downloads.iterdir())  # noqa: E731
                await until(self.pilot, saved, f"the screenshot of {name}", attempts=1000)
            await self.answer_dialogs()
        self.counts[name] = (len(keys), len(titles), ran)
        return first

    def same_everywhere(self, title: str, command) -> bool:
        """The app's own commands (a phase, the dashboard, the history, the theme, a
        screenshot; the keys: ``?``, pressed on every screen) do the same whatever the
        screen: run once. The screen's own actions and Maximize are run on every screen."""
        app_method = getattr(command, "__self__", None) is self.app
        return app_method or title.startswith("Open phase: ") or title in ("Theme", "Screenshot")

    async def press(self, key: str) -> None:
        """``key`` as the terminal sends it (``Pilot.press`` without its waits for an idle
        CPU, some 0.1 s a key): handled once the app's and screen's queues are."""
        app = self.app
        app.post_message(events.Key(key, typed(key)))
        await self.quiet()

    async def quiet(self) -> None:
        """What was asked is done: the queues processed, every short-lived worker ended
        (``settle`` without its waits for an idle CPU and its redraws)."""
        await self.processed()
        app = self.app
        busy = [w for w in app.workers if w.group not in LONG_LIVED and not w.is_finished]
        if busy:
            await app.workers.wait_for_complete(busy)
            await self.processed()

    async def processed(self) -> None:
        """Every message queued on the app and the screen on show so far is handled (as
        ``Pilot.pause`` waits, without the redraw it forces: most of the time here)."""
        for _ in range(2):  # and what handling them queued
            app = self.app
            loop = asyncio.get_running_loop()
            handled = []
            for node in [app, *app.screen.walk_children(with_self=True)]:
                done = loop.create_future()
                if node.call_later(done.set_result, None):
                    handled.append(done)
            if handled:
                await asyncio.wait_for(asyncio.gather(*handled), timeout=30)

    async def reach(self, reach) -> Screen:
        await reach()
        await self.quiet()
        return self.app.screen

    async def back_to(self, screen: Screen, reach) -> Screen:
        """``screen`` on show again: what went over it closed, else a new one reached."""
        app = self.app
        if app.screen is screen:
            return screen
        await self.answer_dialogs()
        if screen not in app.screen_stack:
            return await self.reach(reach)
        while app.screen is not screen:
            await app.pop_screen()
        await self.quiet()
        return screen

    async def answer_dialogs(self) -> None:
        """Say yes to whatever dialog is open (its text filled, ``y``, Enter, its
        affirmative buttons), then close it with its own keys; a dialog it opens is
        answered too."""
        app = self.app
        for _ in range(10):
            top = app.screen
            if not isinstance(top, ModalScreen):
                return
            self.dialogs[type(top).__name__] += 1
            if isinstance(top, CommandPalette):  # Textual's (the theme picker): its
                await self.press("escape")  # commands are run one by one above
                continue
            for field in top.query(Input):
                field.value = "said by a watcher"
            for key in ("y", "enter"):
                if app.screen is top:
                    await self.press(key)
            for button in list(top.query(Button)):
                if app.screen is top and button.variant != "default":
                    button.press()
                    await self.quiet()
            closing = [b.key if isinstance(b, Binding) else b[0] for b in top.BINDINGS]
            for key in [k.strip() for keys in closing for k in keys.split(",")] + ["escape"]:
                if app.screen is top:
                    await self.press(key)
            assert app.screen is not top, f"{type(top).__name__} could not be closed"


async def test_a_watcher_writes_nothing_whatever_it_presses(tmp_path, monkeypatch):
    downloads = tmp_path / "downloads"  # Textual's Screenshot command saves there
    downloads.mkdir()
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(downloads))
    marker = tmp_path / "marker"  # every step's command would make it
    root = phase_workspace(
        tmp_path / "ws",
        RUNBOOK,
        environments={"live": {"url": "http://127.0.0.1:9/"}},
        notify={"slack_webhook": "http://127.0.0.1:9/hook"},
        vars={"marker": str(marker)},
    )
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the runbook")
    git(root, "tag", "production-v2.3.0")
    os.utime(root / "cockpit.yaml", ns=(0, 0))  # its stat in the index stale: `git status`
    # would write the index anew (a look must not: GIT_OPTIONAL_LOCKS, cockpit.git_summary)
    refs = git(root, "for-each-ref")
    before_run = tree(root)

    app = CockpitApp(Workspace.open(root), None, read_only=True, follow_interval=0.1)
    async with app.run_test(size=(100, 30)) as pilot:
        walk = Walk(app, pilot, downloads)

        async def waiting():
            while not isinstance(app.screen, WaitingScreen):
                app.pop_screen()

        await until(pilot, lambda: isinstance(app.screen, WaitingScreen), "waiting for a run")
        assert isinstance(await walk.screen("waiting", waiting), WaitingScreen)
        assert tree(root) == before_run

        assert run_cli(root, "start", "--type", "standard", "--version", "2.4.0").returncode == 0
        ticked = run_cli(root, "check", "gates", "tests-are-green", "--note", "CI #7")
        assert ticked.returncode == 0, ticked.stderr
        journal = next(root.glob(".cockpit/runs/*/journal.jsonl"))
        written = journal.read_bytes()
        before = tree(root)
        await until(
            pilot, lambda: isinstance(app.screen, DashboardScreen), "the run picked up", 1000
        )

        def on_top(make):
            async def reach():
                app.action_dashboard()
                await app.push_screen(make())

            return reach

        async def dashboard():
            app.action_dashboard()

        def phase(phase_id):
            async def reach():
                app.open_phase(phase_id)

            return reach

        async def keys_help():
            app.action_dashboard()
            app.action_show_keys()

        assert isinstance(await walk.screen("dashboard", dashboard), DashboardScreen)
        for phase_id, spec in app.ws.runbook.phases.items():
            checklist = on_top(lambda p=phase_id: ChecklistScreen(p))
            assert isinstance(
                await walk.screen(f"{phase_id} checklist", checklist), ChecklistScreen
            )
            if any(step.commands for step in spec.steps):
                assert isinstance(
                    await walk.screen(f"{phase_id} steps", phase(phase_id)), DeployScreen
                )
        assert isinstance(await walk.screen("release", on_top(ReleaseScreen)), ReleaseScreen)
        assert isinstance(await walk.screen("report", on_top(ReportScreen)), ReportScreen)
        assert isinstance(await walk.screen("history", on_top(HistoryScreen)), HistoryScreen)
        assert isinstance(await walk.screen("keys", keys_help), KeysScreen)

        for name, (keys, commands, ran) in walk.counts.items():
            print(f"{name}: {keys} keys pressed, {commands} palette commands ({ran} run here)")
        print(f"dialogs answered: {dict(walk.dialogs)}")
        # the decision dialog is not reachable: its key (d) and R are the driver's
        assert DecisionDialog.__name__ not in walk.dialogs
        assert {"KeysScreen", "TextPrompt"} <= set(walk.dialogs)  # ?, and / on a deploy screen
        assert walk.quits == {app.action_request_quit}  # the palette's Quit is ctrl+q's
        await walk.reach(dashboard)
        await pilot.press("ctrl+q")
    assert app.return_code == 0

    assert journal.read_bytes() == written
    assert tree(root) == before
    assert git(root, "for-each-ref") == refs
    assert not marker.exists()
    assert [p.suffix for p in downloads.iterdir()] == [".svg"]  # Screenshot: outside it
