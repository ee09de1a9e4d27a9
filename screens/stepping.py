"""The app's side of running steps: one runner at a time, its output batched for the screen.

Owns starting a step's runner in a worker (never on a screen), the production
baseline taken automatically when the production deployment starts, the buffer
that turns a flood of output into at most ~20 redraws a second (only the tail of a
big chunk is decoded: the log file keeps everything), resolving steps a killed
cockpit left running (journal the interrupted ones; kill or wait for orphans),
and the running command's CPU and memory.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from cockpit.errors import CockpitError
from cockpit.healthwatch import baseline_of, measure_baseline
from cockpit.proctree import Usage, UsageMeter, holders, is_same_process, stop_tree
from cockpit.runbook import DEPLOY_PHASE
from cockpit.runner import StepOutcome, StepRunner

if TYPE_CHECKING:
    from screens.app import CockpitApp

SHOWN_LINES = 2000
"""Lines the log widget holds; the step log on disk holds every line."""


class OutputBuffer:
    """Output waiting to be drawn: raw chunks, O(1) to add, decoded only at draw time.

    A flood of output keeps only what could still be drawn; ``take`` returns at most
    ``per_draw`` lines (the newest) and how many it left out — the step log on disk
    keeps every line.
    """

    def __init__(self, limit: int = SHOWN_LINES, per_draw: int = 120):
        self.limit = limit
        self.per_draw = per_draw
        self.chunks: deque[tuple[str, list[bytes]]] = deque()
        self.count = 0
        self.step: tuple[str, str] | None = None

    @property
    def pending(self) -> bool:
        return self.count > 0

    def add(self, stream: str, lines: list[bytes]) -> None:
        self.chunks.append((stream, lines))
        self.count += len(lines)
        while len(self.chunks) > 1 and self.count - len(self.chunks[0][1]) >= self.limit:
            self.count -= len(self.chunks.popleft()[1])

    def take(self) -> tuple[list[tuple[str, str]], int]:
        """The newest lines to draw (decoded), and how many pending lines were not drawn."""
        out: list[tuple[str, str]] = []
        need = self.per_draw
        for stream, lines in reversed(self.chunks):
            if need <= 0:
                break
            part = lines[-need:]
            out[:0] = [(stream, line.decode("utf-8", "replace")) for line in part]
            need -= len(part)
        skipped = self.count - len(out)
        self.chunks.clear()
        self.count = 0
        return out, skipped


class Stepper:
    """Runs steps for the app; at most one at a time."""

    def __init__(self, app: CockpitApp):
        self.app = app
        self.runner: StepRunner | None = None
        self.buffer = OutputBuffer()
        self.meter = UsageMeter()
        self.on_finished: list[Callable[[str, str, StepOutcome], None]] = []

    @property
    def running(self) -> tuple[str, str] | None:
        if self.runner is None:
            return None
        return self.runner.phase_id, self.runner.step.id

    def start(self, phase_id: str, step_id: str) -> StepRunner:
        """Validate and start a step; raises CockpitError in words when it cannot start."""
        session = self.app.session
        if session is None or self.app.read_only:
            raise CockpitError("this view is read-only")
        if self.runner is not None:
            raise CockpitError(f"step {self.runner.step.title!r} is still running")
        runner = StepRunner(session, phase_id, step_id, self.app.record, self._output)
        session.plan_step_start(phase_id, step_id, runner.commands)  # validate before anything
        self.runner = runner
        self.buffer = OutputBuffer()
        self.buffer.step = (phase_id, step_id)
        self.meter = UsageMeter()
        self.app.run_worker(
            self._run(runner), group="step", name=f"step {step_id}", exit_on_error=False
        )
        return runner

    def _output(self, stream: str, lines: list[bytes], ts: str) -> None:
        self.buffer.add(stream, lines)

    async def _run(self, runner: StepRunner) -> None:
        session = self.app.session
        assert session is not None
        try:
            first = session.ws.runbook.phase(runner.phase_id).steps_for(session.release_type)[0]
            starts_deploy = runner.phase_id == DEPLOY_PHASE and runner.step.id == first.id
            if starts_deploy and "production" not in session.state.baselines:
                await self._baseline()
            outcome = await runner.run()
        finally:
            self.runner = None
        for callback in self.on_finished:
            callback(runner.phase_id, runner.step.id, outcome)

    async def _baseline(self) -> None:
        """Production's baseline as the deploy starts: the monitor's window, else a quick measure."""
        session = self.app.session
        assert session is not None
        monitor = self.app.monitor
        env = monitor.envs.get("production") if monitor else None
        baseline = baseline_of(env) if env else None
        config = session.ws.config
        if baseline is None and "production" in config.environments:
            url = config.environments["production"].url + config.health.path
            baseline = await measure_baseline("production", url, config.health)
        if baseline is not None:
            await self.app.record(session.plan_baseline(baseline))

    def abort(self) -> bool:
        if self.runner is None:
            return False
        self.runner.abort()
        return True

    async def usage(self) -> Usage | None:
        pid = self.runner.current_pid if self.runner else None
        if pid is None:
            return None
        return await asyncio.to_thread(self.meter.sample, pid)

    # -- after a crash -------------------------------------------------------------------

    async def reconcile(self) -> list[tuple[str, str]]:
        """Journal steps a killed cockpit left running whose processes are gone; return orphans."""
        session = self.app.session
        if session is None or self.app.read_only:
            return []
        orphans = []
        for phase_id, step_id, _st, _cmd, alive in await asyncio.to_thread(session.stale_steps):
            if alive:
                orphans.append((phase_id, step_id))
                continue
            reason = "interrupted: the cockpit stopped while this step ran; exit status unknown (see its log)"
            await self.app.record(
                session.plan_step_finished(phase_id, step_id, "failed", None, reason, 0.0)
            )
        return orphans

    async def kill_orphan(self, phase_id: str, step_id: str) -> list[int]:
        session = self.app.session
        assert session is not None
        cmd = session.state.step(phase_id, step_id).running_command
        survivors = await stop_tree(
            cmd.pid if cmd else None, cmd.token if cmd and cmd.token else "-"
        )
        await self.app.record(
            session.plan_step_finished(
                phase_id,
                step_id,
                "aborted",
                None,
                "orphaned command killed after the cockpit restarted",
                0.0,
            )
        )
        return survivors

    async def wait_orphan(self, phase_id: str, step_id: str) -> None:
        session = self.app.session
        assert session is not None
        cmd = session.state.step(phase_id, step_id).running_command
        while cmd is not None and (
            (cmd.pid and is_same_process(cmd.pid, cmd.create_time))
            or (cmd.token and holders(cmd.token))
        ):
            await asyncio.sleep(1.0)
        await self.app.record(
            session.plan_step_finished(
                phase_id,
                step_id,
                "failed",
                None,
                "the orphaned command ended while the cockpit was away: exit status unknown (see its log)",
                0.0,
            )
        )
