"""The Release Cockpit app: which screen shows, what moved, quitting safely.

Owns the App: which screen opens (start screen, dashboard, a phase), passing on what
moved as messages to the active screen (``screens.messages``: only the widgets that
handle one redraw), health (the monitor's probes while driving; for a watcher, the
driver's journaled health — a watcher never probes), the command palette's commands (in
runbook order, ``screens.palette``), ``?`` (the keys, ``screens.keys``) and the words a
dimmed key says when pressed, and asking before quitting while a run is driven
(SIGHUP/SIGTERM detach). What moves on its
own is read by ``screens.following``; what a key asks of the run goes through
``screens.intents`` to the driver. Also ``run_app``, the CLI's way in, which takes the
driver lock first.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import threading
from collections.abc import Iterable, Mapping

from textual import events
from textual.actions import ActionParseResult
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Input, TextArea
from textual.worker import Worker, WorkerState

from cockpit.clock import Clock
from cockpit.commander import DriverFacts
from cockpit.driver import Alert, RunDriver
from cockpit.events import Event
from cockpit.journalhealth import JournalHealth
from cockpit.monitor import EnvHealth, HealthMonitor
from cockpit.probe import DOWN, Sample
from cockpit.session import RunSession
from cockpit.simservice import SimService
from cockpit.workspace import Workspace
from screens import followmode
from screens.checklist import ChecklistScreen
from screens.dashboard import DashboardScreen
from screens.deploy import DeployScreen
from screens.dialogs import Confirm
from screens.following import Following
from screens.intents import Intents
from screens.keys import refused, show_keys
from screens.messages import HealthSampled, JournalAdvanced, OutputPending, RunMessage, deliver
from screens.palette import InOrderCommands
from screens.start import StartScreen, WaitingScreen

DETACH_GRACE = 3.0
"""Seconds the app gets to close the terminal after SIGHUP/SIGTERM before it just exits."""


class CockpitApp(App[int]):
    """The cockpit on one workspace and (once started) one run."""

    CSS_PATH = "app.tcss"
    TITLE = "Release Cockpit"
    COMMANDS = {InOrderCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    """Below 110 columns (a laptop's 80x24) the deploy screen stacks its log under the
    steps, full width (``app.tcss``)."""
    BINDINGS = [
        Binding("ctrl+q", "request_quit", "Quit", id="app.quit", priority=True),
        Binding("d", "dashboard", "Dashboard", id="app.dashboard", show=False),
        Binding("question_mark", "show_keys", "Keys", id="app.keys", priority=True),
        Binding("F", "follow_driver", "Follow driver", id="app.follow", priority=True),
    ]

    def __init__(
        self,
        ws: Workspace,
        session: RunSession | None,
        *,
        read_only: bool = False,
        clock: Clock | None = None,
        follow_interval: float = 0.5,
        poll_health: bool = True,
        demo: SimService | None = None,
        first_phase: str | None = None,
        follow_driver: bool = True,
    ):
        super().__init__()
        self.ws = ws
        self.session = session
        self.read_only = read_only
        self.clock = clock or Clock()
        self.follow_interval = follow_interval
        self.takeover_message: str | None = None
        self.demo = demo
        self.monitor: HealthMonitor | None = None
        """The driving cockpit's health polling (a watcher has none: it never probes)."""
        if ws.config.environments and not read_only:
            self.monitor = HealthMonitor.from_config(ws.config, self._on_health, self.clock)
        self.journal_health: JournalHealth | None = None
        """A watcher's health: the driver's, as journaled (``enter_run`` renews it)."""
        if session is not None and read_only:
            self.journal_health = JournalHealth.of_run(ws.config, session.state)
        self.poll_health = poll_health
        self.driver: RunDriver | None = None
        self.driver_facts: DriverFacts | None = None
        """A watcher's last look at who drives (``Following.look_at_driver``)."""
        self.driver_gone_since: str | None = None
        """When this watcher noticed that the driver was gone (None: it is not)."""
        self.follow_driver = follow_driver and read_only
        """A watcher shows what the driver shows (``screens.followmode``)."""
        self._watchdog: threading.Timer | None = None
        self.intents = Intents(self)
        self.following = Following(self)
        if session is not None and not read_only:
            self.driver = self._driver_for(session)
        self.first_phase = first_phase

    # -- screens ------------------------------------------------------------------------

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """A toast in plain text: its words often come from outside (a runbook text, a
        ready body, an error), and ``[`` in them is never read as markup."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def _driver_for(self, session: RunSession) -> RunDriver:
        return RunDriver(session, self.monitor, self._alert, self._changed)

    def _changed(self, events: list[Event]) -> None:
        self.post_message(JournalAdvanced(events))

    def redraw(self) -> None:
        """Something not in the journal changed (an orphan found, a run entered)."""
        self.post_message(JournalAdvanced(everything=True))

    def _to_screen(self, message: RunMessage) -> None:
        """Hand a change to the widgets of the screen on show (none while closing)."""
        if self.screen_stack:
            deliver(self.screen, message)

    def on_journal_advanced(self, message: JournalAdvanced) -> None:
        self._to_screen(message)
        if self.follow_driver:
            followmode.follow(self)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded and self.read_only:
            followmode.key_pressed(self, event.key)
        await super().on_event(event)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "follow_driver":
            return self.read_only and self.session is not None
        if action == "show_keys":  # typing: `?` is text
            return not isinstance(self.focused, Input | TextArea)
        return True

    def action_follow_driver(self) -> None:
        """A watcher follows the driver's screen again."""
        self.follow_driver = True
        self.notify("Following the driver's screen: any key stops it.", title="Follow on")
        followmode.follow(self)
        self.redraw()

    def on_output_pending(self, message: OutputPending) -> None:
        self._to_screen(message)

    def on_health_sampled(self, message: HealthSampled) -> None:
        self._to_screen(message)

    def _alert(self, alert: Alert) -> None:
        self.notify(alert.message, title=alert.title, severity=alert.severity, timeout=20)

    def on_mount(self) -> None:
        if not self.read_only:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGHUP, signal.SIGTERM):
                loop.add_signal_handler(sig, self._detach, sig)
        # Everything built so far (Textual, the runbook, the widgets) lives for the whole
        # session: move it out of the collector's way, so that a full GC pass never stalls
        # the event loop while a deploy streams (see bench/).
        self.call_after_refresh(gc.freeze)
        if self.monitor is not None and self.poll_health:
            self.run_worker(
                self.monitor.run(), group="health", name="health polling", exit_on_error=False
            )
        if self.session is None and self.read_only:
            self.push_screen(WaitingScreen())
            self.following.wait_for_run()
        elif self.session is None:
            self.push_screen(StartScreen())
        else:
            self.push_screen(DashboardScreen())
            for warning in self.session.state.warnings:  # lines skipped when it was loaded
                self.notify(warning, title="Journal", severity="warning", timeout=20)
            self.following.follow()
            self.following.reconcile()
            if self.first_phase:
                self.open_phase(self.first_phase)
        if self.takeover_message:
            self.notify(self.takeover_message, title="Lock taken over", severity="warning")

    def on_unmount(self) -> None:
        if not self.read_only:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGHUP, signal.SIGTERM):
                loop.remove_signal_handler(sig)
        # the watchdog stays: Textual's own shutdown can still hang on a terminal that is
        # gone (its output thread); only ``run_app`` knows the app really returned

    def open_phase(self, phase_id: str) -> None:
        """A phase with commands to run opens on the deploy screen, any other on its checklist."""
        if phase_id not in self.ws.runbook.phases:
            self.notify(
                f"This runbook has no phase {phase_id!r}.",
                title="Nothing to open",
                severity="error",
            )
            return
        while len(self.screen_stack) > 2:
            self.pop_screen()
        phase = self.ws.runbook.phase(phase_id)
        runnable = self.session is not None and any(
            s.commands for s in phase.steps_for(self.session.release_type)
        )
        self.push_screen(DeployScreen(phase_id) if runnable else ChecklistScreen(phase_id))

    # -- the run: what reconciling finds, what a key asks for --------------------------

    @property
    def orphans(self) -> list[tuple[str, str]]:
        """Steps whose command outlived its supervisor (only the driving cockpit knows)."""
        return self.driver.orphans() if self.driver is not None else []

    def running_step(self) -> tuple[str, str] | None:
        """The command step running now (under its supervisor), if any."""
        if self.session is None:
            return None
        running = self.session.state.running_steps()
        return running[0] if running else None

    def action_dashboard(self) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()

    def action_history(self) -> None:
        """The release history (every run of the workspace) over the screen on show: it
        only reads, so it opens while driving, watching, or with no run open."""
        from screens.history import HistoryScreen  # plotting loads only when asked for

        if not isinstance(self.screen, HistoryScreen):
            self.push_screen(HistoryScreen())

    def action_show_keys(self) -> None:
        """``?``: the keys of the screen on show (again: closes them)."""
        show_keys(self)

    async def run_action(
        self,
        action: str | ActionParseResult,
        default_namespace: DOMNode | None = None,
        namespaces: Mapping[str, DOMNode] | None = None,
    ) -> bool:
        """Textual's, except that a key its screen shows dimmed says why it does nothing
        now (``screens.keys.refused``): a key the footer offers is never silent."""
        if await super().run_action(action, default_namespace, namespaces):
            return True
        why = refused(action, default_namespace)
        if why is None:
            return False
        self.notify(why, title="Not now", severity="warning")
        return True

    async def change_run(self, session: RunSession) -> None:
        """A watcher's run was closed and a newer one started: show that one instead."""
        old = self.session
        while len(self.screen_stack) > 2:
            await self.pop_screen()
        await self.enter_run(session)
        if old is not None and old is not session:
            old.close()

    async def enter_run(self, session: RunSession) -> None:
        """Show a run that just became available (started here, or seen by a watcher)."""
        self.session = session
        if not self.read_only:
            self.driver = self._driver_for(session)
        else:
            self.journal_health = JournalHealth.of_run(self.ws.config, session.state)
        await self.switch_screen(DashboardScreen())
        self.following.follow()
        self.redraw()

    # -- health ------------------------------------------------------------------------

    @property
    def health_envs(self) -> Mapping[str, EnvHealth]:
        """Every environment's health as shown here: probed by this cockpit's monitor
        (driving), or as the driver journaled it (watching)."""
        if self.journal_health is not None:
            return self.journal_health.envs
        return self.monitor.envs if self.monitor is not None else {}

    def health_journaled(self, events: Iterable[Event]) -> None:
        """A watcher read these events: the driver's health among them redraws the panels
        as a probe does while driving (``HealthSampled``)."""
        if self.journal_health is None:
            return
        for event in events:
            folded = self.journal_health.fold(event)
            if folded is None:
                continue
            name, changed = folded
            if (
                changed
                and self.journal_health.envs[name].state == DOWN
                and self.ws.config.health.bell
            ):
                self.bell()
            self.post_message(HealthSampled(name, changed))

    def _on_health(self, env: EnvHealth, sample: Sample, changed: bool) -> None:
        """Called by the monitor (on the event loop) after every probe."""
        if changed and env.state == DOWN and self.ws.config.health.bell:
            previous = (
                h.state if self.session and (h := self.session.state.health.get(env.name)) else None
            )
            if previous != env.state:
                self.bell()
        if self.driver is not None:
            self.driver.observe_health(env, changed)
        self.post_message(HealthSampled(env.name, changed))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """One place where a failed worker is shown in words; the app keeps running."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            self.notify(
                f"{event.worker.name or event.worker.group}: {error}",
                title="Something failed",
                severity="error",
                timeout=15,
            )

    # -- palette and quitting -------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """In the palette's order (``screens.palette``): the dashboard, the release
        history, every phase in runbook order, this screen's actions, then the keys and
        Textual's own commands — its Quit replaced by the cockpit's (which asks while a
        run is driven)."""
        yield from self._run_commands(screen)
        yield SystemCommand(
            "Keys",
            "The keys of this screen, and why a dimmed one does nothing (?)",
            self.action_show_keys,
        )
        for command in super().get_system_commands(screen):
            if command.title == "Quit":
                yield SystemCommand("Quit", "Leave the cockpit", self.action_request_quit)
            elif command.title != "Keys":
                yield command

    def _run_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        if self.session is not None:
            yield SystemCommand(
                "Dashboard", "All phases, environments and the repository", self.action_dashboard
            )
        yield SystemCommand(
            "Release history",
            "Every release in this workspace: success metrics against targets, DORA keys, "
            "deployment times",
            self.action_history,
        )
        if self.session is not None:
            for phase in self.session.phases():
                yield SystemCommand(
                    f"Open phase: {phase.title}",
                    phase.summary or f"The {phase.id} checklist",
                    lambda pid=phase.id: self.open_phase(pid),
                )
        for binding in screen.BINDINGS:
            if not isinstance(binding, Binding) or not binding.description:
                continue
            action = binding.action.split("(")[0]
            # "back" goes where Esc does; "history" is offered above, after the dashboard
            if action not in ("back", "history") and screen.check_action(action, ()) is True:
                yield SystemCommand(
                    binding.description,
                    f"key: {binding.key}",
                    lambda action=binding.action: self.run_action(action, screen),
                )

    async def action_request_quit(self) -> None:
        if self.session is None or self.read_only:
            self.exit(0)
            return
        running = self.running_step()
        again = f"`cockpit demo --workspace {self.ws.root}`" if self.demo else "`cockpit`"
        detail = f"Every tick is already on disk. The run stays open: {again} resumes it."
        if running is not None:
            title = self.session.step_spec(*running).title
            detail = (
                f"{title} keeps running under its supervisor: every line stays in its log and "
                "the next `cockpit` (or `cockpit run … --headless`) shows how it ended. "
                "To stop it, stay and abort it with x."
            )

        def answer(yes: bool | None) -> None:
            if yes:
                self.exit(0)

        await self.push_screen(
            Confirm(
                "Leave the cockpit?" if running is None else "Quit and leave the step running?",
                detail,
                yes="Quit",
                no="Stay",
            ),
            answer,
        )

    def _detach(self, sig: int) -> None:
        """SIGHUP (terminal closed) or SIGTERM: stop driving, journal why; steps keep running."""
        name = signal.Signals(sig).name
        running = self.running_step()
        words = f"the cockpit received {name}"
        if running is not None:
            words += f"; {running[1]} keeps running under its supervisor"
        if self.session is not None:
            with contextlib.suppress(OSError):
                self.session.release(words)
        # the terminal may be gone: leave within a few seconds whatever happens
        self._watchdog = threading.Timer(DETACH_GRACE, os._exit, (128 + sig,))
        self._watchdog.daemon = True
        self._watchdog.start()
        self.exit(128 + sig)


def run_app(
    ws: Workspace,
    run_id: str | None,
    read_only: bool = False,
    demo: SimService | None = None,
    open_phase: str | None = None,
    follow_driver: bool = True,
) -> int:
    """Open the app on ``run_id`` (or the start screen); drive it unless ``read_only`` (a
    watcher follows the driver's screen unless ``follow_driver`` is False).

    Raises LockHeld when another live process drives the run and we were to drive it.
    """
    session = RunSession(ws, run_id) if run_id else None
    app = CockpitApp(
        ws,
        session,
        read_only=read_only,
        demo=demo,
        first_phase=open_phase,
        follow_driver=follow_driver,
    )
    try:
        if session is not None and not read_only:
            previous = session.take_lock()
            if previous is not None:
                app.takeover_message = (
                    f"{previous.describe()} no longer drives this run "
                    f"({previous.gone_reason()}); you do now. This was journaled."
                )
            elif session.lock.replaced:
                app.takeover_message = (
                    f"{session.lock.replaced}: it was replaced and you drive this run now. "
                    "This was journaled."
                )
        result = app.run()
        if app._watchdog is not None:
            app._watchdog.cancel()  # we did get out in time
        return result or 0
    finally:
        if app.session is not None:
            app.session.close()
