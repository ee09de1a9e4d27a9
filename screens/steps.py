"""The deploy screen's widgets, each owning one part of showing a phase's timed steps.

``StepList`` (each step's state in words and its timer against budget; it moves to a
step as it starts), ``StepDetail`` (the selected step's commands fully substituted
and how it ended), ``StepChecks`` (its manual checks), ``StepLogView`` (the step log
file as the supervisor writes it: the tail, then followed at most 20×/s, searched
whole), ``OrphanBanner`` and ``UsageLine`` (the running command's CPU and memory).
Each is given what it needs when it is made and reads the run's state; none sends an
intent (the screen does).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from rich.text import Text
from textual import work
from textual.widgets import OptionList, RichLog, Static
from textual.widgets.option_list import Option

from cockpit.clock import Clock, local_hm
from cockpit.durations import format_clock
from cockpit.errors import CockpitError
from cockpit.events import StepStatus
from cockpit.logsearch import LogFollower, file_size, search_log, tail_lines
from cockpit.proctree import UsageMeter
from cockpit.progress import step_seconds, step_state
from cockpit.runbook import Phase, Step
from cockpit.runner import render_commands
from cockpit.session import RunSession
from screens.theme import STEP_COLOURS, style

MARKS = {"pending": "·", "running": "▶", "done": "✓", "failed": "✗", "skipped": "↷", "aborted": "■"}
BAR = 20
SHOWN_PER_DRAW = 120
"""Lines drawn per frame at most while a step floods (the log file keeps every line)."""
SHOWN_LINES = 2000
"""Lines the log widget holds; the step log on disk holds every line."""


def timer_bar(elapsed: float, budget: float | None, warn_at: float | None) -> tuple[str, str]:
    """The step's elapsed-vs-budget bar and its theme colour (warning past 80 %, error past 100 %)."""
    if not budget:
        return "", "secondary"
    filled = min(BAR, round(BAR * elapsed / budget))
    colour = "success"
    if elapsed > budget:
        colour = "error"
    elif warn_at is not None and elapsed >= warn_at:
        colour = "warning"
    return "█" * filled + "░" * (BAR - filled), colour


def elapsed_of(phase: Phase, step: Step, session: RunSession, now: datetime) -> float | None:
    """Seconds the step ran (so far, or until it ended); None before it started."""
    return step_seconds(phase, step, session.state, now)


class StepList(OptionList):
    """A phase's steps: mark, title, timer bar against budget, state in words."""

    def __init__(self, phase: Phase, session: RunSession, clock: Clock, **kw):
        super().__init__(**kw)
        self.phase = phase
        self.session = session
        self.clock = clock
        self.follow_running = True
        self._was_running: int | None = None

    @property
    def steps(self) -> list[Step]:
        return self.phase.steps_for(self.session.release_type)

    def state_of(self, step: Step) -> str:
        return step_state(self.phase, step, self.session.state)

    @property
    def selected(self) -> Step | None:
        option = self.highlighted_option
        return next((s for s in self.steps if option is not None and s.id == option.id), None)

    def on_mount(self) -> None:
        self.add_options(
            [Option(self._prompt(n, step), id=step.id) for n, step in enumerate(self.steps, 1)]
        )
        states = [self.state_of(s) for s in self.steps]
        start = next((i for i, s in enumerate(states) if s == StepStatus.RUNNING), None)
        if start is None:
            start = next((i for i, s in enumerate(states) if s not in ("done", "skipped")), 0)
        self.highlighted = start

    def refresh_steps(self) -> None:
        """Redraw every step's line; in follow mode move to a step as it starts (a watcher
        sees what runs), while a finished step stays in view so its result can be read."""
        for n, step in enumerate(self.steps, 1):
            self.replace_option_prompt(step.id, self._prompt(n, step))
        if not self.follow_running:
            return
        running = next(
            (i for i, s in enumerate(self.steps) if self.state_of(s) == StepStatus.RUNNING), None
        )
        if running is not None and running != self._was_running and self.highlighted != running:
            self.highlighted = running
        self._was_running = running

    def _prompt(self, n: int, step: Step) -> Text:
        state = self.state_of(step)
        colour = STEP_COLOURS.get(state, "")
        text = Text()
        text.append(
            f"{MARKS.get(state, '?')} ", style=style(self.app, colour, bold=True) if colour else ""
        )
        text.append(f"{n}. {step.title}", style="bold" if state == "running" else "")
        if step.confirm:
            text.append("  ⚠ confirm", style="dim")
        if not step.commands:
            text.append("  ◷ window", style="dim")
        elapsed = elapsed_of(self.phase, step, self.session, self.clock.now())
        budget = step.budget.high if step.budget else None
        line = Text("\n   ")
        if elapsed is not None and budget and step.budget:
            bar, bar_colour = timer_bar(elapsed, budget, step.budget.warn_at)
            line.append(bar, style=style(self.app, bar_colour))
            line.append(f" {format_clock(elapsed)} / {step.budget}")
        elif budget:
            line.append("░" * BAR, style="dim")
            line.append(f" budget {step.budget}", style="dim")
        elif elapsed is not None:
            line.append(format_clock(elapsed))
        line.append(f"  {state}", style=style(self.app, colour) if colour else "dim")
        text.append_text(line)
        return text


class StepDetail(Static):
    """The selected step's commands, fully substituted, and how it ended (with who)."""

    def show(self, phase: Phase, step: Step, session: RunSession) -> None:
        try:
            rendered = render_commands(session, step)
        except CockpitError as exc:
            rendered = [f"(cannot substitute: {exc})"]
        text = Text()
        for command in rendered or ["(no commands: a timed window; r starts it, e ends it)"]:
            text.append("$ " if rendered else "", style="dim")
            text.append(command + "\n")
        st = session.state.step(phase.id, step.id)
        if st.reason:
            colour = "error" if st.state not in ("skipped", "done") else "warning"
            text.append(f"{st.state}: {st.reason}", style=style(self.app, colour))
            if st.by:
                text.append(f" ({st.by}, {local_hm(st.finished_at)})", style="dim")
        self.update(text.rstrip() or text)


class StepChecks(Static):
    """The selected step's manual checks, ticked or not."""

    def show(self, phase: Phase, step: Step, session: RunSession) -> None:
        text = Text()
        if step.checks:
            text.append("Manual checks (c to tick):\n", style="bold")
            for check in step.checks:
                ticked = session.state.item(phase.id, check.id).checked
                text.append(f"{'[x]' if ticked else '[ ]'} {check.text}\n")
        self.update(text)


class OrphanBanner(Static):
    """Commands still running with no supervisor to watch them: kill or wait."""

    def show(self, orphans: list[tuple[str, str]], session: RunSession) -> None:
        self.display = bool(orphans)
        if not orphans:
            return
        lines = []
        for phase_id, step_id in orphans:
            cmd = session.state.step(phase_id, step_id).running_command
            what = f"pid {cmd.pid}: {cmd.command}" if cmd else step_id
            lines.append(f"ORPHANED — still running with no supervisor: {what}")
        lines.append("k kill it (and everything it started) · w wait for it")
        self.update(Text("\n".join(lines), style="bold"))


class UsageLine(Static):
    """CPU and memory of the running command's whole tree (sampled off the event loop)."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self._meter = UsageMeter()

    @work(exclusive=True, group="usage", exit_on_error=False)
    async def sample(self, pid: int | None) -> None:
        usage = await asyncio.to_thread(self._meter.sample, pid) if pid else None
        if usage is None:
            self.update("")
            return
        self.update(
            f"pid {pid} · {usage.processes} process{'es' if usage.processes != 1 else ''} · "
            f"CPU {usage.cpu_percent:.0f}% · memory {usage.rss_bytes / 2**20:.0f} MB"
        )


class StepLogView(RichLog):
    """One step's log file: its tail, then every line as the supervisor appends it."""

    def __init__(self, **kw):
        super().__init__(max_lines=SHOWN_LINES, wrap=False, markup=False, highlight=False, **kw)
        self.path: Path | None = None
        self._follower: LogFollower | None = None
        self._reading = False
        self._placeholder = False
        """Only "(no output yet)" is shown: the first real line replaces it."""

    def on_mount(self) -> None:
        self.set_interval(0.05, self.pump)  # at most 20 draws a second

    # -- what it shows ------------------------------------------------------------------

    def show(self, path: Path) -> None:
        """Show this log's tail, then follow it from exactly where the tail ended."""
        self.path = path
        self._load(path)

    @work(exclusive=True, group="log-load", exit_on_error=False)
    async def _load(self, path: Path) -> None:
        self._follower = None
        end = await asyncio.to_thread(file_size, path)
        lines = await asyncio.to_thread(tail_lines, path, 500, end)
        if path != self.path:
            return
        self._follower = LogFollower(path, offset=end)
        self.clear()
        for line in lines:
            self.write(self.line_text(line))
        self._placeholder = not lines
        if not lines:
            self.write(Text("(no output yet)", style="dim"))

    def pump(self) -> None:
        if self._follower is not None and not self._reading:
            self._reading = True
            self._read_new()

    @work(exclusive=True, group="log-follow", exit_on_error=False)
    async def _read_new(self) -> None:
        try:
            follower = self._follower
            if follower is None:
                return
            lines, skipped = await asyncio.to_thread(follower.read_new, 256 * 1024)
            if follower is not self._follower or not lines:
                return
            if self._placeholder:
                self._placeholder = False
                self.clear()
            if skipped or len(lines) > SHOWN_PER_DRAW:
                self.write(
                    Text(
                        "… lines not drawn (all are in the step log; / searches it)", "dim italic"
                    ),
                    scroll_end=self.auto_scroll,
                )
            for line in lines[-SHOWN_PER_DRAW:]:
                self.write(self.line_text(line), scroll_end=self.auto_scroll)
        finally:
            self._reading = False

    @work(exclusive=True, group="search", exit_on_error=False)
    async def search(self, term: str) -> None:
        """Every line of the whole file containing ``term`` (the last 200 shown)."""
        if self.path is None:
            return
        found, total = await asyncio.to_thread(search_log, self.path, term, 200)
        self.auto_scroll = False
        heading = f"── {total} line{'s' if total != 1 else ''} match {term!r}"
        heading += " (last 200 shown) ──" if total > 200 else " ──"
        self.write(Text(heading, style="bold reverse"))
        for line in found:
            self.write(self.line_text(line))
        self.scroll_end(animate=False)

    def set_follow(self, follow: bool) -> None:
        self.auto_scroll = follow
        if follow:
            self.scroll_end(animate=False)

    # -- one line ---------------------------------------------------------------------------

    def line_text(self, raw: str) -> Text:
        """A log-file line (``TS TAG text``) for the screen: the time, then the text."""
        ts, _, rest = raw.partition(" ")
        tag, _, body = rest.partition(" ")
        text = Text()
        text.append(ts[11:19] + " ", style="dim")
        if tag == "#":
            text.append(body, style="bold")
        elif tag == "E":
            text.append(body, style=style(self.app, "warning"))
        else:
            text.append(body)
        return text
