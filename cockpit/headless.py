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
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TextIO

from cockpit.clock import parse_iso
from cockpit.driver import Alert, Found, OutOfOrder, RunDriver
from cockpit.durations import format_duration
from cockpit.errors import CockpitError
from cockpit.events import FINISHED, StepStatus
from cockpit.logsearch import LogFollower, file_size, tail_offset
from cockpit.monitor import HealthMonitor
from cockpit.offers import waiting
from cockpit.phaseclock import phase_clock
from cockpit.progress import step_seconds
from cockpit.runbook import Step
from cockpit.runner import shown_commands, step_commands
from cockpit.session import RunSession
from cockpit.termtext import SIMPLE_SEQUENCE, clean_chunk, drop_line_end_cr, replace_all

EXIT_DONE, EXIT_FAILED, EXIT_USAGE, EXIT_ABORTED = 0, 1, 2, 3
PREFIX = len("2026-01-01T00:00:00.000Z O ")
"""A step-log line's prefix: a fixed-width UTC timestamp, the tag, two spaces."""
_SHOWN = {b"O": b"  ", b"E": b"! ", b"#": b"# "}
_IN_PROGRESS = (b"o", b"e")
"""Tags of a line still being written (a ``\r`` progress bar): not printed headless."""
MARKERS = tuple(_SHOWN.values())
"""What a printed line starts with: kept in front of a progress line's last state."""

WindowHook = Callable[[RunDriver, str, Step], Awaitable[None]]


def printable(data: bytes) -> bytes:
    """Whole step-log lines (``TS O|E|# text``) as headless prints them: ``  text``, ``! err``.

    The supervisor writes each chunk of output as a run of lines sharing one prefix
    (timestamp and tag), so a run is rewritten with one replace (``replace_all``): a
    million lines cost a few hundred C-level passes, not a million Python steps.
    """
    return b"".join(_printed(data, None))


def shown_text(data: bytes, colour: bool) -> bytes:
    """``printable`` made safe to print: the bytes of ``clean_chunk(printable(data), colour,
    MARKERS)``, run by run. A run is cleaned while it is in the CPU cache, and the first
    ``\\r`` rewrite of its progress lines is dropped in the replace of their prefix."""
    return b"".join(_printed(data, colour))


def _printed(data: bytes, colour: bool | None) -> Iterator[bytes]:
    """``printable`` in pieces of whole lines, cleaned unless ``colour`` is None."""
    pos, size = 0, len(data)
    others = bytearray()  # lines that are not log lines, as they are
    while pos < size:
        prefix = data[pos : pos + PREFIX]
        shown = _SHOWN.get(prefix[PREFIX - 2 : PREFIX - 1])
        if prefix[PREFIX - 2 : PREFIX - 1] in _IN_PROGRESS and prefix[-1:] == b" ":
            pos = data.find(b"\n", pos) + 1 or size  # a line still being written: its
            continue  # final state is printed when it ends
        if shown is None or len(prefix) < PREFIX or prefix[-1:] != b" " or b"\n" in prefix:
            end = data.find(b"\n", pos) + 1 or size  # not a log line: as it is
            others += data[pos:end]
            pos = end
            continue
        if others:
            yield _cleaned(bytes(others), colour)
            others.clear()
        cut = colour  # None: not cleaned
        end = _run_end(data, pos, prefix, size)
        body, replaced = _rewrite_run(data[pos + PREFIX : end], prefix, shown, cut)
        # checked: every line after the first had the prefix; a prefix that recurs after
        # another run falls back to a scan
        if replaced != data.count(b"\n", pos, end) - 1:
            other = re.compile(b"\n(?!" + re.escape(prefix) + b")").search(data, pos)
            end = other.start() + 1 if other else size
            body, _ = _rewrite_run(data[pos + PREFIX : end], prefix, shown, cut)
        yield _cleaned(shown + body, colour)
        pos = end
    if others:
        yield _cleaned(bytes(others), colour)


def _cleaned(piece: bytes, colour: bool | None) -> bytes:
    return piece if colour is None else clean_chunk(piece, colour, MARKERS)


def _rewrite_run(body: bytes, prefix: bytes, shown: bytes, cut: bool | None) -> tuple[bytes, int]:
    """A run's lines after its first prefix, each later line's ``prefix`` replaced by
    ``shown``, and how many were (the caller's check that the run is whole).

    ``cut``: the text is cleaned next, for a terminal (True) or a pipe (False); None: it
    is not. Then the lines' trailing ``\\r`` are dropped (a CRLF's half), and the text up
    to the first ``\\r`` of the run's first progress line is dropped from every line it
    starts, in the same replace as their prefix, when the next line repeats it (a progress
    bar): ``clean_chunk`` keeps only what follows a line's last ``\\r`` anyway."""
    new = b"\n" + shown
    replaced = 0
    cr = body.find(b"\r") if cut is not None and b"\r" not in prefix else -1
    if cr >= 0 and not _LINE_END_CR.match(body, cr):
        start = body.rfind(b"\n", 0, cr)
        # for a pipe, the escape sequences right after that \r go too: the plain text
        # drops them wherever they are (``\r\x1b[2K`` clearing the line, a colour)
        lead = _LEADING_SEQUENCES.match(body, cr + 1) if cut is False else None
        upto = lead.end() if lead else cr + 1
        if start == -1:  # the run's first line (its prefix is already off)
            rewrite = b"\n" + prefix + body[:upto]
        elif body.startswith(prefix, start + 1):
            rewrite = body[start:upto]
        else:  # not a line of the run (the caller finds where the run ends)
            rewrite = b""
        # the line ends' \r dropped first (none is before this \r: nothing up to it moves)
        body = drop_line_end_cr(body) if rewrite else body
        following = body.find(b"\n", cr)
        if rewrite and following >= 0 and body.startswith(rewrite, following):
            # the next line repeats it (a progress bar): worth a replace
            if start == -1:
                body = body[upto:]
            before = len(body)
            body = replace_all(body, rewrite, new)
            replaced = (before - len(body)) // (len(rewrite) - len(new))
    before = len(body)
    body = replace_all(body, b"\n" + prefix, new)
    return body, replaced + (before - len(body)) // (1 + PREFIX - len(new))


_LEADING_SEQUENCES = re.compile(rb"(?:" + SIMPLE_SEQUENCE.pattern + rb")+")
_LINE_END_CR = re.compile(rb"\r+(?:\n|\Z)")


def _run_end(data: bytes, pos: int, prefix: bytes, size: int) -> int:
    """Where the run of lines starting at ``pos`` that share ``prefix`` ends, if a run is
    contiguous (``printable`` checks): galloping, then a binary search over line starts.
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
    return hi


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
            text = shown_text(data, self.colour)
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
        presets: dict[str, str] | None = None,
    ):
        self.session = session
        self.presets = presets or {}
        """``--set NAME=VALUE``: the picks for what a step's output offers."""
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
            code = await self._picks_before(step)
            if code is not None:
                return code
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
        if found.what == "not started":
            return None  # nothing ran: it is started again below, like any failed step
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
        """A step that ended while no cockpit watched: done or skipped goes on; failed or
        aborted stops here, so a command that may have half-run (a migration) is never
        started again unasked."""
        st = self.session.state.step(found.phase, found.step)
        if st.state in FINISHED:
            return None
        self._say(
            f"# stopping: it ended {st.state} while no cockpit watched; look at its log, then "
            f"retry it (cockpit run {found.phase} --headless) or skip it in the TUI"
        )
        return EXIT_ABORTED if st.state == StepStatus.ABORTED else EXIT_FAILED

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
        if st.state == StepStatus.SKIPPED:  # its `when:` guard said so
            self._say(f"step skipped: {st.reason}")
            return None
        if st.state != StepStatus.DONE:  # failed, or anything unknown: never a success
            self._say(f"step failed: {st.reason}")
            return EXIT_FAILED
        return await self._pick(step)

    async def _picks_before(self, step: Step) -> int | None:
        """Before a step starts: every done step before it whose output offered a value
        that was not chosen yet gets its pick (``--set``), else the run stops here."""
        for earlier in self.session.runbook.phase(self.phase_id).steps:
            if earlier.id == step.id:
                return None
            code = await self._pick(earlier)
            if code is not None:
                return code
        return None

    async def _pick(self, step: Step) -> int | None:
        """The value the operator gave with ``--set`` for what the step offers (journaled);
        without one, the offers are listed and the run stops (exit 2): a command that
        needs the pick never runs with the old value."""
        offers = await asyncio.to_thread(waiting, self.session, self.phase_id, step)
        for offer in offers:
            listed = ", ".join(offer.values) or "nothing (no line matched)"
            value = self.presets.get(offer.var)
            if value is None:
                self._say(f"# {step.title} offers {offer.var}: {listed}")
                self._say(
                    f"# pick one and go on: cockpit run {self.phase_id} --headless "
                    f"--set {offer.var}=VALUE"
                )
                return EXIT_USAGE
            await self.driver.send(
                lambda o=offer, v=value: self.session.plan_choice(o.var, v, self.phase_id, step.id)
            )
            note = "" if value in offer.values else f" (not among those offered: {listed})"
            self._say(f"# {offer.var} = {value} (--set){note}")
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
        phase = self.session.runbook.phase(self.phase_id)
        clock = phase_clock(phase, self.session.state, self.session.clock.now())
        label = "deployment" if phase.kind == "deploy" else "total"
        self.out.write(clock.words(label) + "\n")  # as status and the report say it
        self.out.flush()


def run_headless(
    session: RunSession,
    phase_id: str,
    yes: bool,
    dry_run: bool,
    start_from: str | None = None,
    out_of_order: str | None = None,
    presets: dict[str, str] | None = None,
) -> int:
    """The ``cockpit run --headless`` entry point (takes the driver lock)."""
    phase = session.runbook.phase(phase_id)  # an unknown one: the phases, in words
    if not phase.steps_for(session.release_type):
        raise CockpitError(f"phase {phase_id!r} has no steps to run")
    if not dry_run:
        session.require_unlocked(phase_id)  # before anything is printed
    for name, value in (presets or {}).items():
        session.plan_choice(name, value)  # a name that cannot be chosen: refused up front
    driver = Headless(
        session,
        phase_id,
        yes,
        start_from=start_from,
        out_of_order=out_of_order,
        presets=presets,
    )
    if dry_run:
        return driver.dry_run()
    session.take_lock()
    if session.lock.replaced:
        driver._say(f"# {session.lock.replaced}: replaced (journaled)")
    offered_here = {
        c.offers.var for s in phase.steps for c in step_commands(s) if c.offers is not None
    }
    for name, value in (presets or {}).items():
        if name not in offered_here:  # nothing here offers it: it holds from now on
            session.write(session.plan_choice(name, value))
            driver._say(f"# {name} = {value} (--set)")
    try:
        return asyncio.run(driver.run())
    finally:
        session.release()
