"""What a key press asks of the run: the screens' intents, handed to the driver.

Owns turning an operator's intent into a driver call in a worker — start, retry, abort,
end a window, kill or wait for an orphan, tick/note/skip (``send``), the incident
commander's decision, the hotfix branch, the baseline, start a run — and showing the
outcome in words: a refusal as the driver phrased it, a journal that could not be
written as NOT SAVED, a question (a reason to run out of order, a branch to create) as a
dialog. Nothing here decides whether the run may do a thing; the driver does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from cockpit.demo_commands import arm_failure
from cockpit.driver import OutOfOrder, RunDriver
from cockpit.errors import CockpitError
from cockpit.events import Event
from cockpit.session import RunSession
from cockpit.verify import Verification
from screens.decision import Decision
from screens.dialogs import Confirm, TextPrompt

if TYPE_CHECKING:
    from screens.app import CockpitApp


class Intents:
    """The app's intents: each runs in a worker and shows what became of it."""

    def __init__(self, app: CockpitApp):
        self.app = app

    @property
    def driver(self) -> RunDriver | None:
        return self.app.driver

    def _worker(self, work: Awaitable[Any], group: str, exclusive: bool = False) -> None:
        self.app.run_worker(work, group=group, exclusive=exclusive, exit_on_error=False)

    def _say(self, message: str, title: str = "", severity: str = "information") -> None:
        self.app.notify(message, title=title, severity=severity)  # type: ignore[arg-type]

    async def guard(self, work: Awaitable[Any]) -> bool:
        """Await a driver call; a refusal or a failed write is shown in words."""
        try:
            await work
        except OSError as exc:
            self.app.notify(
                f"could not write the journal: {exc.strerror or exc}",
                title="NOT SAVED",
                severity="error",
                timeout=30,
            )
            return False
        except CockpitError as exc:
            self._say(str(exc), "Not done", "error")
            return False
        return True

    # -- journal intents (tick, note, skip, override, targets) ---------------------------

    async def send(self, plan: Callable[[], Event]) -> bool:
        """Validate an intent now, journal it from a thread, then read it back."""
        if self.driver is None:
            self._say("This view is read-only.", severity="warning")
            return False
        try:
            intent = plan()
        except CockpitError as exc:
            self._say(str(exc), "Not done", "error")
            return False
        return await self.guard(self.driver.record(intent))

    async def record(self, intent: Event) -> bool:
        """Journal an already validated intent through the driver; False if not saved."""
        if self.driver is None:
            return False
        return await self.guard(self.driver.record(intent))

    def send_later(self, plan: Callable[[], Event]) -> None:
        """``send`` from a callback that cannot await (a dialog's answer)."""
        self._worker(self.send(plan), "intent")

    async def verify(self, phase_id: str, item_id: str) -> Verification | None:
        """Probe and journal a self-verifying item; None when it was refused or not saved."""
        if self.driver is None:
            return None
        found: list[Verification] = []

        async def verify() -> None:
            assert self.driver is not None
            found.append(await self.driver.verify_item(phase_id, item_id))

        return found[0] if await self.guard(verify()) else None

    def skip_step(self, phase_id: str, step_id: str, reason: str) -> None:
        if self.driver is not None:
            self._worker(self.guard(self.driver.skip_step(phase_id, step_id, reason)), "intent")

    # -- steps ---------------------------------------------------------------------------

    def start_step(self, phase_id: str, step_id: str, out_of_order: str | None = None) -> None:
        self._worker(self._start_step(phase_id, step_id, out_of_order), "step")

    async def _start_step(self, phase_id: str, step_id: str, out_of_order: str | None) -> None:
        if self.driver is None:
            self._say("This view is read-only.", severity="warning")
            return
        try:
            await self.driver.start_step(phase_id, step_id, out_of_order)
        except OutOfOrder as exc:
            reason = await self.app.push_screen_wait(
                TextPrompt(
                    f"Run {exc.step.title} out of order?",
                    f"{exc} The reason is journaled with your name and shown in the report.",
                    ok="Run out of order",
                )
            )
            if reason:
                self.start_step(phase_id, step_id, reason)
        except (CockpitError, OSError) as exc:
            self._say(str(exc), "Not started", "error")

    def abort_step(self, phase_id: str, step_id: str, cancel_run: bool = True) -> None:
        self._worker(self._abort_step(phase_id, step_id, cancel_run), "abort")

    async def _abort_step(self, phase_id: str, step_id: str, cancel_run: bool) -> None:
        if self.driver is None:
            return
        try:
            survivors = await self.driver.abort_step(phase_id, step_id, cancel_run)
        except (CockpitError, OSError) as exc:
            self._say(str(exc), "Not aborted", "error")
            return
        if survivors:
            self._say(f"still alive after SIGKILL: {survivors}", severity="error")

    def end_window(self, phase_id: str, step_id: str) -> None:
        if self.driver is not None:
            work = self.driver.end_window(phase_id, step_id, "ended by the operator")
            self._worker(self.guard(work), "intent")

    def resolve_orphan(self, phase_id: str, step_id: str, kill: bool) -> None:
        self._worker(self._resolve_orphan(phase_id, step_id, kill), "orphan")

    async def _resolve_orphan(self, phase_id: str, step_id: str, kill: bool) -> None:
        driver = self.driver
        if driver is None:
            return
        if not kill:
            self._say("waiting for the orphaned command to end…", "Waiting")
            await self.guard(driver.wait_orphan(phase_id, step_id))
            return
        survivors = await driver.kill_orphan(phase_id, step_id)
        if survivors:
            self._say(f"still alive after SIGKILL: {survivors}", severity="error")
        else:
            self._say("the orphaned command and everything it started are gone", "Killed")

    # -- incident ------------------------------------------------------------------------

    def record_decision(self, decision: Decision | None) -> None:
        if decision is not None:
            self._worker(self._record_decision(decision), "decision")

    async def _record_decision(self, decision: Decision) -> None:
        """The driver journals it, documents the item and opens the rollback; we show it."""
        driver = self.driver
        if driver is None:
            return
        opened: list[bool] = []

        async def decide() -> None:
            choice, why, who = decision.choice, decision.rationale, decision.commander
            opened.append(await driver.record_decision(choice, why, who))

        if not await self.guard(decide()):
            return
        if decision.choice != "rollback":
            self._say(f"fix forward — {decision.rationale}", "Decision recorded")
            return
        self._say(f"by {decision.commander}: {decision.rationale}", "ROLL BACK", "error")
        rollback = driver.session.runbook.kind_id("rollback")
        if opened[0] and rollback is not None:  # the runbook's rollback phase, opened
            self.app.open_phase(rollback)

    def begin_decision(self) -> None:
        """The decision dialog opened: the decision's stage is timed from now."""
        if self.driver is not None:
            self._worker(self.guard(self.driver.begin_decision()), "intent")

    def hotfix_branch(self, incident: str) -> None:
        self._worker(self._hotfix_branch(incident), "git")

    async def _hotfix_branch(self, incident: str) -> None:
        driver = self.driver
        if driver is None:
            return
        try:
            plan = await driver.plan_hotfix_branch(incident)
        except CockpitError as exc:
            self._say(str(exc), "No branch created", "error")
            return
        yes = await self.app.push_screen_wait(
            Confirm(
                f"Create {plan.branch}?",
                f"From {plan.tag} ({plan.commit[:8]}). Nothing is checked out or pushed.",
                yes="Create",
                no="Cancel",
            )
        )
        if yes and await self.guard(driver.create_hotfix_branch(plan)):
            self._say(f"{plan.branch} at {plan.commit[:8]}", "Hotfix branch created")

    def capture_baseline(self) -> None:
        """Journal the deploy environment's current p50/p95 as the baseline to compare against."""
        target = self.app.ws.runbook.deploy_environment
        if target is None:
            self._say("The runbook has no 'kind: deploy' phase: no environment to baseline.")
            return
        baseline = self.driver.capture_baseline() if self.driver else None
        if baseline is None:
            self._say(
                f"No {target} samples yet: nothing to take a baseline from.", severity="warning"
            )
            return
        self._say(
            f"p50 {baseline['p50_ms']:.0f}ms, p95 {baseline['p95_ms']:.0f}ms "
            f"over {baseline['samples']} samples",
            f"{target.capitalize()} baseline taken",
        )

    # -- the run itself, and the demo ----------------------------------------------------

    def start_run(self, release_type: str, version: str) -> None:
        self._worker(self._start_run(release_type, version), "start", exclusive=True)

    async def _start_run(self, release_type: str, version: str) -> None:
        app = self.app
        try:
            session = await asyncio.to_thread(
                RunSession.start, app.ws, release_type, version, app.clock
            )
            await asyncio.to_thread(session.take_lock)
        except CockpitError as exc:
            self._say(str(exc), "Could not start the run", "error")
            return
        await app.enter_run(session)

    def demo_fail_next(self) -> None:
        if self.app.demo is not None:
            arm_failure(self.app.ws.root)
            self._say("the next demo command will fail once", "Demo")

    def set_demo_mode(self, mode: str) -> None:
        target = self.app.ws.runbook.deploy_environment
        if self.app.demo is not None and target is not None:
            self.app.demo.set_mode(target, mode)
            self._say(f"the simulated {target} is now {mode}", "Demo")
