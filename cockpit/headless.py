"""``cockpit run PHASE --headless``: a phase's steps from a script or a terminal, no TUI.

Owns driving the runner without a screen: the driver lock, a banner per step, every
line streamed to stdout as it arrives, ``confirm:`` asked on the terminal (refused
when there is none, unless ``--yes``), Ctrl-C aborting the running step as the abort
key does, ``--dry-run`` showing every command substituted, and a closing table of
steps, durations and budgets. Exit 0 done, 1 a step failed, 3 aborted.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import TextIO

from cockpit.durations import format_duration
from cockpit.errors import CockpitError
from cockpit.progress import FINISHED
from cockpit.runner import StepOutcome, StepRunner
from cockpit.session import Intent, RunSession

EXIT_DONE, EXIT_FAILED, EXIT_USAGE, EXIT_ABORTED = 0, 1, 2, 3


class Headless:
    """Runs the pending steps of one phase, printing as it goes."""

    def __init__(
        self,
        session: RunSession,
        phase_id: str,
        yes: bool = False,
        out: TextIO | None = None,
        confirm_input: TextIO | None = None,
    ):
        self.session = session
        self.phase_id = phase_id
        self.yes = yes
        self.out = out or sys.stdout
        self.stdin = confirm_input or sys.stdin
        self.runner: StepRunner | None = None
        self.interrupted = False
        self.rows: list[tuple[str, str, float | None, str]] = []

    async def record(self, intent: Intent) -> None:
        await asyncio.to_thread(self.session.write, intent)
        self.session.refresh()

    def _print_lines(self, stream: str, lines: list[bytes], ts: str) -> None:
        buffer = getattr(self.out, "buffer", None)
        prefix = b"! " if stream == "E" else (b"# " if stream == "#" else b"  ")
        data = prefix + (b"\n" + prefix).join(lines) + b"\n"
        if buffer is not None:
            self.out.flush()
            buffer.write(data)
            buffer.flush()
        else:
            self.out.write(data.decode("utf-8", "replace"))

    def _confirm(self, word: str, title: str) -> bool:
        if self.yes:
            return True
        if not self.stdin.isatty():
            raise CockpitError(
                f"step {title!r} needs confirmation (type {word!r}): run with --yes, or from a terminal"
            )
        self.out.write(f"Type {word!r} to run {title}: ")
        self.out.flush()
        return self.stdin.readline().strip() == word

    def pending_steps(self) -> list:
        phase = self.session.ws.runbook.phase(self.phase_id)
        return [
            s
            for s in phase.steps_for(self.session.release_type)
            if self.session.state.step(self.phase_id, s.id).state not in FINISHED
        ]

    def dry_run(self) -> int:
        phase = self.session.ws.runbook.phase(self.phase_id)
        for n, step in enumerate(phase.steps_for(self.session.release_type), 1):
            runner = StepRunner(self.session, self.phase_id, step.id, self.record)
            state = self.session.state.step(self.phase_id, step.id).state
            budget = f" (budget {step.budget})" if step.budget else ""
            confirm = f" [confirm: type {step.confirm!r}]" if step.confirm else ""
            self.out.write(f"==> [{n}] {step.title}{budget}{confirm} — {state}\n")
            for command in runner.commands:
                self.out.write(f"    $ {command}\n")
            for check in step.checks:
                self.out.write(f"    [ ] {check.text}\n")
        self.out.write("dry run: nothing was executed\n")
        return EXIT_DONE

    async def run(self) -> int:
        phase = self.session.ws.runbook.phase(self.phase_id)
        if not phase.steps_for(self.session.release_type):
            raise CockpitError(f"phase {self.phase_id!r} has no steps to run")
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, self._interrupt)
        loop.add_signal_handler(signal.SIGTERM, self._interrupt)
        try:
            return await self._run_steps()
        finally:
            loop.remove_signal_handler(signal.SIGINT)
            loop.remove_signal_handler(signal.SIGTERM)
            self._table()

    def _interrupt(self) -> None:
        self.interrupted = True
        self.out.write("\n# interrupted: aborting the running step…\n")
        self.out.flush()
        if self.runner is not None:
            self.runner.abort()

    async def _run_steps(self) -> int:
        steps = self.pending_steps()
        all_steps = self.session.ws.runbook.phase(self.phase_id).steps_for(
            self.session.release_type
        )
        for step in steps:
            n = all_steps.index(step) + 1
            if self.interrupted:
                return EXIT_ABORTED
            budget = f", budget {step.budget}" if step.budget else ""
            self.out.write(f"\n==> [{n}/{len(all_steps)}] {step.title}{budget}\n")
            self.out.flush()
            if step.confirm and not self._confirm(step.confirm, step.title):
                self.out.write("not confirmed: stopping here\n")
                self.rows.append((step.title, "not confirmed", None, str(step.budget or "")))
                return EXIT_ABORTED
            if not step.commands:
                self.out.write("  (no commands: manual checks)\n")
                for check in step.checks:
                    self.out.write(f"  [ ] {check.text}\n")
                self.rows.append((step.title, "manual", None, str(step.budget or "")))
                continue
            self.runner = StepRunner(
                self.session, self.phase_id, step.id, self.record, self._print_lines
            )
            outcome: StepOutcome = await self.runner.run()
            self.runner = None
            self.rows.append(
                (step.title, outcome.state, outcome.duration_s, str(step.budget or ""))
            )
            if outcome.state == "aborted" or self.interrupted:
                return EXIT_ABORTED
            if outcome.state != "done":
                self.out.write(f"step failed: {outcome.reason}\n")
                return EXIT_FAILED
        return EXIT_DONE

    def _table(self) -> None:
        if not self.rows:
            return
        self.out.write(f"\n{'STEP':<34} {'RESULT':<14} {'TOOK':>8}  BUDGET\n")
        for title, state, took, budget in self.rows:
            over = ""
            step = next(
                (s for s in self.session.ws.runbook.phase(self.phase_id).steps if s.title == title),
                None,
            )
            if took is not None and step is not None and step.budget and took > step.budget.high:
                over = "  OVER BUDGET"
            shown = format_duration(took) if took is not None else "—"
            self.out.write(f"{title:<34} {state:<14} {shown:>8}  {budget}{over}\n")
        self.out.flush()


def run_headless(session: RunSession, phase_id: str, yes: bool, dry_run: bool) -> int:
    """The ``cockpit run --headless`` entry point (takes the driver lock)."""
    if phase_id not in session.ws.runbook.phases:
        raise CockpitError(
            f"no phase {phase_id!r} (phases: {', '.join(session.ws.runbook.phases)})"
        )
    driver = Headless(session, phase_id, yes)
    if dry_run:
        return driver.dry_run()
    session.take_lock()
    try:
        return asyncio.run(driver.run())
    finally:
        session.release()
