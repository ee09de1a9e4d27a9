"""The deploy screen's widgets, each owning one part of showing a phase's timed steps.

``StepList`` (each step's state in words and its timer against budget; it moves to a
step as it starts), ``StepDetail`` (the selected step's commands fully substituted
and how it ended), ``StepChecks`` (its checks to tick), ``OrphanBanner`` and
``PhaseTimer`` (the heading: the wall clock, pauses apart, against the budgets). The log and the CPU/memory
line are ``screens.steplog``'s.
Each is given what it needs when it is made and reads the run's state; none sends an
intent (the screen does).
"""

from __future__ import annotations

from datetime import datetime

from rich.style import Style
from rich.text import Text
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from cockpit.clock import Clock, local_hms
from cockpit.durations import format_clock
from cockpit.errors import CockpitError
from cockpit.events import StepStatus
from cockpit.phaseclock import phase_clock
from cockpit.progress import step_seconds, step_state
from cockpit.runbook import Phase, Step
from cockpit.runner import shown_commands
from cockpit.session import RunSession
from screens.items import offer_next
from screens.theme import STEP_COLOURS, style

MARKS = {"pending": "·", "running": "▶", "done": "✓", "failed": "✗", "skipped": "↷", "aborted": "■"}
BAR = 20


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
    """The selected step's commands, fully substituted (a workflow's run and its page under
    it), and how it ended (with who)."""

    def show(self, phase: Phase, step: Step, session: RunSession) -> None:
        try:
            rendered = shown_commands(session, step)
        except CockpitError as exc:
            rendered = [f"(cannot substitute: {exc})"]
        text = Text()
        st = session.state.step(phase.id, step.id)
        runs = {c.index: c for c in st.commands if c.workflow_run is not None}
        for n, command in enumerate(
            rendered or ["(no commands: a timed window; r starts it, e ends it)"]
        ):
            text.append("$ " if rendered else "", style="dim")
            text.append(command + "\n")
            if n in runs:  # a workflow command: the run it follows, its page a link
                run = runs[n]
                text.append(f"  workflow run {run.workflow_run}: ", style="dim")
                text.append(run.url or "(no page)", style=Style(link=run.url, underline=True))
                text.append("\n")
        if st.reason:
            colour = "error" if st.state not in ("skipped", "done") else "warning"
            text.append(f"{st.state}: {st.reason}", style=style(self.app, colour))
            if st.by:
                text.append(f" ({st.by}, {local_hms(st.finished_at)})", style="dim")
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


class PhaseTimer(Static):
    """The phase's title, its wall clock (pauses apart) against the sum of its budgets
    (``cockpit.phaseclock``: the deployment time ``status`` and the report state),
    RUNNING, a lock."""

    def show(self, phase: Phase, steps: list[Step], session: RunSession, running: bool) -> None:
        clock = phase_clock(phase, session.state, session.clock.now())
        text = Text()
        text.append(phase.title, style="bold")
        text.append(  # the title names the phase: "Production Deployment   12:04 wall clock …"
            "   " + clock.words(),
            style=style(self.app, "error", bold=True) if clock.over_budget else "",
        )
        if running:
            text.append("   RUNNING", style=style(self.app, "accent", bold=True))
        p = session.progress(phase.id)
        if p.locked:
            text.append(
                f"   locked: waits for {', '.join(p.waiting_on)} (override on its checklist)",
                style=style(self.app, "warning"),
            )
        if p.complete:
            text.append_text(offer_next(self.app, phase, session))
        self.update(text)
