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
import gc
from collections.abc import Callable, Iterable

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import var
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from cockpit.clock import Clock
from cockpit.demotools import arm_failure
from cockpit.errors import CockpitError
from cockpit.gitops import create_hotfix_branch, plan_hotfix_branch
from cockpit.health import DOWN, Sample
from cockpit.healthwatch import (
    EnvHealth,
    HealthMonitor,
    baseline_of,
    rollback_signal,
)
from cockpit.runbook import DECISION_PHASE, HOTFIX_PHASE, ROLLBACK_PHASE
from cockpit.session import Intent, RunSession
from cockpit.simservice import SimService
from cockpit.workspace import Workspace
from screens.checklist import ChecklistScreen
from screens.dashboard import DashboardScreen
from screens.decision import Decision
from screens.deploy import DeployScreen
from screens.dialogs import Confirm
from screens.start import StartScreen, WaitingScreen
from screens.stepping import Stepper

PRODUCTION = "production"
RATIONALE_ITEM = "document-decision-rationale"


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
        self._signals: set[str] = set()
        self.stepper = Stepper(self)
        self.orphans: list[tuple[str, str]] = []
        self.first_phase = first_phase

    # -- screens ------------------------------------------------------------------------

    def on_mount(self) -> None:
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

    def open_phase(self, phase_id: str) -> None:
        """A phase with commands to run opens on the deploy screen, any other on its checklist."""
        while len(self.screen_stack) > 2:
            self.pop_screen()
        phase = self.ws.runbook.phase(phase_id)
        runnable = self.session is not None and any(
            s.commands for s in phase.steps_for(self.session.release_type)
        )
        self.push_screen(DeployScreen(phase_id) if runnable else ChecklistScreen(phase_id))

    # -- steps -----------------------------------------------------------------------

    @work(exclusive=True, group="reconcile", exit_on_error=False)
    async def reconcile(self) -> None:
        """Steps a killed cockpit left running: journal the dead ones, surface orphans."""
        self.orphans = await self.stepper.reconcile()
        if self.orphans:
            names = ", ".join(step for _, step in self.orphans)
            self.notify(
                f"{names}: still running from before the restart. Open it to kill or wait.",
                title="ORPHANED COMMAND",
                severity="error",
                timeout=30,
            )
        self.revision += 1

    def resolve_orphan(self, phase_id: str, step_id: str, kill: bool) -> None:
        self._resolve_orphan(phase_id, step_id, kill)

    @work(group="orphan", exit_on_error=False)
    async def _resolve_orphan(self, phase_id: str, step_id: str, kill: bool) -> None:
        if kill:
            survivors = await self.stepper.kill_orphan(phase_id, step_id)
            if survivors:
                self.notify(f"still alive after SIGKILL: {survivors}", severity="error")
            else:
                self.notify(
                    "the orphaned command and everything it started are gone", title="Killed"
                )
        else:
            self.notify("waiting for the orphaned command to end…", title="Waiting")
            await self.stepper.wait_orphan(phase_id, step_id)
        self.orphans = [o for o in self.orphans if o != (phase_id, step_id)]
        self.revision += 1

    def record_decision(self, decision: Decision | None) -> None:
        if decision is not None:
            self._record_decision(decision)

    @work(group="decision", exit_on_error=False)
    async def _record_decision(self, decision: Decision) -> None:
        """Journal the decision; the rationale documents the runbook's item; a rollback opens."""
        session = self.session
        if session is None:
            return
        ok = await self.send(
            lambda: session.plan_decision(decision.choice, decision.rationale, decision.commander)
        )
        if not ok:
            return
        if not session.state.item(DECISION_PHASE, RATIONALE_ITEM).checked:
            await self.send(
                lambda: session.plan_check(
                    DECISION_PHASE, RATIONALE_ITEM, f"{decision.choice}: {decision.rationale}"
                )
            )
        if decision.choice != "rollback":
            self.notify(f"fix forward — {decision.rationale}", title="Decision recorded")
            return
        if session.progress(ROLLBACK_PHASE).locked:
            reason = f"rollback decided by {decision.commander}: {decision.rationale}"
            await self.send(lambda: session.plan_override(ROLLBACK_PHASE, reason))
        self.notify(
            f"by {decision.commander}: {decision.rationale}", title="ROLL BACK", severity="error"
        )
        self.open_phase(ROLLBACK_PHASE)

    def hotfix_branch(self, incident: str) -> None:
        self._hotfix_branch(incident)

    @work(group="git", exit_on_error=False)
    async def _hotfix_branch(self, incident: str) -> None:
        session = self.session
        if session is None:
            return
        try:
            plan = await asyncio.to_thread(plan_hotfix_branch, self.ws.root, incident)
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
        if not yes:
            return
        try:
            await asyncio.to_thread(create_hotfix_branch, self.ws.root, plan)
        except CockpitError as exc:
            self.notify(str(exc), title="No branch created", severity="error")
            return
        await self.record(session.plan_branch_created(plan.branch, plan.tag, plan.commit))
        item = "hotfix-branch-created"
        if not session.state.item(HOTFIX_PHASE, item).checked:
            await self.send(
                lambda: session.plan_check(
                    HOTFIX_PHASE,
                    item,
                    f"{plan.branch} from {plan.tag}",
                    {"branch": plan.branch, "tag": plan.tag, "commit": plan.commit},
                )
            )
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
        """Read the journal (ours and anyone's appends) forever; poll, then sleep."""
        while True:
            await self.sync()
            await asyncio.sleep(self.follow_interval)

    async def sync(self) -> None:
        """Read what the journal gained and redraw; reads happen off the event loop."""
        if self.session is None:
            return
        async with self._io:
            batch = await asyncio.to_thread(self.session.read_pending)
            events = self.session.apply(batch)
        for warning in batch.warnings:
            self.notify(warning, title="Journal", severity="warning")
        if events:
            self.revision += 1

    async def send(self, plan: Callable[[], Intent]) -> bool:
        """Validate an intent now, journal it from a thread, then read it back."""
        if self.read_only or self.session is None:
            self.notify("This view is read-only.", severity="warning")
            return False
        try:
            intent = plan()
        except CockpitError as exc:
            self.notify(str(exc), title="Not done", severity="error")
            return False
        return await self.record(intent)

    def send_later(self, plan: Callable[[], Intent]) -> None:
        """``send`` from a callback that cannot await (a dialog's answer)."""
        self.run_worker(self.send(plan), group="intent")

    async def record(self, intent: Intent) -> bool:
        """Journal an intent (fsynced, from a thread), then read it back; False if not saved.

        Operator intents come through ``send`` (validated first); what the cockpit observes
        itself (health changes, step events) comes here directly.
        """
        if self.read_only or self.session is None:
            return False
        try:
            async with self._io:
                await asyncio.to_thread(self.session.write, intent)
        except OSError as exc:
            self.notify(
                f"could not write the journal: {exc.strerror or exc}",
                title="NOT SAVED",
                severity="error",
                timeout=30,
            )
            return False
        await self.sync()
        return True

    # -- health ------------------------------------------------------------------------

    def _on_health(self, env: EnvHealth, sample: Sample, changed: bool) -> None:
        """Called by the monitor (on the event loop) after every probe."""
        if changed:
            previous = (
                self.session.state.health.get(env.name, {}).get("state") if self.session else None
            )
            if env.state == DOWN and self.ws.config.health.bell:
                self.bell()
            if self.session is not None and previous != env.state:
                self.run_worker(
                    self.record(self.session.plan_health_change(env.summary(), previous)),
                    group="record",
                )
        if self.session is not None and env.name == PRODUCTION:
            self._check_rollback_signal(env)

    def _check_rollback_signal(self, env: EnvHealth) -> None:
        assert self.session is not None
        signal = rollback_signal(env, self.session.state.baselines.get(PRODUCTION))
        active = {signal[0]} if signal else set()
        for criterion in active - self._signals:
            assert signal is not None
            already = self.session.state.item(DECISION_PHASE, criterion).checked
            if not already:
                self.run_worker(
                    self.record(self.session.plan_flag(criterion, signal[1])), group="record"
                )
            self.notify(
                f"{signal[1]['signal']}",
                title="ROLLBACK CRITERIA MET",
                severity="error",
                timeout=20,
            )
        self._signals = active

    def capture_baseline(self) -> None:
        """Journal production's current p50/p95 as the baseline to compare against."""
        env = self.monitor.envs.get(PRODUCTION) if self.monitor else None
        baseline = baseline_of(env) if env else None
        if baseline is None or self.session is None:
            self.notify(
                "No production samples yet: nothing to take a baseline from.", severity="warning"
            )
            return
        self.run_worker(self.record(self.session.plan_baseline(baseline)), group="record")
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
        if self.stepper.running:

            def abort_and_quit(yes: bool | None) -> None:
                if yes:
                    self.stepper.on_finished.append(lambda *_: self.exit(3))
                    self.stepper.abort()

            await self.push_screen(
                Confirm(
                    "A step is running. Abort it and quit?",
                    "Its command and everything it started are stopped first; the journal and log keep "
                    "what happened.",
                    yes="Abort and quit",
                    no="Stay",
                ),
                abort_and_quit,
            )
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.exit(0)

        await self.push_screen(
            Confirm(
                "Leave the cockpit?",
                "Every tick is already on disk. The run stays open: `cockpit` resumes it.",
                yes="Quit",
                no="Stay",
            ),
            answer,
        )


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
