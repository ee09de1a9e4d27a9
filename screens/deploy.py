"""The timed deploy screen: a phase's steps with their timers, and the running step's log.

Owns the step list (state in words, elapsed against budget as a bar that warns at
80 % and turns to error past 100 %, a total clock against the sum of the budgets),
the selected step's commands fully substituted, its manual checks, its live log
(follow mode, scroll back, search in the whole log file), the running command's
CPU and memory, and the keys: run/retry (typing the ``confirm:`` word first), skip
with a reason, abort (confirmed), start rollback; orphans left by a killed cockpit
can be killed or waited for. A step without commands is a timed window: ``r`` opens it,
``e`` ends it (ticking its checks ends it too). The log always follows the step log
file the step's supervisor writes, for the driver and for a watcher alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, OptionList, RichLog, Static
from textual.widgets.option_list import Option

from cockpit.clock import local_hm, parse_iso
from cockpit.durations import format_clock, format_duration
from cockpit.errors import CockpitError
from cockpit.events import FINISHED
from cockpit.logsearch import LogFollower, file_size, search_log, tail_lines
from cockpit.proctree import UsageMeter
from cockpit.progress import step_state, step_times
from cockpit.runbook import DECISION_PHASE, ROLLBACK_PHASE, Phase, Step
from cockpit.runner import render_commands
from screens.dialogs import Confirm, TextPrompt
from screens.header import RollbackBanner, RunHeader
from screens.theme import STEP_COLOURS, refresh_bindings_if_changed, style

if TYPE_CHECKING:
    from screens.app import CockpitApp

MARKS = {"pending": "·", "running": "▶", "done": "✓", "failed": "✗", "skipped": "↷", "aborted": "■"}
BAR = 20
SHOWN_PER_DRAW = 120
"""Lines drawn per frame at most while a step floods (the log file keeps every line)."""


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


class DeployScreen(Screen):
    """Drive a phase's timed steps."""

    BINDINGS = [
        Binding("r", "run_step", "Run/retry", id="deploy.run"),
        Binding("s", "skip_step", "Skip", id="deploy.skip"),
        Binding("x", "abort_step", "Abort", id="deploy.abort"),
        Binding("e", "end_window", "End window", id="deploy.end_window"),
        Binding("f", "follow", "Follow", id="deploy.follow"),
        Binding("slash", "search", "Search log", id="deploy.search"),
        Binding("c", "checklist", "Checks", id="deploy.checklist"),
        Binding("R", "rollback", "Start rollback", id="deploy.rollback"),
        Binding("k", "kill_orphan", "Kill orphan", id="deploy.kill_orphan"),
        Binding("w", "wait_orphan", "Wait for orphan", id="deploy.wait_orphan"),
        Binding("T", "rollback_target", "Rollback target", id="deploy.rollback_target"),
        Binding("F", "demo_fail", "Fail next (demo)", id="deploy.demo_fail", show=False),
        Binding("escape", "back", "Dashboard", id="deploy.back"),
    ]

    def __init__(self, phase_id: str):
        super().__init__()
        self.phase_id = phase_id
        self.follow = True
        self.shown_step: str | None = None
        self._file_follower: LogFollower | None = None
        self._reading = False
        self._was_running: int | None = None
        self._meter = UsageMeter()

    @property
    def cockpit(self) -> CockpitApp:
        return cast("CockpitApp", self.app)

    @property
    def phase(self) -> Phase:
        return self.cockpit.ws.runbook.phase(self.phase_id)

    def steps(self) -> list[Step]:
        session = self.cockpit.session
        assert session is not None
        return self.phase.steps_for(session.release_type)

    def compose(self) -> ComposeResult:
        yield RunHeader()
        yield RollbackBanner()
        yield Static(id="deploy-heading")
        yield Static(id="orphan-banner")
        with Horizontal(id="deploy-body"):
            with Vertical(id="steps-column"):
                yield OptionList(id="steps")
                yield Static(id="step-checks")
            with Vertical(id="log-column"):
                yield Static(id="step-commands")
                yield RichLog(
                    id="step-log", max_lines=2000, wrap=False, markup=False, highlight=False
                )
                yield Static(id="step-usage")
        yield Footer()

    def on_mount(self) -> None:
        options = [
            Option(self._step_prompt(n, step), id=step.id) for n, step in enumerate(self.steps(), 1)
        ]
        step_list = self.query_one("#steps", OptionList)
        step_list.add_options(options)
        running = self.cockpit.running_step()
        first = next(
            (i for i, s in enumerate(self.steps()) if running and running == (self.phase_id, s.id)),
            None,
        )
        if first is None:
            first = next(
                (i for i, s in enumerate(self.steps()) if self._state(s) not in FINISHED),
                0,
            )
        step_list.highlighted = first
        step_list.focus()
        self.watch(self.app, "revision", lambda _: self.update_state(), init=False)
        self.set_interval(1.0, self.tick)
        self.set_interval(0.05, self.flush_output)
        self.update_state()

    # -- state ------------------------------------------------------------------------

    def _state(self, step: Step) -> str:
        session = self.cockpit.session
        assert session is not None
        return step_state(self.phase, step, session.state)

    def _elapsed(self, step: Step, now: datetime) -> float | None:
        session = self.cockpit.session
        assert session is not None
        started, finished = step_times(self.phase, step, session.state)
        if not started:
            return None
        end = parse_iso(finished) if finished else now
        return max(0.0, (end - parse_iso(started)).total_seconds())

    def _step_prompt(self, n: int, step: Step) -> Text:
        app = self.cockpit
        state = self._state(step)
        colour = STEP_COLOURS.get(state, "")
        text = Text()
        text.append(
            f"{MARKS.get(state, '?')} ", style=style(app, colour, bold=True) if colour else ""
        )
        text.append(f"{n}. {step.title}", style="bold" if state == "running" else "")
        if step.confirm:
            text.append("  ⚠ confirm", style="dim")
        elapsed = self._elapsed(step, app.clock.now())
        budget = step.budget.high if step.budget else None
        line = Text("\n   ")
        if elapsed is not None and budget:
            bar, bar_colour = timer_bar(
                elapsed, budget, step.budget.warn_at if step.budget else None
            )
            line.append(bar, style=style(app, bar_colour))
            line.append(f" {format_clock(elapsed)} / {step.budget}")
        elif budget:
            line.append("░" * BAR, style="dim")
            line.append(f" budget {step.budget}", style="dim")
        elif elapsed is not None:
            line.append(format_clock(elapsed))
        line.append(f"  {state}", style=style(app, colour) if colour else "dim")
        text.append_text(line)
        return text

    def selected(self) -> Step | None:
        option = self.query_one("#steps", OptionList).highlighted_option
        return next((s for s in self.steps() if option is not None and s.id == option.id), None)

    def tick(self) -> None:
        """Once a second: timers move; CPU and memory of the running command."""
        self.update_state()
        self._usage()

    @work(exclusive=True, group="usage", exit_on_error=False)
    async def _usage(self) -> None:
        import asyncio

        running = self.cockpit.running_step()
        session = self.cockpit.session
        cmd = session.state.step(*running).running_command if running and session else None
        usage = await asyncio.to_thread(self._meter.sample, cmd.pid) if cmd and cmd.pid else None
        if usage is None or cmd is None:
            self.query_one("#step-usage", Static).update("")
            return
        pid = cmd.pid
        self.query_one("#step-usage", Static).update(
            f"pid {pid} · {usage.processes} process{'es' if usage.processes != 1 else ''} · "
            f"CPU {usage.cpu_percent:.0f}% · memory {usage.rss_bytes / 2**20:.0f} MB"
        )

    def update_state(self) -> None:
        session = self.cockpit.session
        if session is None:
            return
        step_list = self.query_one("#steps", OptionList)
        for n, step in enumerate(self.steps(), 1):
            step_list.replace_option_prompt(step.id, self._step_prompt(n, step))
        self._follow_running(step_list)
        self._heading()
        self._orphans()
        self._show_selected()
        refresh_bindings_if_changed(self)

    def _follow_running(self, step_list: OptionList) -> None:
        """In follow mode the view moves to a step as it starts (a watcher sees what runs);
        a finished step stays in view, so its result can be read."""
        if not self.follow:
            return
        session = self.cockpit.session
        assert session is not None
        running = next(
            (
                i
                for i, s in enumerate(self.steps())
                if session.state.step(self.phase_id, s.id).state == "running"
            ),
            None,
        )
        if (
            running is not None
            and running != self._was_running
            and step_list.highlighted != running
        ):
            step_list.highlighted = running
        self._was_running = running

    def _heading(self) -> None:
        now = self.cockpit.clock.now()
        total_budget = sum(s.budget.high for s in self.steps() if s.budget)
        elapsed = sum(self._elapsed(s, now) or 0 for s in self.steps())
        text = Text()
        text.append(self.phase.title, style="bold")
        text.append(
            f"   total {format_clock(elapsed)} of {format_duration(total_budget)} budgeted",
            style=style(self.cockpit, "error", bold=True) if elapsed > total_budget else "",
        )
        running = self.cockpit.running_step()
        if running and running[0] == self.phase_id:
            text.append("   RUNNING", style=style(self.cockpit, "accent", bold=True))
        p = self.cockpit.session.progress(self.phase_id) if self.cockpit.session else None
        if p is not None and p.locked:
            text.append(
                f"   locked: waits for {', '.join(p.waiting_on)} (override on its checklist)",
                style=style(self.cockpit, "warning"),
            )
        self.query_one("#deploy-heading", Static).update(text)

    def _orphans(self) -> None:
        banner = self.query_one("#orphan-banner", Static)
        orphans = [o for o in self.cockpit.orphans if o[0] == self.phase_id]
        banner.display = bool(orphans)
        if orphans:
            session = self.cockpit.session
            assert session is not None
            lines = []
            for phase_id, step_id in orphans:
                cmd = session.state.step(phase_id, step_id).running_command
                what = f"pid {cmd.pid}: {cmd.command}" if cmd else step_id
                lines.append(f"ORPHANED — still running from before the cockpit restarted: {what}")
            lines.append("k kill it (and everything it started) · w wait for it")
            banner.update(Text("\n".join(lines), style="bold"))

    def _show_selected(self) -> None:
        step = self.selected()
        session = self.cockpit.session
        if step is None or session is None:
            return
        commands = self.query_one("#step-commands", Static)
        try:
            rendered = render_commands(session, step)
        except CockpitError as exc:
            rendered = [f"(cannot substitute: {exc})"]
        text = Text()
        for command in rendered or ["(no commands: manual checks)"]:
            text.append("$ ", style="dim")
            text.append(command + "\n")
        st = session.state.step(self.phase_id, step.id)
        if st.reason:
            text.append(
                f"{st.state}: {st.reason}",
                style=style(self.cockpit, "error" if st.state != "skipped" else "warning"),
            )
            if st.by:
                text.append(f" ({st.by}, {local_hm(st.finished_at)})", style="dim")
        commands.update(text.rstrip() or text)
        checks = Text()
        if step.checks:
            checks.append("Manual checks (c to tick):\n", style="bold")
            for check in step.checks:
                ticked = session.state.item(self.phase_id, check.id).checked
                checks.append(f"{'[x]' if ticked else '[ ]'} {check.text}\n")
        self.query_one("#step-checks", Static).update(checks)
        if step.id != self.shown_step:
            self.shown_step = step.id
            self._load_log(step)

    def _follow_file(self) -> None:
        """Follow the shown step's log file (its supervisor writes it, whoever drives)."""
        if self._file_follower is None or self._reading:
            return
        self._reading = True
        self._read_file()

    @work(exclusive=True, group="log-follow", exit_on_error=False)
    async def _read_file(self) -> None:
        import asyncio

        try:
            follower = self._file_follower
            if follower is None:
                return
            lines, skipped = await asyncio.to_thread(follower.read_new, 256 * 1024)
            if follower is not self._file_follower or not lines:
                return
            log = self.query_one("#step-log", RichLog)
            if skipped or len(lines) > SHOWN_PER_DRAW:
                log.write(
                    Text(
                        "… lines not drawn (all are in the step log; / searches it)",
                        style="dim italic",
                    ),
                    scroll_end=self.follow,
                )
            for line in lines[-SHOWN_PER_DRAW:]:
                log.write(self._log_text(line), scroll_end=self.follow)
        finally:
            self._reading = False

    @work(exclusive=True, group="log-load", exit_on_error=False)
    async def _load_log(self, step: Step) -> None:
        """Show the tail of a step's log file, then follow it from exactly there."""
        import asyncio

        session = self.cockpit.session
        assert session is not None
        path = session.log_path(self.phase_id, step.id)
        self._file_follower = None
        end = await asyncio.to_thread(file_size, path)
        lines = await asyncio.to_thread(tail_lines, path, 500, end)
        self._file_follower = LogFollower(path, offset=end)
        log = self.query_one("#step-log", RichLog)
        log.clear()
        for line in lines:
            log.write(self._log_text(line))
        if not lines:
            log.write(Text("(no output yet)", style="dim"))

    def _log_text(self, raw: str) -> Text:
        """A log-file line (``TS TAG text``) for the widget: time, then the text."""
        ts, _, rest = raw.partition(" ")
        tag, _, body = rest.partition(" ")
        return self._line(tag, body, ts[11:19])

    def _line(self, tag: str, body: str, hms: str = "") -> Text:
        text = Text()
        if hms:
            text.append(hms + " ", style="dim")
        if tag == "#":
            text.append(body, style="bold")
        elif tag == "E":
            text.append(body, style=style(self.cockpit, "warning"))
        else:
            text.append(body)
        return text

    def flush_output(self) -> None:
        """At most 20×/s: draw what the shown step's log gained."""
        self._follow_file()

    # -- keys ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        app = self.cockpit
        driving = app.driver is not None
        intents = (
            "run_step",
            "skip_step",
            "abort_step",
            "end_window",
            "rollback",
            "kill_orphan",
            "wait_orphan",
            "demo_fail",
        )
        if action in intents and not driving:
            return False
        if action == "demo_fail":
            return app.demo is not None
        if action == "rollback":
            return DECISION_PHASE in app.ws.runbook.phases  # nothing to open otherwise
        if action == "rollback_target":
            return self.phase_id == ROLLBACK_PHASE and driving
        orphans = [o for o in app.orphans if o[0] == self.phase_id]
        if action in ("kill_orphan", "wait_orphan"):
            return bool(orphans)
        running = app.running_step()
        if action == "abort_step":
            return True if running else None
        step = self.selected() if self.is_mounted else None
        state = self._state(step) if step is not None else None
        if action == "end_window":
            if all(s.commands for s in self.steps()):
                return False  # no timed windows here: keep the footer quiet
            return True if step is not None and not step.commands and state == "running" else None
        if action == "run_step":
            return None if step is None else True  # when it cannot run, `r` says why
        if action == "skip_step":
            return None if step is None or state in FINISHED or state == "running" else True
        return True

    @on(OptionList.OptionHighlighted, "#steps")
    def _highlighted(self) -> None:
        self._show_selected()
        refresh_bindings_if_changed(self)

    def action_run_step(self) -> None:
        step = self.selected()
        if step is None:
            return
        why = self._cannot_run(step)
        if why:
            self.notify(why, title="Not started", severity="warning")
            return
        if step.confirm:

            def confirmed(word: str | None) -> None:
                if word is None:
                    return
                if word != step.confirm:
                    self.notify(f"typed {word!r}, not {step.confirm!r}: not run", severity="error")
                    return
                self._start(step)

            self.app.push_screen(
                TextPrompt(
                    f"Type {step.confirm!r} to run: {step.title}",
                    "This step runs against production. Its commands are shown on the right.",
                    ok="Run",
                ),
                confirmed,
            )
            return
        self._start(step)

    def _cannot_run(self, step: Step) -> str | None:
        """Why ``r`` cannot run this step now, in words (None: it can)."""
        app = self.cockpit
        state = self._state(step)
        if state in FINISHED:
            return f"{step.title} is {state}. Select the next step (↓) to go on."
        if state == "running":
            return f"{step.title} is already running."
        running = app.running_step()
        if running is not None and step.commands and app.session is not None:
            return f"{app.session.step_spec(*running).title} is still running."
        p = app.session.progress(self.phase_id) if app.session else None
        if p is not None and p.locked:
            return (
                f"{self.phase.title} waits for {', '.join(p.waiting_on)}. Open its checklist "
                "(c) and override the lock with a reason (o), or finish those phases first."
            )
        if any(o[0] == self.phase_id for o in app.orphans):
            return "An orphaned command of this phase still runs: kill it (k) or wait for it (w)."
        return None

    def _start(self, step: Step) -> None:
        """Ask the driver to start the step; the log shows this attempt from its first line."""
        session = self.cockpit.session
        assert session is not None
        path = session.log_path(self.phase_id, step.id)
        self.shown_step = step.id
        self._file_follower = LogFollower(path, start_at_end=True)
        self.query_one("#step-log", RichLog).clear()
        self.follow = True
        self.cockpit.start_step(self.phase_id, step.id)
        refresh_bindings_if_changed(self)

    def action_skip_step(self) -> None:
        step = self.selected()
        session = self.cockpit.session
        if step is None or session is None:
            return

        def skip(reason: str | None) -> None:
            if reason:
                self.cockpit.send_later(
                    lambda: session.plan_step_skip(self.phase_id, step.id, reason)
                )

        self.app.push_screen(
            TextPrompt(f"Skip: {step.title}", "Why? The reason is journaled with your name."), skip
        )

    def action_abort_step(self) -> None:
        running = self.cockpit.running_step()
        session = self.cockpit.session
        if running is None or session is None:
            return
        title = session.step_spec(*running).title

        def answer(yes: bool | None) -> None:
            if yes:
                self.cockpit.abort_step(*running)
                self.notify("stopping the command and everything it started…", title="Aborting")

        self.app.push_screen(
            Confirm(
                f"Abort {title}?",
                "SIGINT, then SIGTERM, then SIGKILL to the command and every process it started.",
                yes="Abort",
                no="Keep running",
            ),
            answer,
        )

    def action_end_window(self) -> None:
        step = self.selected()
        session = self.cockpit.session
        if step is None or session is None:
            return
        open_checks = [
            c for c in step.checks if not session.state.item(self.phase_id, c.id).checked
        ]
        if not open_checks:
            self.cockpit.end_window(self.phase_id, step.id)
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.cockpit.end_window(self.phase_id, step.id)

        ticked = len(step.checks) - len(open_checks)
        self.app.push_screen(
            Confirm(
                f"End {step.title} with {ticked}/{len(step.checks)} checks ticked?",
                "Not ticked: " + "; ".join(c.text for c in open_checks) + ". Ending it is "
                "journaled with your name; the checks stay open on the checklist.",
                yes="End it",
                no="Keep the timer running",
            ),
            answer,
        )

    def action_follow(self) -> None:
        self.follow = not self.follow
        log = self.query_one("#step-log", RichLog)
        log.auto_scroll = self.follow
        if self.follow:
            log.scroll_end(animate=False)
        self.notify(
            "following the log" if self.follow else "log paused: scroll freely (f to follow)",
            timeout=2,
        )

    def action_search(self) -> None:
        step = self.selected()
        session = self.cockpit.session
        if step is None or session is None:
            return
        path = session.log_path(self.phase_id, step.id)

        def find(term: str | None) -> None:
            if term:
                self._search(path, term)

        self.app.push_screen(TextPrompt("Search this step's whole log", required=True), find)

    @work(exclusive=True, group="search", exit_on_error=False)
    async def _search(self, path, term: str) -> None:
        import asyncio

        found, total = await asyncio.to_thread(search_log, path, term, 200)
        log = self.query_one("#step-log", RichLog)
        self.follow = False
        log.auto_scroll = False
        log.write(
            Text(
                f"── {total} line{'s' if total != 1 else ''} match {term!r}"
                + (" (last 200 shown)" if total > 200 else "")
                + " ──",
                style="bold reverse",
            )
        )
        for line in found:
            log.write(self._log_text(line))
        log.scroll_end(animate=False)

    def action_checklist(self) -> None:
        from screens.checklist import ChecklistScreen

        self.app.push_screen(ChecklistScreen(self.phase_id))

    def action_rollback(self) -> None:
        self.cockpit.open_phase(DECISION_PHASE)

    def action_kill_orphan(self) -> None:
        orphans = [o for o in self.cockpit.orphans if o[0] == self.phase_id]
        if orphans:
            self.cockpit.resolve_orphan(*orphans[0], kill=True)

    def action_wait_orphan(self) -> None:
        orphans = [o for o in self.cockpit.orphans if o[0] == self.phase_id]
        if orphans:
            self.cockpit.resolve_orphan(*orphans[0], kill=False)

    def action_rollback_target(self) -> None:
        session = self.cockpit.session
        if session is None:
            return
        current = str(session.placeholder_values().get("rollback_target", ""))

        def save(target: str | None) -> None:
            if target and target != current:
                self.cockpit.send_later(lambda: session.plan_rollback_target(target))

        self.app.push_screen(
            TextPrompt(
                "Roll back to",
                "The last known good deployment or tag (prefilled: the last production tag).",
                value=current,
            ),
            save,
        )

    def action_demo_fail(self) -> None:
        self.cockpit.demo_fail_next()

    def action_back(self) -> None:
        self.app.pop_screen()
