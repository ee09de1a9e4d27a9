"""``cockpit run PHASE --headless``: a phase's steps from a script or a terminal, no TUI.

Owns the plain-text front end of the driver: the driver lock, what a previous cockpit
left (a step still running is followed to its end, one that ended is recorded, an
orphan is waited for), a banner per step, every line of the step log streamed to
stdout as the supervisor writes it, ``confirm:`` asked on the terminal (refused when
there is none, unless ``--yes``), out of order only with ``--out-of-order REASON``,
timed windows waited for until their checks are ticked (Enter ends one on a terminal),
health polled so the baseline and the rollback signal work as in the TUI, Ctrl-C
aborting the running step as the abort key does, SIGTERM or SIGHUP leaving it running
under its supervisor, ``--dry-run``, and a closing table. Exit 0 done, 1 a step
failed, 3 aborted, 128+N after signal N.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

from cockpit.clock import parse_iso
from cockpit.driver import Alert, Found, OutOfOrder, RunDriver
from cockpit.durations import format_duration
from cockpit.errors import CockpitError
from cockpit.events import FINISHED, StepStatus
from cockpit.logsearch import LogFollower, file_size, tail_offset
from cockpit.monitor import HealthMonitor
from cockpit.progress import step_seconds
from cockpit.runbook import Step
from cockpit.runner import shown_commands
from cockpit.session import RunSession
from cockpit.termtext import clean_chunk

EXIT_DONE, EXIT_FAILED, EXIT_USAGE, EXIT_ABORTED = 0, 1, 2, 3
PREFIX = len("2026-01-01T00:00:00.000Z O ")
"""A step-log line's prefix: a fixed-width UTC timestamp, the tag, two spaces."""
_SHOWN = {b"O": b"  ", b"E": b"! ", b"#": b"# "}
_IN_PROGRESS = (b"o", b"e")
"""Tags of a line still being written (a ``\r`` progress bar): not printed headless."""

WindowHook = Callable[[RunDriver, str, Step], Awaitable[None]]


def printable(data: bytes) -> bytes:
    """Whole step-log lines (``TS O|E|# text``) as headless prints them: ``  text``, ``! err``.

    The supervisor writes each chunk of output as a run of lines sharing one prefix
    (timestamp and tag), so a run is rewritten with one ``bytes.replace``: a million
    lines cost a few hundred C-level passes, not a million Python steps.
    """
    out = []
    pos, size = 0, len(data)
    while pos < size:
        prefix = data[pos : pos + PREFIX]
        shown = _SHOWN.get(prefix[PREFIX - 2 : PREFIX - 1])
        if prefix[PREFIX - 2 : PREFIX - 1] in _IN_PROGRESS and prefix[-1:] == b" ":
            pos = data.find(b"\n", pos) + 1 or size  # a line still being written: its
            continue  # final state is printed when it ends
        if shown is None or len(prefix) < PREFIX or prefix[-1:] != b" " or b"\n" in prefix:
            end = data.find(b"\n", pos) + 1 or size  # not a log line: as it is
            out.append(data[pos:end])
            pos = end
            continue
        end = _run_end(data, pos, prefix, size)
        out.append(shown + data[pos + PREFIX : end].replace(b"\n" + prefix, b"\n" + shown))
        pos = end
    return b"".join(out)


def _run_end(data: bytes, pos: int, prefix: bytes, size: int) -> int:
    """Where the run of lines starting at ``pos`` that share ``prefix`` ends.

    Galloping, then a binary search over line starts (a run is contiguous), checked by
    counting; a prefix that recurs after another run falls back to a scan.
    """
    lo, hi, step = pos, size, 4096
    while lo + step < size:
        start = data.find(b"\n", lo + step) + 1
        if start == 0:
            break
        if not data.startswith(prefix, start):
            hi = start
            break
        lo, step = start, step * 2
    while True:
        start = data.find(b"\n", (lo + hi) // 2) + 1
        if start == 0 or start >= hi:
            start = data.find(b"\n", lo) + 1
            if start == 0 or start >= hi:
                break
        if data.startswith(prefix, start):
            lo = start
        else:
            hi = start
    lines = data.count(b"\n", pos, hi)
    if data.count(b"\n" + prefix, pos, hi) == lines - 1:
        return hi
    other = re.compile(b"\n(?!" + re.escape(prefix) + b")").search(data, pos)
    return other.start() + 1 if other else size


class LogPrinter:
    """Copies what a step log gains to stdout, whole lines, rewritten by ``printable``."""

    def __init__(self, path: Path, out: TextIO, offset: int):
        self.follower = LogFollower(path, offset=offset)
        self.out = out
        isatty = getattr(out, "isatty", None)
        self.colour = bool(isatty and isatty())

    def drain(self) -> None:
        """Print everything the log gained (called off the event loop): colours kept for a
        terminal, plain text for a pipe or a file, no other control sequence ever."""
        while data := self.follower.read_all():
            text = clean_chunk(printable(data), self.colour, tuple(_SHOWN.values()))
            buffer = getattr(self.out, "buffer", None)
            if buffer is not None:
                self.out.flush()
                buffer.write(text)
                buffer.flush()
            else:
                self.out.write(text.decode("utf-8", "replace"))
                self.out.flush()


class Headless:
    """Runs the pending steps of one phase, printing as it goes."""

    def __init__(
        self,
        session: RunSession,
        phase_id: str,
        yes: bool = False,
        out: TextIO | None = None,
        confirm_input: TextIO | None = None,
        start_from: str | None = None,
        out_of_order: str | None = None,
        on_window: WindowHook | None = None,
        poll_health: bool = True,
        driver: RunDriver | None = None,
    ):
        self.session = session
        self.phase_id = phase_id
        self.yes = yes
        self.out = out or sys.stdout
        self.stdin = confirm_input or sys.stdin
        self.start_from = start_from
        self.out_of_order = out_of_order
        self.on_window = on_window
        self.poll_health = poll_health
        self.monitor: HealthMonitor | None = None
        self.driver = driver or RunDriver(session)
        self.driver.alert = self._alert
        self.running: str | None = None
        self.interrupted = False
        self.detached: int | None = None
        self._main: asyncio.Task[int] | None = None
        self.ran = False
        """Whether this run reached its steps (the closing table is printed then)."""

    def _say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def _alert(self, alert: Alert) -> None:
        self._say(f"!! {alert.title}: {alert.message}")

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

    def steps(self) -> list[Step]:
        return self.session.runbook.phase(self.phase_id).steps_for(self.session.release_type)

    def to_run(self) -> list[Step]:
        """The steps this run goes through: from ``--from`` (or the first not done) on."""
        steps = self.steps()
        if self.start_from is not None:
            ids = [s.id for s in steps]
            if self.start_from not in ids:
                raise CockpitError(
                    f"no step {self.start_from!r} in phase {self.phase_id!r} (steps: {', '.join(ids)})"
                )
            steps = steps[ids.index(self.start_from) :]
        return [s for s in steps if self.driver.shown_state(self.phase_id, s) not in FINISHED]

    def dry_run(self) -> int:
        for n, step in enumerate(self.steps(), 1):
            state = self.driver.shown_state(self.phase_id, step)
            budget = f" (budget {step.budget})" if step.budget else ""
            confirm = f" [confirm: type {step.confirm!r}]" if step.confirm else ""
            window = "" if step.commands else " [timed window]"
            self.out.write(f"==> [{n}] {step.title}{budget}{confirm}{window} — {state}\n")
            for command in shown_commands(self.session, step):
                self.out.write(f"    $ {command}\n")
            for check in step.checks:
                self.out.write(f"    [ ] {check.text}\n")
        self.out.write("dry run: nothing was executed\n")
        return EXIT_DONE

    async def run(self) -> int:
        phase = self.session.runbook.phase(self.phase_id)
        if not phase.steps_for(self.session.release_type):
            raise CockpitError(f"phase {self.phase_id!r} has no steps to run")
        progress = self.session.progress(self.phase_id)
        if progress.locked:
            raise CockpitError(
                f"phase {self.phase_id!r} is locked until {', '.join(progress.waiting_on)} "
                f"{'is' if len(progress.waiting_on) == 1 else 'are'} complete"
            )
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, self._interrupt)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, self._detach, sig)
        health = self._start_health()
        self._main = asyncio.current_task()
        try:
            return await self._run()
        except asyncio.CancelledError:
            if self.detached is None:
                raise
            return 128 + self.detached
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            if health is not None:
                health.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await health
            await self.driver.close()
            self._table()

    def _start_health(self) -> asyncio.Task[None] | None:
        config = self.session.ws.config
        if not self.poll_health or not config.environments:
            return None
        self.monitor = HealthMonitor.from_config(
            config, lambda env, sample, changed: self.driver.observe_health(env, changed)
        )
        self.driver.monitor = self.monitor
        return asyncio.get_running_loop().create_task(self.monitor.run())

    def _interrupt(self) -> None:
        self.interrupted = True
        self._say("\n# interrupted: aborting the running step…")
        if self.running is not None:
            running = self.running
            asyncio.get_running_loop().create_task(self.driver.abort_step(self.phase_id, running))

    def _detach(self, sig: signal.Signals) -> None:
        """SIGTERM / SIGHUP: leave the running step to its supervisor and stop driving."""
        name = signal.Signals(sig).name
        self.detached = int(sig)
        running = f"; {self.running} keeps running under its supervisor" if self.running else ""
        with contextlib.suppress(Exception):
            self._say(f"\n# {name}: this cockpit stops driving{running}")
        self.session.release(f"the cockpit received {name}{running}")
        if self._main is not None:
            self._main.cancel()

    async def _run(self) -> int:
        self.ran = True
        for found in await self.driver.reconcile():
            code = await self._resume(found)
            if code is not None:
                return code
        all_steps = self.steps()
        if not self.to_run():
            self._say(f"nothing to run: every step of {self.phase_id} is done or skipped")
        for step in self.to_run():
            if self.interrupted:
                return EXIT_ABORTED
            n = all_steps.index(step) + 1
            budget = f", budget {step.budget}" if step.budget else ""
            self._say(f"\n==> [{n}/{len(all_steps)}] {step.title}{budget}")
            offset = file_size(self.session.log_path(self.phase_id, step.id))
            if not step.commands and self._window_open(step):
                # opened earlier (the TUI, or a run that stopped waiting): wait on it here
                self._say("  the window is already open: waiting on its checks")
                code = await self._window(step)
                if code is not None:
                    return code
                continue
            if step.confirm and not self._confirm(step.confirm, step.title):
                self._say("not confirmed: stopping here")
                return EXIT_ABORTED
            try:
                await self.driver.start_step(self.phase_id, step.id, self._reason_for(step))
            except OutOfOrder as exc:
                self._say(f"{exc} (--out-of-order REASON)")
                return EXIT_USAGE
            code = await (self._window(step) if not step.commands else self._follow(step, offset))
            if code is not None:
                return code
        return EXIT_DONE

    def _window_open(self, step: Step) -> bool:
        return self.session.state.step(self.phase_id, step.id).state == "running"

    def _reason_for(self, step: Step) -> str | None:
        if self.driver.earlier_unfinished(self.phase_id, step.id):
            return self.out_of_order
        return None

    async def _resume(self, found: Found) -> int | None:
        """A step a previous cockpit left: say what it is; follow it if it runs in this phase."""
        title = self.session.step_spec(found.phase, found.step).title
        self._say(f"# {title}: {found.words}")
        if found.what == "recorded" or found.what == "vanished":
            return self._ended_unwatched(found)
        if found.phase != self.phase_id:
            self._say(f"# it belongs to phase {found.phase!r}: finish it there first")
            return EXIT_USAGE
        step = self.session.step_spec(found.phase, found.step)
        if found.what == "orphan":
            self._say("# waiting for the orphaned command to end…")
            await self.driver.wait_orphan(found.phase, found.step)
            st = self.session.state.step(found.phase, found.step)
            self._say(f"# {title}: {st.state} — {st.reason}")
            return self._ended_unwatched(found)
        path = self.session.log_path(found.phase, found.step)
        self._say(f"\n==> resuming {title}: following its log")
        return await self._follow(step, offset=tail_offset(path, 20))

    def _ended_unwatched(self, found: Found) -> int | None:
        """A step that ended while no cockpit watched: done goes on; failed stops here, so
        a command that may have half-run (a migration) is never started again unasked."""
        st = self.session.state.step(found.phase, found.step)
        if st.state != StepStatus.FAILED:
            return None
        self._say(
            f"# stopping: it failed while no cockpit watched; look at its log, then retry it "
            f"(cockpit run {found.phase} --headless) or skip it in the TUI"
        )
        return EXIT_FAILED

    async def _follow(self, step: Step, offset: int) -> int | None:
        """Print the step's log as it grows until the step ends; an exit code to stop with."""
        path = self.session.log_path(self.phase_id, step.id)
        printer = LogPrinter(path, self.out, offset)
        self.running = step.id
        try:
            st = await self.driver.wait_step(self.phase_id, step.id, poll=0.05, tick=printer.drain)
        finally:
            self.running = None
        await asyncio.to_thread(printer.drain)
        if st.state == StepStatus.ABORTED or self.interrupted:
            return EXIT_ABORTED
        if st.state != StepStatus.DONE:  # failed, or anything unknown: never a success
            self._say(f"step failed: {st.reason}")
            return EXIT_FAILED
        return None

    async def _window(self, step: Step) -> int | None:
        """A step without commands: its timer runs until its checks are ticked or it is ended.

        Ctrl-C leaves it open (it is a timer: nothing runs) and stops this run. Without a
        terminal nobody can end it here: past its budget (or at once, with no checks to wait
        for) the run stops and the timer stays open — it is never ended as done for nobody.
        """
        self._say(f"  timed window ({step.budget or 'no budget'}): tick its checks to end it")
        for check in step.checks:
            self._say(f"  [ ] {check.text}  (cockpit check {self.phase_id} {check.id})")
        if self.on_window is not None:
            await self.on_window(self.driver, self.phase_id, step)
        interactive = self.stdin.isatty()
        if not step.checks and not interactive:
            self._say(
                f"# {step.title}: a timed window with no checks, and no terminal here to end it: "
                "stopping; its timer stays open (end it in the TUI with e)"
            )
            return EXIT_ABORTED
        ender = self._enter_ends(step)
        warned: set[float] = set()
        ticked: set[str] = set()
        try:
            while True:
                await self.driver.sync()
                self._say_ticks(step, ticked)
                st = self.session.state.step(self.phase_id, step.id)
                if st.state != StepStatus.RUNNING:
                    break
                if self.interrupted:
                    self._say(f"# {step.title}: its timer stays open")
                    return EXIT_ABORTED
                elapsed = (
                    self.session.clock.now() - parse_iso(st.started_at or "")
                ).total_seconds()
                if not interactive and step.budget and elapsed > step.budget.high:
                    self._say(
                        f"# {step.title}: over its budget {step.budget} with checks open and no "
                        "terminal to end it: stopping; its timer stays open"
                    )
                    return EXIT_ABORTED
                if step.budget:
                    for mark, words in ((step.budget.warn_at, "80 %"), (step.budget.high, "100 %")):
                        if elapsed >= mark and mark not in warned:
                            warned.add(mark)
                            self._say(
                                f"# {step.title}: {format_duration(elapsed)}, past {words} of its budget {step.budget}"
                            )
                await asyncio.sleep(0.2)
        finally:
            if ender is not None:
                ender.cancel()
        self._say(f"  window {st.state}: {st.reason or ''}".rstrip(": "))
        return None

    def _say_ticks(self, step: Step, said: set[str]) -> None:
        """Each check of a window as it is ticked (from the TUI or ``cockpit check``)."""
        for check in step.checks:
            item = self.session.state.item(self.phase_id, check.id)
            if item.checked and check.id not in said:
                said.add(check.id)
                note = f" — {item.note}" if item.note else ""
                self._say(f"  [x] {check.text}  ({item.by}){note}")

    def _enter_ends(self, step: Step) -> asyncio.Task[None] | None:
        if not self.stdin.isatty():
            return None
        self._say("  (press Enter to end it now)")

        async def wait_enter() -> None:
            await asyncio.to_thread(self.stdin.readline)
            with contextlib.suppress(CockpitError, OSError):
                await self.driver.end_window(self.phase_id, step.id, "ended by the operator")

        return asyncio.get_running_loop().create_task(wait_enter())

    def _table(self) -> None:
        """Every step of the phase as the journal tells it (also those run before)."""
        if not self.ran:
            return
        self.out.write(f"\n{'STEP':<34} {'RESULT':<14} {'TOOK':>8}  BUDGET\n")
        for step in self.steps():
            took = step_seconds(self.session.runbook.phase(self.phase_id), step, self.session.state)
            over = (
                "  OVER BUDGET"
                if took is not None and step.budget and took > step.budget.high
                else ""
            )
            shown = format_duration(took) if took is not None else "—"
            state = self.driver.shown_state(self.phase_id, step)
            if state == StepStatus.RUNNING and not step.commands:
                state = "window open"
            self.out.write(
                f"{step.title[:34]:<34} {state:<14} {shown:>8}  {step.budget or ''}{over}\n"
            )
        self.out.flush()


def run_headless(
    session: RunSession,
    phase_id: str,
    yes: bool,
    dry_run: bool,
    start_from: str | None = None,
    out_of_order: str | None = None,
) -> int:
    """The ``cockpit run --headless`` entry point (takes the driver lock)."""
    phase = session.runbook.phase(phase_id)  # an unknown one: the phases, in words
    if not phase.steps_for(session.release_type):
        raise CockpitError(f"phase {phase_id!r} has no steps to run")
    if not dry_run:
        session.require_unlocked(phase_id)  # before anything is printed
    driver = Headless(session, phase_id, yes, start_from=start_from, out_of_order=out_of_order)
    if dry_run:
        return driver.dry_run()
    session.take_lock()
    if session.lock.replaced:
        driver._say(f"# {session.lock.replaced}: replaced (journaled)")
    try:
        return asyncio.run(driver.run())
    finally:
        session.release()
