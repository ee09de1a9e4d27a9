"""The Release Cockpit app: screens, the journal follower, intents, quitting safely.

Owns the App: which screen opens (start screen, dashboard), following the run's
journal so that every surface redraws from the same state (``revision`` bumps on
every change, whoever wrote it), sending intents (validated on the event loop,
written by a worker thread, then read back), the command palette's commands,
and asking before quitting while a run is driven. Also ``run_app``, the CLI's
way in, which takes the driver lock first.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import threading
from collections.abc import Callable, Iterable

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import var
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from cockpit.clock import Clock
from cockpit.demotools import arm_failure
from cockpit.driver import Alert, Found, OutOfOrder, RunDriver
from cockpit.errors import CockpitError
from cockpit.events import Event
from cockpit.health import DOWN, Sample
from cockpit.healthwatch import EnvHealth, HealthMonitor
from cockpit.runbook import PRODUCTION, ROLLBACK_PHASE
from cockpit.session import RunSession
from cockpit.simservice import SimService
from cockpit.workspace import Workspace
from screens.checklist import ChecklistScreen
from screens.dashboard import DashboardScreen
from screens.decision import Decision
from screens.deploy import DeployScreen
from screens.dialogs import Confirm, TextPrompt
from screens.start import StartScreen, WaitingScreen

DETACH_GRACE = 3.0
"""Seconds the app gets to close the terminal after SIGHUP/SIGTERM before it just exits."""


class CockpitApp(App[int]):
    """The cockpit on one workspace and (once started) one run."""

    CSS_PATH = "app.tcss"
    TITLE = "Release Cockpit"
    BINDINGS = [
        Binding("ctrl+q", "request_quit", "Quit", id="app.quit", priority=True),
        Binding("d", "dashboard", "Dashboard", id="app.dashboard", show=False),
    ]

    revision: var[int] = var(0, always_update=True)
    """Bumped whenever the run's state changed; widgets watch it and redraw (a ``var``:
    setting it must not repaint the whole screen)."""

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
    ):
        super().__init__()
        self.ws = ws
        self.session = session
        self.read_only = read_only
        self.clock = clock or Clock()
        self.follow_interval = follow_interval
        self._io = asyncio.Lock()
        self.takeover_message: str | None = None
        self.demo = demo
        self.monitor: HealthMonitor | None = None
        if ws.config.environments:
            self.monitor = HealthMonitor.from_config(ws.config, self._on_health, self.clock)
        self.poll_health = poll_health
        self.driver: RunDriver | None = None
        self._watchdog: threading.Timer | None = None
        self.orphans: list[tuple[str, str]] = []
        if session is not None and not read_only:
            self.driver = self._driver_for(session)
        self.first_phase = first_phase

    # -- screens ------------------------------------------------------------------------

    def _driver_for(self, session: RunSession) -> RunDriver:
        return RunDriver(session, self.monitor, self._alert, self._changed)

    def _changed(self) -> None:
        self.revision += 1

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
            self.wait_for_run()
        elif self.session is None:
            self.push_screen(StartScreen())
        else:
            self.push_screen(DashboardScreen())
            self.follow()
            self.reconcile()
            if self.first_phase:
                self.open_phase(self.first_phase)
        if self.takeover_message:
            self.notify(self.takeover_message, title="Lock taken over", severity="warning")

    def on_unmount(self) -> None:
        if not self.read_only:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGHUP, signal.SIGTERM):
                loop.remove_signal_handler(sig)
        if self._watchdog is not None:
            self._watchdog.cancel()  # we did get out in time

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

    # -- steps (every run behaviour is the driver's; these are the screens' intents) -----

    def running_step(self) -> tuple[str, str] | None:
        """The command step running now (under its supervisor), if any."""
        if self.session is None:
            return None
        running = self.session.state.running_steps()
        return running[0] if running else None

    @work(exclusive=True, group="reconcile", exit_on_error=False)
    async def reconcile(self) -> None:
        """What a previous cockpit left: still running, ended meanwhile, vanished, orphaned."""
        if self.driver is None:
            return
        self._show_found(await self.driver.reconcile(), restart=True)
        self.revision += 1

    def _show_found(self, found: list[Found], restart: bool = False) -> None:
        session = self.session
        assert session is not None
        for f in found:
            title = session.step_spec(f.phase, f.step).title
            if f.what == "orphan" and (f.phase, f.step) not in self.orphans:
                self.orphans.append((f.phase, f.step))
                self.notify(
                    f"{title}: {f.words}. Open it to kill or wait.",
                    title="ORPHANED COMMAND",
                    severity="error",
                    timeout=30,
                )
            elif f.what == "running" and restart:
                self.notify(f"{title}: {f.words}", title="Still running from before")
            elif f.what == "recorded":
                self.notify(f"{title}: {f.words}", title="Recorded from its supervisor")
            elif f.what == "vanished":
                self.notify(f"{title}: {f.words}", title="Step lost", severity="error", timeout=30)

    def start_step(self, phase_id: str, step_id: str, out_of_order: str | None = None) -> None:
        self._start_step(phase_id, step_id, out_of_order)

    @work(group="step", exit_on_error=False)
    async def _start_step(self, phase_id: str, step_id: str, out_of_order: str | None) -> None:
        if self.driver is None:
            self.notify("This view is read-only.", severity="warning")
            return
        try:
            await self.driver.start_step(phase_id, step_id, out_of_order)
        except OutOfOrder as exc:
            reason = await self.push_screen_wait(
                TextPrompt(
                    f"Run {exc.step.title} out of order?",
                    f"{exc} The reason is journaled with your name and shown in the report.",
                )
            )
            if reason:
                self.start_step(phase_id, step_id, reason)
            return
        except (CockpitError, OSError) as exc:
            self.notify(str(exc), title="Not started", severity="error")
            return
        self.revision += 1

    def abort_step(self, phase_id: str, step_id: str) -> None:
        self._abort_step(phase_id, step_id)

    @work(group="abort", exit_on_error=False)
    async def _abort_step(self, phase_id: str, step_id: str) -> None:
        if self.driver is None:
            return
        try:
            survivors = await self.driver.abort_step(phase_id, step_id)
        except (CockpitError, OSError) as exc:
            self.notify(str(exc), title="Not aborted", severity="error")
            return
        if survivors:
            self.notify(f"still alive after SIGKILL: {survivors}", severity="error")
        self.revision += 1

    def end_window(self, phase_id: str, step_id: str) -> None:
        if self.driver is not None:
            driver = self.driver
            self.run_worker(
                self._guard(driver.end_window(phase_id, step_id, "ended by the operator")),
                group="intent",
            )

    def resolve_orphan(self, phase_id: str, step_id: str, kill: bool) -> None:
        self._resolve_orphan(phase_id, step_id, kill)

    @work(group="orphan", exit_on_error=False)
    async def _resolve_orphan(self, phase_id: str, step_id: str, kill: bool) -> None:
        if self.driver is None:
            return
        if kill:
            survivors = await self.driver.kill_orphan(phase_id, step_id)
            if survivors:
                self.notify(f"still alive after SIGKILL: {survivors}", severity="error")
            else:
                self.notify(
                    "the orphaned command and everything it started are gone", title="Killed"
                )
        else:
            self.notify("waiting for the orphaned command to end…", title="Waiting")
            await self.driver.wait_orphan(phase_id, step_id)
        self.orphans = [o for o in self.orphans if o != (phase_id, step_id)]
        self.revision += 1

    async def _guard(self, work) -> bool:
        """Run a driver call; a refusal or a failed write is shown in words."""
        try:
            await work
        except OSError as exc:
            self.notify(
                f"could not write the journal: {exc.strerror or exc}",
                title="NOT SAVED",
                severity="error",
                timeout=30,
            )
            return False
        except CockpitError as exc:
            self.notify(str(exc), title="Not done", severity="error")
            return False
        self.revision += 1
        return True

    def record_decision(self, decision: Decision | None) -> None:
        if decision is not None:
            self._record_decision(decision)

    @work(group="decision", exit_on_error=False)
    async def _record_decision(self, decision: Decision) -> None:
        """The driver journals it, documents the item and opens the rollback; we show it."""
        if self.driver is None:
            return
        opened: list[bool] = []

        async def decide() -> None:
            assert self.driver is not None
            opened.append(
                await self.driver.record_decision(
                    decision.choice, decision.rationale, decision.commander
                )
            )

        if not await self._guard(decide()):
            return
        if not opened[0]:
            self.notify(f"fix forward — {decision.rationale}", title="Decision recorded")
            return
        self.notify(
            f"by {decision.commander}: {decision.rationale}", title="ROLL BACK", severity="error"
        )
        self.open_phase(ROLLBACK_PHASE)

    def hotfix_branch(self, incident: str) -> None:
        self._hotfix_branch(incident)

    @work(group="git", exit_on_error=False)
    async def _hotfix_branch(self, incident: str) -> None:
        driver = self.driver
        if driver is None:
            return
        try:
            plan = await driver.plan_hotfix_branch(incident)
        except CockpitError as exc:
            self.notify(str(exc), title="No branch created", severity="error")
            return
        yes = await self.push_screen_wait(
            Confirm(
                f"Create {plan.branch}?",
                f"From {plan.tag} ({plan.commit[:8]}). Nothing is checked out or pushed.",
                yes="Create",
                no="Cancel",
            )
        )
        if yes and await self._guard(driver.create_hotfix_branch(plan)):
            self.notify(f"{plan.branch} at {plan.commit[:8]}", title="Hotfix branch created")

    def demo_fail_next(self) -> None:
        if self.demo is not None:
            arm_failure(self.ws.root)
            self.notify("the next demo command will fail once", title="Demo")

    def action_dashboard(self) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()

    def start_run(self, release_type: str, version: str) -> None:
        self._start(release_type, version)

    @work(exclusive=True, group="start", exit_on_error=False)
    async def _start(self, release_type: str, version: str) -> None:
        try:
            session = await asyncio.to_thread(
                RunSession.start, self.ws, release_type, version, self.clock
            )
            await asyncio.to_thread(session.take_lock)
        except CockpitError as exc:
            self.notify(str(exc), title="Could not start the run", severity="error")
            return
        await self._enter_run(session)

    async def _enter_run(self, session: RunSession) -> None:
        """Show a run that just became available (started here, or seen by a watcher)."""
        self.session = session
        if not self.read_only:
            self.driver = self._driver_for(session)
        await self.switch_screen(DashboardScreen())
        self.follow()
        self.revision += 1

    @work(exclusive=True, group="wait-run", exit_on_error=False)
    async def wait_for_run(self) -> None:
        """Watching before the run begins: pick it up as soon as it is started."""
        while True:
            run_id = await asyncio.to_thread(self.ws.active_run_id)
            if run_id is not None:
                break
            await asyncio.sleep(self.follow_interval)
        session = await asyncio.to_thread(RunSession, self.ws, run_id)
        await self._enter_run(session)

    # -- following the journal and sending intents ---------------------------------------

    @work(exclusive=True, group="journal", exit_on_error=False)
    async def follow(self) -> None:
        """Read the journal (ours, supervisors', scripts') forever; poll, then sleep.

        While driving, a running step's supervisor is checked about once a second: one
        that vanished is recorded as the driver finds it.
        """
        loop = asyncio.get_running_loop()
        checked = loop.time()
        while True:
            await self.sync()
            due = loop.time() - checked >= 1.0
            if due and self.driver is not None and self.running_step() is not None:
                checked = loop.time()
                self._show_found([f for f in await self.driver.reconcile() if f.what != "running"])
            await asyncio.sleep(self.follow_interval)

    async def sync(self) -> None:
        """Read what the journal gained and redraw; reads happen off the event loop."""
        if self.session is None:
            return
        if self.driver is not None:
            batch = await self.driver.sync()  # redraws through ``_changed``
        else:
            async with self._io:
                batch = await asyncio.to_thread(self.session.read_pending)
                self.session.apply(batch)
            if batch.events:
                self.revision += 1
        for warning in batch.warnings:
            self.notify(warning, title="Journal", severity="warning")

    async def send(self, plan: Callable[[], Event]) -> bool:
        """Validate an intent now, journal it from a thread, then read it back."""
        if self.driver is None:
            self.notify("This view is read-only.", severity="warning")
            return False
        try:
            intent = plan()
        except CockpitError as exc:
            self.notify(str(exc), title="Not done", severity="error")
            return False
        return await self.record(intent)

    def send_later(self, plan: Callable[[], Event]) -> None:
        """``send`` from a callback that cannot await (a dialog's answer)."""
        self.run_worker(self.send(plan), group="intent")

    async def record(self, intent: Event) -> bool:
        """Journal an intent through the driver (append, then fold back); False if not saved."""
        if self.driver is None:
            return False
        return await self._guard(self.driver.record(intent))

    # -- health ------------------------------------------------------------------------

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

    def capture_baseline(self) -> None:
        """Journal production's current p50/p95 as the baseline to compare against."""
        baseline = self.driver.capture_baseline() if self.driver else None
        if baseline is None:
            self.notify(
                "No production samples yet: nothing to take a baseline from.", severity="warning"
            )
            return
        self.notify(
            f"p50 {baseline['p50_ms']:.0f}ms, p95 {baseline['p95_ms']:.0f}ms "
            f"over {baseline['samples']} samples",
            title="Production baseline taken",
        )

    def set_demo_mode(self, mode: str) -> None:
        if self.demo is not None:
            self.demo.set_mode(PRODUCTION, mode)
            self.notify(f"the simulated production is now {mode}", title="Demo")

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
        yield from super().get_system_commands(screen)
        if self.session is not None:
            yield SystemCommand(
                "Dashboard", "All phases, environments and the repository", self.action_dashboard
            )
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
            if action != "back" and screen.check_action(action, ()) is True:
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
        detail = "Every tick is already on disk. The run stays open: `cockpit` resumes it."
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
) -> int:
    """Open the app on ``run_id`` (or the start screen); drive it unless ``read_only``.

    Raises LockHeld when another live process drives the run and we were to drive it.
    """
    session = RunSession(ws, run_id) if run_id else None
    app = CockpitApp(ws, session, read_only=read_only, demo=demo, first_phase=open_phase)
    try:
        if session is not None and not read_only:
            previous = session.take_lock()
            if previous is not None:
                app.takeover_message = (
                    f"{previous.describe()} no longer drives this run "
                    f"({previous.gone_reason()}); you do now. This was journaled."
                )
        result = app.run()
        return result or 0
    finally:
        if app.session is not None:
            app.session.close()
