"""The run's driver: the one place where a run is driven, whatever the front end.

Owns driving a run for the TUI, ``cockpit run --headless`` and the demo alike: starting,
retrying, skipping and aborting steps (each command step under its own supervisor
process, see ``cockpit.supervisor``), the order of a phase's steps (out of order only
with a journaled reason), timed windows for steps without commands (they end when
their checks are ticked or the operator ends them), reconciling what a previous
cockpit left (a step still running, finished while nobody watched, vanished, an
orphaned command, or a GitHub workflow run whose supervisor died: re-attached), production's automatic baseline, the rollback signal and its
journaled criterion, the incident commander's decision and what it opens, and the
hotfix branch. Every change goes one way: appended to the journal (fsynced, from a
thread), then folded back into the state. Front ends render state and call these
methods; they hold no run behaviour of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cockpit.clock import parse_iso
from cockpit.describe import decision_words
from cockpit.errors import CockpitError
from cockpit.events import ENDED, FINISHED, Event, StepStatus, ViewOpened
from cockpit.git_changes import BranchPlan, create_hotfix_branch, plan_hotfix_branch
from cockpit.journal import Batch
from cockpit.monitor import EnvHealth, HealthMonitor, baseline_of, measure_baseline
from cockpit.monitor import rollback_signal as signal_of
from cockpit.probe import UNKNOWN
from cockpit.proctree import holders, is_same_process, stop_tree
from cockpit.progress import step_state
from cockpit.runbook import Step
from cockpit.runner import (
    ask_abort,
    attempt_status,
    build_spec,
    close_attempt,
    launch,
    reattach_spec,
    reattachable,
    render_commands,
    supervisor_alive,
)
from cockpit.session import RunSession
from cockpit.state import StepState
from cockpit.supervisor import exit_words
from cockpit.termtext import inert
from cockpit.verify import Verification, verify_item

VIEW_EVERY = 1.0
"""At most one ``view.opened`` a second: a driver flicking through screens writes the
view it settles on."""
ABORT_WAIT = 30.0
"""Seconds a supervisor gets to stop its command's tree and record the abort."""
ORPHAN_WORDS = "its supervisor is gone but its command still runs: kill it or wait for it"
ORPHAN_ENDED = (
    "the orphaned command ended while no supervisor watched: exit status unknown (see its log)"
)
LIVENESS_EVERY = 1.0
"""Seconds between checks that a running step's supervisor is still alive."""


@dataclass(frozen=True)
class Alert:
    """Something the operator must see now (a front end shows it as it can)."""

    title: str
    message: str
    severity: str = "information"  # "information" | "warning" | "error"


@dataclass(frozen=True)
class Found:
    """What reconciling found of a step a previous cockpit left running."""

    phase: str
    step: str
    what: str
    """"running" (its supervisor runs it), "recorded" (it ended while nobody watched),
    "vanished" (recorded as failed), "orphan" (its command runs, its supervisor is gone),
    "not started" (recorded as failed: its supervisor never got the step, nothing ran),
    "reattached" (its supervisor died following a GitHub workflow run: a new one follows
    that run on)."""
    words: str


class OutOfOrder(CockpitError):
    """Starting a step while earlier steps of its phase are not done: a reason is needed."""

    def __init__(self, step: Step, earlier: list[tuple[Step, str]]):
        self.step = step
        self.earlier = earlier
        listed = ", ".join(f"{s.title} ({state})" for s, state in earlier)
        super().__init__(
            f"run out of order: {listed} {'is' if len(earlier) == 1 else 'are'} not done "
            f"before {step.title}; give a reason to run it anyway."
        )


class RunDriver:
    """Drives one run (the caller holds the driver lock)."""

    def __init__(
        self,
        session: RunSession,
        monitor: HealthMonitor | None = None,
        alert: Callable[[Alert], None] | None = None,
        on_change: Callable[[list[Event]], None] | None = None,
    ):
        self.session = session
        self.monitor = monitor
        self.alert = alert or (lambda _: None)
        self.on_change = on_change or (lambda _events: None)
        """Called with the events the state just folded in (a front end redraws what they
        touch)."""
        self.columns = shutil.get_terminal_size((120, 40)).columns
        """How wide a ``tty: true`` command's terminal is: the terminal's, or what a front
        end sets (the TUI: its log view's width)."""
        self._io = asyncio.Lock()
        self._starting: set[tuple[str, str]] = set()
        self._signals: set[str] = set()
        self._sampled: dict[str, datetime] = {}
        """When each environment's last ``health.sample`` was journaled (driver's clock)."""
        self._health_pending: list[Event] = []
        self._health_writing = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ending_windows = False
        self._orphans: set[tuple[str, str]] = set()
        self._view: tuple[str | None, str | None] | None = None
        self._view_written: tuple[str | None, str | None] | None = None
        self._view_task: asyncio.Task[None] | None = None

    # -- the one write path ------------------------------------------------------------

    async def sync(self) -> Batch:
        """Read what the journal gained (ours, a supervisor's, a script's) and fold it in."""
        async with self._io:
            batch = await asyncio.to_thread(self.session.read_pending)
            events = self.session.apply(batch)
        if events:
            self.on_change(events)
            await self._end_ticked_windows()
        return batch

    async def record(self, intent: Event) -> None:
        """Append an intent to the journal (fsynced, off the loop), then fold it back.

        Raises OSError when it could not be written: nothing is shown as done then.
        """
        async with self._io:
            await asyncio.to_thread(self.session.write, intent)
        await self.sync()

    async def send(self, plan: Callable[[], Event]) -> None:
        """Validate now (CockpitError in words), then record."""
        await self.record(plan())

    def _later(self, work: Awaitable[Any]) -> None:
        """Record from a callback that cannot await (health samples); failures are alerted."""

        async def guarded() -> None:
            try:
                await work
            except (OSError, CockpitError) as exc:
                self.alert(Alert("NOT SAVED", f"could not write the journal: {exc}", "error"))

        task = asyncio.get_running_loop().create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- what the driver has on screen ---------------------------------------------------

    def opened(self, phase_id: str | None, step_id: str | None = None) -> None:
        """The operator has this phase (and step) on screen, or the dashboard (None):
        journaled as ``view.opened`` for watchers to follow, at most once a second."""
        self._view = (phase_id, step_id)
        if self._view == self._view_written:
            return
        if self._view_task is None or self._view_task.done():
            self._view_task = asyncio.get_running_loop().create_task(self._write_view())
            self._tasks.add(self._view_task)
            self._view_task.add_done_callback(self._tasks.discard)

    async def _write_view(self) -> None:
        while self._view is not None and self._view != self._view_written:
            view = self._view
            try:
                await self.record(ViewOpened(phase=view[0], step=view[1]))
            except (OSError, CockpitError):  # a light event: the next real write says it
                await asyncio.sleep(VIEW_EVERY)  # and never a failing write per tick
                return
            self._view_written = view
            await asyncio.sleep(VIEW_EVERY)

    # -- what the run looks like ---------------------------------------------------------

    def steps(self, phase_id: str) -> list[Step]:
        return self.session.runbook.phase(phase_id).steps_for(self.session.release_type)

    def shown_state(self, phase_id: str, step: Step) -> str:
        return step_state(self.session.runbook.phase(phase_id), step, self.session.state)

    def running_steps(self) -> list[tuple[str, str]]:
        """Command steps the journal says are running, in any phase."""
        return self.session.state.running_steps()

    def orphans(self) -> list[tuple[str, str]]:
        """Steps whose command runs on with its supervisor gone (until killed or waited for)."""
        running = set(self.running_steps())
        return sorted(key for key in self._orphans if key in running)

    def refusal(self, phase_id: str, step_id: str) -> str | None:
        """Why this step cannot be started now, in words the operator can act on (None: it
        can; running it out of order is asked for separately)."""
        step = self.session.step_spec(phase_id, step_id)
        state = self.shown_state(phase_id, step)
        if state in FINISHED:
            last = step is self.steps(phase_id)[-1]
            go_on = "It is the last step of this phase." if last else "Select the next step."
            return f"{step.title} is {state} (final). {go_on}"
        if state == StepStatus.RUNNING:
            return f"{step.title} is already running."
        busy = self.running_steps()
        if busy and step.commands:
            return f"{self.session.step_spec(*busy[0]).title} is still running."
        p = self.session.progress(phase_id)
        if p.locked:
            title = self.session.runbook.phase(phase_id).title
            return (
                f"{title} waits for {', '.join(p.waiting_on)}. Override the lock on its "
                "checklist with a reason, or finish those phases first."
            )
        if any(o[0] == phase_id for o in self.orphans()):
            return "An orphaned command of this phase still runs: kill it or wait for it."
        return None

    def earlier_unfinished(self, phase_id: str, step_id: str) -> list[tuple[Step, str]]:
        """The steps before ``step_id`` in its phase that are failed or not done."""
        out = []
        for step in self.steps(phase_id):
            if step.id == step_id:
                break
            state = self.shown_state(phase_id, step)
            if state not in FINISHED:
                out.append((step, state))
        return out

    # -- steps ---------------------------------------------------------------------------

    async def start_step(
        self, phase_id: str, step_id: str, out_of_order: str | None = None
    ) -> None:
        """Start (or retry) a step: a command step under its supervisor, else its window.

        Raises OutOfOrder when earlier steps are not done and no reason was given, and
        CockpitError in words for anything else that stops it.
        """
        step = self.session.step_spec(phase_id, step_id)
        why_not = self.refusal(phase_id, step_id)
        if why_not:
            raise CockpitError(why_not)
        earlier = self.earlier_unfinished(phase_id, step_id)
        order = None
        if earlier:
            if not (out_of_order and out_of_order.strip()):
                raise OutOfOrder(step, earlier)
            order = {
                "reason": out_of_order.strip(),
                "earlier": [{"step": s.id, "state": state} for s, state in earlier],
            }
        if not step.commands:
            await self.record(self.session.plan_window_start(phase_id, step_id, order))
            return
        rendered = render_commands(self.session, step)
        self.session.plan_step_start(phase_id, step_id, rendered, order)  # validate first
        key = (phase_id, step_id)
        self._starting.add(key)
        try:
            target = self.session.runbook.deploy_environment
            if self._starts_deploy(phase_id, step_id) and target not in (
                self.session.state.baselines
            ):
                await self.take_baseline()
            await self.record(self.session.plan_step_start(phase_id, step_id, rendered, order))
            attempt = self.session.state.step(phase_id, step_id).attempts
            spec = build_spec(self.session, phase_id, step, rendered, attempt, self.columns)
            try:
                await asyncio.to_thread(launch, spec)
            except (OSError, CockpitError) as exc:
                await self._record_end(phase_id, step_id, "failed", f"could not start: {exc}")
        finally:
            self._starting.discard(key)

    def _starts_deploy(self, phase_id: str, step_id: str) -> bool:
        if phase_id != self.session.runbook.kind_id("deploy"):
            return False
        steps = self.steps(phase_id)
        return bool(steps) and steps[0].id == step_id

    async def wait_step(
        self,
        phase_id: str,
        step_id: str,
        poll: float = 0.1,
        tick: Callable[[], None] | None = None,
    ) -> StepState:
        """Until the step is no longer running (a vanished supervisor is recorded as such).

        ``tick`` runs in a worker thread after every read of the journal.
        """
        loop = asyncio.get_running_loop()
        checked = loop.time()
        while True:
            await self.sync()
            if tick is not None:
                await asyncio.to_thread(tick)  # e.g. copying the log to stdout: file IO
            st = self.session.state.step(phase_id, step_id)
            if st.state != StepStatus.RUNNING:
                return st
            if loop.time() - checked >= LIVENESS_EVERY:
                checked = loop.time()
                found = await self.check(phase_id, step_id)
                if found is not None and found.what == "orphan":
                    await self.wait_orphan(phase_id, step_id, poll=max(poll, 0.2), tick=tick)
            await asyncio.sleep(poll)

    async def abort_step(self, phase_id: str, step_id: str, cancel_run: bool = True) -> list[int]:
        """Abort a running step: its supervisor stops the whole tree and records it
        (``cancel_run=False``: a GitHub workflow run it follows is left running). A
        supervisor being started again (re-attaching) is waited for, then asked.

        Returns the pids still alive afterwards (empty when everything is gone).
        """
        for _ in range(100):  # a supervisor being (re)started answers the abort itself
            if (phase_id, step_id) not in self._starting:
                break
            await asyncio.sleep(0.05)
        await self.sync()
        st = self.session.state.step(phase_id, step_id)
        if st.state != StepStatus.RUNNING:
            raise CockpitError(f"step {step_id!r} is not running")
        if st.kind == "window":
            await self.end_window(phase_id, step_id, "ended by the operator")
            return []
        status = await asyncio.to_thread(attempt_status, self.session, phase_id, step_id)
        if await asyncio.to_thread(ask_abort, status, cancel_run):
            loop = asyncio.get_running_loop()
            deadline = loop.time() + ABORT_WAIT
            while loop.time() < deadline:
                await self.sync()
                if self.session.state.step(phase_id, step_id).state != StepStatus.RUNNING:
                    return []
                await asyncio.sleep(0.1)
        # no supervisor (or it did not answer): stop the tree ourselves and say so
        return await self._kill_and_record(
            phase_id, step_id, "aborted by the operator (its supervisor did not answer)"
        )

    async def _kill_and_record(self, phase_id: str, step_id: str, reason: str) -> list[int]:
        st = self.session.state.step(phase_id, step_id)
        status = await asyncio.to_thread(attempt_status, self.session, phase_id, step_id) or {}
        cmd = st.running_command
        token = (cmd.token if cmd else None) or status.get("token") or "-"
        sup = status.get("supervisor") or {}
        if sup.get("pid") and await asyncio.to_thread(supervisor_alive, status):
            await stop_tree(int(sup["pid"]), "-")
        survivors = await stop_tree(cmd.pid if cmd else None, token)
        await self.sync()
        if self.session.state.step(phase_id, step_id).state == StepStatus.RUNNING:
            await self._record_end(phase_id, step_id, "aborted", reason)
        return survivors

    async def _record_end(self, phase_id: str, step_id: str, state: str, reason: str) -> None:
        """Record an end no supervisor recorded: the journal, then the status file and the
        step log's closing line, so that all three tell the same (the duration is the time
        since the step started: all that is known)."""
        st = self.session.state.step(phase_id, step_id)
        now = self.session.clock.now()
        took = (now - parse_iso(st.started_at)).total_seconds() if st.started_at else 0.0
        took = round(max(took, 0.0), 3)
        await self.record(
            self.session.plan_step_finished(phase_id, step_id, state, None, reason, took)
        )
        await asyncio.to_thread(close_attempt, self.session, phase_id, step_id, state, reason, took)

    def skip_refusal(self, phase_id: str, step_id: str) -> str | None:
        """Why this step cannot be skipped now (its phase locked, it runs, it is final), in
        the words skipping it would be refused with; None: it can."""
        try:
            self.session.plan_step_skip(phase_id, step_id, "asking")
        except CockpitError as exc:
            return str(exc)
        return None

    async def skip_step(self, phase_id: str, step_id: str, reason: str) -> None:
        await self.send(lambda: self.session.plan_step_skip(phase_id, step_id, reason))

    async def end_window(self, phase_id: str, step_id: str, how: str) -> None:
        """End a timed window; open checks are named in how it ended (they stay open)."""
        step = self.session.step_spec(phase_id, step_id)
        ticked = sum(self.session.state.item(phase_id, c.id).checked for c in step.checks)
        if ticked < len(step.checks):
            how = f"{how} with {ticked}/{len(step.checks)} checks ticked"
        await self.send(lambda: self.session.plan_window_end(phase_id, step_id, how))
        await self._next_stage(phase_id, step_id)

    async def _end_ticked_windows(self) -> None:
        """A window whose checks are all ticked has ended (journaled once)."""
        if self._ending_windows:
            return
        self._ending_windows = True
        try:
            for (phase_id, step_id), st in list(self.session.state.steps.items()):
                if st.kind != "window" or st.state != StepStatus.RUNNING:
                    continue
                phase = self.session.runbook.phases.get(phase_id)
                step = next((s for s in phase.steps if s.id == step_id), None) if phase else None
                if step is not None and step_state(phase, step, self.session.state) == "done":
                    await self.record(
                        self.session.plan_window_end(phase_id, step_id, "its checks are ticked")
                    )
                    await self._next_stage(phase_id, step_id)
        finally:
            self._ending_windows = False

    async def verify_item(
        self, phase_id: str, item_id: str, note: str | None = None
    ) -> Verification:
        """Verify a self-verifying item and journal what it found: a health item is judged on
        the monitor's window as its panel shows it; healthy ticks it with the evidence,
        anything else is a failed verification (it stays unticked)."""
        result = await verify_item(self.session, phase_id, item_id, note, self.monitor)
        await self.record(result.intent)
        return result

    # -- what a previous cockpit left ------------------------------------------------------

    async def reconcile(self) -> list[Found]:
        """Every step the journal says is running: still running, ended, vanished, orphaned."""
        await self.sync()
        found = []
        for phase_id, step_id in self.running_steps():
            result = await self.check(phase_id, step_id)
            if result is not None:
                found.append(result)
        return found

    async def check(self, phase_id: str, step_id: str) -> Found | None:
        """Is this running step's supervisor alive? If not, record how the step ended."""
        if (phase_id, step_id) in self._starting:
            return Found(phase_id, step_id, "running", "starting")
        status = await asyncio.to_thread(attempt_status, self.session, phase_id, step_id)
        if await asyncio.to_thread(supervisor_alive, status):
            assert status is not None
            pid = status["supervisor"]["pid"]
            return Found(phase_id, step_id, "running", f"still running (supervisor pid {pid})")
        await self.sync()  # it may have recorded the end just before it exited
        st = self.session.state.step(phase_id, step_id)
        if st.state != StepStatus.RUNNING:
            return None
        if status is not None and status.get("state") in ENDED:
            await self.record(
                self.session.plan_step_finished(
                    phase_id,
                    step_id,
                    status["state"],
                    status.get("exit_code"),
                    status.get("reason"),
                    float(status.get("duration_s") or 0.0),
                )
            )
            return Found(phase_id, step_id, "recorded", _ended_words(status))
        if (phase_id, step_id) in self._orphans:  # the orphan ended (or was waited for)
            if await asyncio.to_thread(self._command_alive, st, status):
                return Found(phase_id, step_id, "orphan", ORPHAN_WORDS)
            await self._record_end(phase_id, step_id, "failed", ORPHAN_ENDED)
            return Found(phase_id, step_id, "vanished", ORPHAN_ENDED)
        if await asyncio.to_thread(self._command_alive, st, status):
            self._orphans.add((phase_id, step_id))
            return Found(
                phase_id,
                step_id,
                "orphan",
                ORPHAN_WORDS,
            )
        following = await asyncio.to_thread(reattachable, status)
        if following is not None:  # the workflow run goes on on GitHub: follow it again
            assert status is not None
            return await self._reattach(phase_id, step_id, status, following)
        nothing_ran = not any(c.started_at for c in st.commands) and (
            status is None or (status.get("state") == "starting" and not status.get("commands"))
        )
        if nothing_ran:  # the supervisor never got the step: safe to start it again
            reason = "the cockpit stopped before the step's supervisor started: nothing ran"
            await self._record_end(phase_id, step_id, "failed", reason)
            return Found(phase_id, step_id, "not started", reason)
        if status is None:
            reason = "interrupted: the cockpit stopped while this step ran; exit status unknown (see its log)"
        else:
            pid = (status.get("supervisor") or {}).get("pid")
            reason = (
                f"vanished: its supervisor (pid {pid}) stopped before the command ended; "
                "exit status unknown (see its log)"
            )
        await self._record_end(phase_id, step_id, "failed", reason)
        return Found(phase_id, step_id, "vanished", reason)

    async def _reattach(
        self, phase_id: str, step_id: str, status: dict[str, Any], following: dict[str, Any]
    ) -> Found:
        """A new supervisor for the attempt, following the run the dead one followed — only
        when the step's commands are still those that ran (else the step vanished, the run
        named). One at a time per step: a second look while it starts says "running"."""
        key = (phase_id, step_id)
        if key in self._starting:
            return Found(phase_id, step_id, "running", "starting")
        self._starting.add(key)
        try:
            return await self._relaunch(phase_id, step_id, status, following)
        finally:
            self._starting.discard(key)

    async def _relaunch(
        self, phase_id: str, step_id: str, status: dict[str, Any], following: dict[str, Any]
    ) -> Found:
        pid = (status.get("supervisor") or {}).get("pid")
        run, url = following["workflow_run"], inert(str(following.get("url") or ""))
        lost = (
            f"vanished: its supervisor (pid {pid}) stopped while following workflow run "
            f"{run}; the run may still go on: {url}"
        )
        try:
            step = self.session.step_spec(phase_id, step_id)
            spec = reattach_spec(self.session, phase_id, step, status, self.columns)
            await self.sync()
            fresh = await asyncio.to_thread(attempt_status, self.session, phase_id, step_id)
            if self.session.state.step(phase_id, step_id).state != StepStatus.RUNNING or (
                await asyncio.to_thread(supervisor_alive, fresh)
            ):
                return Found(phase_id, step_id, "running", "recorded or taken over meanwhile")
            await asyncio.to_thread(launch, spec)
        except (OSError, CockpitError) as exc:
            reason = f"{lost} (no new supervisor could follow it: {exc})"
            await self._record_end(phase_id, step_id, "failed", reason)
            return Found(phase_id, step_id, "vanished", reason)
        words = (
            f"re-attached to workflow run {run} ({url}): its supervisor (pid {pid}) "
            "stopped; a new one follows the run to its conclusion"
        )
        return Found(phase_id, step_id, "reattached", words)

    @staticmethod
    def _command_alive(st: StepState, status: dict[str, Any] | None) -> bool:
        cmd = st.running_command
        if cmd is not None and cmd.pid and is_same_process(cmd.pid, cmd.create_time):
            return True
        token = (cmd.token if cmd else None) or (status or {}).get("token")
        return bool(token) and bool(holders(token))

    async def kill_orphan(self, phase_id: str, step_id: str) -> list[int]:
        """Stop an orphaned command's whole tree and record the step as aborted."""
        return await self._kill_and_record(
            phase_id, step_id, "orphaned command killed after the cockpit restarted"
        )

    async def wait_orphan(
        self,
        phase_id: str,
        step_id: str,
        poll: float = 1.0,
        tick: Callable[[], None] | None = None,
    ) -> None:
        """Wait for an orphaned command to end, then record that its exit status is unknown."""
        while True:
            st = self.session.state.step(phase_id, step_id)
            status = await asyncio.to_thread(attempt_status, self.session, phase_id, step_id)
            if st.state != StepStatus.RUNNING or not await asyncio.to_thread(
                self._command_alive, st, status
            ):
                break
            if tick is not None:
                await asyncio.to_thread(tick)
            await asyncio.sleep(poll)
            await self.sync()
        await self.sync()
        if self.session.state.step(phase_id, step_id).state == StepStatus.RUNNING:
            await self._record_end(phase_id, step_id, "failed", ORPHAN_ENDED)

    # -- health ----------------------------------------------------------------------------

    async def take_baseline(self) -> dict[str, Any] | None:
        """The deploy environment's baseline: the monitor's window, else a quick measurement;
        journaled (None: no samples, or the runbook has no ``kind: deploy`` phase)."""
        target = self.session.runbook.deploy_environment
        env = self.monitor.envs.get(target) if self.monitor and target else None
        baseline = baseline_of(env) if env else None
        config = self.session.ws.config
        if baseline is None and target in config.environments:
            assert target is not None
            url = config.ready_url(target)
            baseline = await measure_baseline(target, url, config.health)
        if baseline is not None:
            await self.record(self.session.plan_baseline(baseline))
        return baseline

    def capture_baseline(self) -> dict[str, Any] | None:
        """The operator's ``b``: the deploy environment's current window as the baseline
        (None: no samples, or no deploy environment)."""
        target = self.session.runbook.deploy_environment
        env = self.monitor.envs.get(target) if self.monitor and target else None
        baseline = baseline_of(env) if env else None
        if baseline is not None:
            self._later(self.record(self.session.plan_baseline(baseline)))
        return baseline

    def observe_health(self, env: EnvHealth, changed: bool) -> None:
        """After every probe: journal a state change at once (and the first state this
        driver sees, when the journal says otherwise: a run reopened with its service gone)
        with its sample; otherwise a ``health.sample`` at most once per health interval per
        environment (the driver's clock; one arriving sooner is dropped); raise the
        rollback criterion on signal."""
        state = self.session.state
        now = self.session.clock.now()
        first = env.name not in self._sampled
        events: list[Event] = []
        if changed or first:
            previous = h.state if (h := state.health.get(env.name)) else None
            if (previous or UNKNOWN) != env.state:
                events.append(self.session.plan_health_change(env.summary(), previous))
        last = self._sampled.get(env.name)
        interval = self.session.ws.config.health.interval
        if events or last is None or not 0 <= (now - last).total_seconds() < interval:
            self._sampled[env.name] = now
            events.append(self.session.plan_health_sample(env.summary()))
        if events:
            self._health_pending.extend(events)
            if not self._health_writing:  # one writer: the journal keeps their order
                self._health_writing = True
                self._later(self._write_health())
        if env.name != self.session.runbook.deploy_environment:
            return
        baseline = state.baselines.get(env.name)
        signal = signal_of(env, baseline.p95_ms if baseline else None)
        active = {signal[0]} if signal else set()
        for kind in active - self._signals:
            assert signal is not None
            criterion = self.session.runbook.recorded(kind, self.session.release_type)
            if criterion and not state.item(*criterion).checked:
                self._later(self.record(self.session.plan_flag(*criterion, signal[1])))
            self.alert(Alert("ROLLBACK CRITERIA MET", str(signal[1]["signal"]), "error"))
        self._signals = active

    async def _write_health(self) -> None:
        """Journal the health events observed, in the order they were (a change, then
        its sample); one that cannot be written is alerted, and those waiting dropped."""
        try:
            while self._health_pending:
                await self.record(self._health_pending.pop(0))
        except BaseException:
            self._health_pending.clear()
            raise
        finally:
            self._health_writing = False

    # -- incident command --------------------------------------------------------------------

    async def record_decision(self, choice: str, rationale: str, commander: str) -> bool:
        """Journal the decision; it documents the runbook's item; a rollback opens its phase.

        Returns True when the rollback phase is now open to run.
        """
        session = self.session
        await self.begin_decision()  # best effort: the decision is never refused for a timer
        await self.send(lambda: session.plan_decision(choice, rationale, commander))
        words = decision_words(choice)
        for what, note in (
            ("decision-call", f"{commander}: {words}"),
            ("decision-rationale", f"{words}: {rationale}"),
        ):
            item = session.runbook.recorded(what, session.release_type)
            if item is None or session.state.item(*item).checked:
                continue
            entry = session.runbook.phase(item[0]).item(item[1])
            signer = commander if entry is not None and entry.role else None  # the IC signs
            await self.send(lambda i=item, n=note, s=signer: session.plan_check(*i, n, signer=s))
        await self._end_decision_stage()
        rollback = session.runbook.kind_id("rollback")
        if choice != "rollback" or rollback is None:
            return False
        if session.progress(rollback).locked:
            reason = f"rollback decided by {commander}: {rationale}"
            await self.send(lambda: session.plan_override(rollback, reason))
        return True

    def _decision_stage(self) -> tuple[str, list[Step], int] | None:
        """The decision phase, its stages, and the index of the one the decision is made in
        (it holds the item that documents the decision)."""
        where = self.session.runbook.recorded("decision-rationale", self.session.release_type)
        if where is None:
            return None
        steps = self.steps(where[0])
        index = next(
            (n for n, s in enumerate(steps) if any(c.id == where[1] for c in s.checks)), None
        )
        return None if index is None else (where[0], steps, index)

    async def begin_decision(self) -> None:
        """The commander turns to the decision (the dialog opens): the stages before it
        that still run end ("moved on to the decision"), and the decision's own stage is
        timed from now unless it already is."""
        found = self._decision_stage()
        if found is None or self.session.state.decisions:
            return
        phase_id, steps, index = found
        session = self.session
        try:  # best effort: timing never stands in the way of the decision
            for step in steps[:index]:
                if session.state.step(phase_id, step.id).state == StepStatus.RUNNING:
                    words = "moved on to the decision"
                    await self.send(
                        lambda s=step, w=words: session.plan_window_end(phase_id, s.id, w)
                    )
            decide = steps[index]
            untimed = session.state.step(phase_id, decide.id).state == StepStatus.PENDING
            if untimed and not decide.commands and self.shown_state(phase_id, decide) == "pending":
                await self.record(session.plan_window_start(phase_id, decide.id))
        except CockpitError:
            pass

    async def _end_decision_stage(self) -> None:
        """The decision ends the stage it is made in (the one holding the item that
        documents it): its timer stops at the decision, open checks named."""
        found = self._decision_stage()
        if found is None:
            return
        phase_id, steps, index = found
        if self.session.state.step(phase_id, steps[index].id).state == StepStatus.RUNNING:
            await self.end_window(phase_id, steps[index].id, "the decision was recorded")

    async def _next_stage(self, phase_id: str, step_id: str) -> None:
        """In a ``kind: decision`` phase one stage's end starts the next stage's timer: the
        stages are timed from the assessment to the decision."""
        phase = self.session.runbook.phase(phase_id)
        if phase.kind != "decision" or self.session.state.decisions:
            return
        steps = phase.steps_for(self.session.release_type)
        ids = [s.id for s in steps]
        if step_id not in ids or ids.index(step_id) + 1 >= len(ids):
            return
        following = steps[ids.index(step_id) + 1]
        if following.commands or self.session.state.step(phase_id, following.id).attempts:
            return
        if self.shown_state(phase_id, following) == StepStatus.PENDING:
            await self.record(self.session.plan_window_start(phase_id, following.id))

    async def plan_hotfix_branch(self, incident: str) -> BranchPlan:
        ws = self.session.ws
        return await asyncio.to_thread(plan_hotfix_branch, ws.root, incident, ws.versioning)

    async def create_hotfix_branch(self, plan: BranchPlan) -> None:
        """Create the branch (confirmed by the caller), journal it, tick the runbook's item."""
        session = self.session
        await asyncio.to_thread(create_hotfix_branch, session.ws.root, plan)
        await self.record(session.plan_branch_created(plan.branch, plan.tag, plan.commit))
        created = session.runbook.recorded("hotfix-branch", session.release_type)
        if created and not session.state.item(*created).checked:
            evidence = {"branch": plan.branch, "tag": plan.tag, "commit": plan.commit}
            await self.send(
                lambda: session.plan_check(*created, f"{plan.branch} from {plan.tag}", evidence)
            )

    async def close(self) -> None:
        """Let pending journal writes (health changes, flags) finish."""
        if self._tasks:
            with contextlib.suppress(Exception):
                await asyncio.gather(*self._tasks, return_exceptions=True)


def _ended_words(status: dict[str, Any]) -> str:
    return f"{status.get('state')} ({exit_words(status.get('exit_code'))}) while no cockpit watched"
