"""The timed deploy screen: a phase's steps, their timers, and the selected step's log.

Owns laying the step widgets out (``screens.steps``: the step list, the selected
step's commands, checks and log, the orphan banner, the CPU/memory line), the heading
(the wall clock, pauses apart, against the sum of the budgets, RUNNING, a lock), and the keys: run/retry
(typing the ``confirm:`` word first; a step that cannot run says why), skip with a
reason, abort (confirmed), end a timed window (confirmed while checks are open),
follow, search, start rollback, the rollback target, an orphan's kill or wait, and the
next phase once this one is complete. Every key sends an intent to the app's driver;
which keys apply is one table, what a dimmed one says when pressed another (``WHY``).
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList

from cockpit.errors import CockpitError
from cockpit.events import FINISHED, StepStatus
from cockpit.offers import unchosen, waiting
from cockpit.runbook import Phase, Step
from cockpit.runner import shown_commands
from cockpit.termtext import inert
from screens import asks
from screens.dialogs import PickPrompt, TextPrompt
from screens.header import RollbackBanner, RunHeader
from screens.items import NEXT_KEY, offered_phase
from screens.keyrules import Rule, Why, driving, explain, lookup, when
from screens.messages import JournalAdvanced, RunScreen
from screens.steplog import StepLogView, UsageLine
from screens.steps import OrphanBanner, PhaseTimer, StepChecks, StepDetail, StepList
from screens.theme import refresh_bindings_if_changed

ACTIONS: dict[str, Rule] = {
    # `r` is enabled on any selected step: when it cannot run, it says why in words
    "run_step": driving(lambda s: when(s.selected is not None)),
    "skip_step": driving(
        lambda s: when(
            s.selected is not None and s.selected_state not in (*FINISHED, StepStatus.RUNNING)
        )
    ),
    "abort_step": driving(lambda s: when(s.cockpit.running_step() is not None)),
    "end_window": driving(
        lambda s: (
            False
            if all(step.commands for step in s.steps)  # no windows here: keep the footer quiet
            else when(
                s.selected is not None
                and not s.selected.commands
                and s.selected_state == StepStatus.RUNNING
            )
        )
    ),
    "rollback": driving(lambda s: s.cockpit.ws.runbook.of_kind("decision") is not None),
    "rollback_target": driving(lambda s: s.phase.kind == "rollback"),
    "kill_orphan": driving(lambda s: bool(s.orphans)),
    "wait_orphan": driving(lambda s: bool(s.orphans)),
    "demo_fail": driving(lambda s: s.cockpit.demo is not None),
    "next_phase": lambda s: offered_phase(s.session, s.phase_id) is not None,
}

WHY: dict[str, Why] = {
    "run_step": lambda s: "no step is selected",
    "skip_step": lambda s: s.skip_refusal(),
    "abort_step": lambda s: "nothing is running: there is nothing to abort",
    "end_window": lambda s: s.end_refusal(),
}
"""What a dimmed key says when it is pressed (``screens.keyrules.explain``)."""


class DeployScreen(RunScreen):
    """Drive (or watch) a phase's timed steps."""

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
        Binding(NEXT_KEY, "next_phase", "Next phase", id="deploy.next_phase"),
        Binding("escape", "back", "Back", id="deploy.back"),
    ]

    def __init__(self, phase_id: str):
        super().__init__()
        self.phase_id = phase_id
        self._asked: set[tuple[str, int]] = set()
        """Steps (and attempts) whose offers were put to the operator once."""
        self.shown: tuple[str, int] | None = None
        """The step (and attempt) whose log is shown: a new attempt reloads it, for the
        driver and a watcher alike."""

    @property
    def phase(self) -> Phase:
        return self.session.runbook.phase(self.phase_id)

    @property
    def steps(self) -> list[Step]:
        return self.phase.steps_for(self.session.release_type)

    @property
    def step_list(self) -> StepList:
        return self.query_one(StepList)

    @property
    def selected(self) -> Step | None:
        return self.step_list.selected if self.is_mounted else None

    @property
    def selected_state(self) -> str | None:
        step = self.selected
        return self.step_list.state_of(step) if step is not None else None

    @property
    def orphans(self) -> list[tuple[str, str]]:
        return [o for o in self.cockpit.orphans if o[0] == self.phase_id]

    @property
    def follow(self) -> bool:
        return self.step_list.follow_running if self.is_mounted else True

    def compose(self) -> ComposeResult:
        yield RunHeader()
        yield RollbackBanner()
        yield PhaseTimer(id="deploy-heading")
        yield OrphanBanner(id="orphan-banner")
        with Horizontal(id="deploy-body"):
            with Vertical(id="steps-column"):
                yield StepList(self.phase, self.session, self.cockpit.clock, id="steps")
                yield StepChecks(id="step-checks")
            with Vertical(id="log-column"):
                yield StepDetail(id="step-commands")
                yield StepLogView(id="step-log")
                yield UsageLine(id="step-usage")
        yield Footer()

    def on_mount(self) -> None:
        self.step_list.focus()
        self.set_interval(1.0, self.tick)
        self.update_state()

    def on_journal_advanced(self, _: JournalAdvanced) -> None:
        self.update_state()
        self._ask_picks()

    def _ask_picks(self) -> None:
        """A step whose output offered values (``offers:``) ended done: the driving operator
        picks one, once per attempt (Escape: later, with ``T`` for the rollback target).
        Which steps wait is known from the state; their logs are read in a worker."""
        if self.cockpit.driver is None or isinstance(self.app.screen, ModalScreen):
            return
        for step in self.steps:
            key = (step.id, self.session.state.step(self.phase_id, step.id).attempts)
            if key not in self._asked and unchosen(self.session, self.phase_id, step):
                self._asked.add(key)
                self._offer(step)
                return

    @work(group="offers", exit_on_error=False)
    async def _offer(self, step: Step) -> None:
        import asyncio

        offers = await asyncio.to_thread(waiting, self.session, self.phase_id, step)
        plan = self.session.plan_choice
        send = self.cockpit.intents.send_later
        for offer in offers:
            if not offer.values:
                self.notify(
                    f"{step.title} offered no {offer.var}: no line of its output matched",
                    severity="warning",
                )
                continue
            value = await self.app.push_screen_wait(
                PickPrompt(
                    f"Pick {offer.var}",
                    f"{step.title} printed these (newest first as printed). Enter picks; "
                    "Escape picks later.",
                    offer.values,
                )
            )
            if value:
                send(lambda var=offer.var, v=value: plan(var, v, self.phase_id, step.id))

    # -- showing the run ----------------------------------------------------------------

    def tick(self) -> None:
        """Once a second: timers move; CPU and memory of the running command."""
        self.update_state()
        running = self.cockpit.running_step()
        cmd = self.session.state.step(*running).running_command if running else None
        self.query_one(UsageLine).sample(cmd.pid if cmd else None)

    def update_state(self) -> None:
        self.step_list.refresh_steps()
        running = self.cockpit.running_step()
        here = running is not None and running[0] == self.phase_id
        self.query_one(PhaseTimer).show(self.phase, self.steps, self.session, here)
        self.query_one(OrphanBanner).show(self.orphans, self.session)
        self._show_selected()
        refresh_bindings_if_changed(self)

    def _show_selected(self) -> None:
        step = self.selected
        if step is None:
            return
        self.query_one(StepDetail).show(self.phase, step, self.session)
        self.query_one(StepChecks).show(self.phase, step, self.session)
        shown = (step.id, self.session.state.step(self.phase_id, step.id).attempts)
        if shown != self.shown:
            self.shown = shown
            path = self.session.log_path(self.phase_id, step.id)
            empty = (
                "(no output yet)"
                if step.commands
                else "A timed window: nothing runs here. Tick its checks (c), or end it (e)."
            )
            self.query_one(StepLogView).show(self.phase_id, step.id, path, empty)
            self.cockpit.following.show_output(self.phase_id, step.id)

    def on_screen_resume(self) -> None:
        """Shown again (a dialog or the checklist closed, a rollback screen left): follow
        the shown step's log again; the first look reads what it gained meanwhile."""
        if self.shown is not None and self.selected is not None:
            self.cockpit.following.show_output(self.phase_id, self.selected.id)

    def on_screen_suspend(self) -> None:
        self.cockpit.following.stop_output()

    def select_step(self, step_id: str) -> None:
        """Select this step (a watcher following the driver's selection)."""
        index = next((n for n, s in enumerate(self.steps) if s.id == step_id), None)
        if index is not None and self.step_list.highlighted != index:
            self.step_list.follow_running = False
            self.step_list.highlighted = index

    @on(OptionList.OptionHighlighted, "#steps")
    def _highlighted(self) -> None:
        self._show_selected()
        refresh_bindings_if_changed(self)

    # -- keys ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return lookup(ACTIONS, self, action)

    def why_not(self, action: str) -> str:
        """Why a key shown dimmed does nothing now (said when it is pressed)."""
        return explain(WHY, self, action)

    @property
    def keys_title(self) -> str:
        return f"{self.phase.title} (steps)"

    def skip_refusal(self) -> str:
        step = self.selected
        if step is None:
            return "no step is selected"
        if self.selected_state == StepStatus.RUNNING:
            return f"{step.title} is running: abort it (x) first"
        return f"{step.title} is {self.selected_state} (final): there is nothing to skip"

    def end_refusal(self) -> str:
        step = self.selected
        if step is None:
            return "no step is selected"
        if step.commands:
            return f"{step.title} runs commands, not a timer: it ends when they do (x aborts)"
        if self.selected_state in FINISHED:
            return f"{step.title} has ended ({self.selected_state})"
        return f"the timer of {step.title} is not running: r starts it"

    def action_run_step(self) -> None:
        step = self.selected
        driver = self.cockpit.driver
        if step is None or driver is None:
            return
        why = driver.refusal(self.phase_id, step.id)
        if why:
            self.notify(why, title="Not started", severity="warning")
            return
        try:
            shown = [inert(c) for c in shown_commands(self.session, step)]
        except CockpitError:
            shown = []  # starting it says what is missing
        asks.confirm_word(self.app, step, lambda: self._start(step), shown)

    def _start(self, step: Step) -> None:
        """Ask the driver to start the step; its log reloads when the attempt is journaled."""
        self.step_list.follow_running = True
        self.query_one(StepLogView).set_follow(True)
        self.cockpit.intents.start_step(self.phase_id, step.id)
        refresh_bindings_if_changed(self)

    def action_skip_step(self) -> None:
        if (step := self.selected) is not None:
            driver = self.cockpit.driver
            why = driver.skip_refusal(self.phase_id, step.id) if driver is not None else None
            if why:  # said before the reason is asked for, never after
                self.notify(why, title="Not skipped", severity="warning")
                return
            skip = self.cockpit.intents.skip_step
            asks.skip_reason(self.app, step, lambda why: skip(self.phase_id, step.id, why))

    def action_abort_step(self) -> None:
        if (running := self.cockpit.running_step()) is not None:
            title = self.session.step_spec(*running).title
            command = self.session.state.step(*running).followed_run
            abort = self.cockpit.intents.abort_step
            if command is not None:
                run = f"workflow run {command.workflow_run}"
                asks.abort_workflow(self.app, title, run, lambda c: abort(*running, cancel_run=c))
            else:
                asks.abort(self.app, title, lambda: abort(*running))

    def action_end_window(self) -> None:
        if (step := self.selected) is not None:
            state = self.session.state
            open_checks = [c for c in step.checks if not state.item(self.phase_id, c.id).checked]
            end = self.cockpit.intents.end_window
            asks.end_window(self.app, step, open_checks, lambda: end(self.phase_id, step.id))

    def action_follow(self) -> None:
        follow = not self.step_list.follow_running
        self.step_list.follow_running = follow
        self.query_one(StepLogView).set_follow(follow)
        self.notify(
            "following the log" if follow else "log paused: scroll freely (f to follow)",
            timeout=2,
        )

    def action_search(self) -> None:
        def find(term: str | None) -> None:
            if term:
                self.step_list.follow_running = False
                self.query_one(StepLogView).search(term)

        self.app.push_screen(
            TextPrompt("Search this step's whole log", required=True, ok="Search"), find
        )

    def action_checklist(self) -> None:
        from screens.checklist import ChecklistScreen

        self.app.push_screen(ChecklistScreen(self.phase_id))

    def action_rollback(self) -> None:
        decision = self.session.runbook.kind_id("decision")
        if decision is not None:
            self.cockpit.open_phase(decision)

    def action_kill_orphan(self) -> None:
        if self.orphans:
            self.cockpit.intents.resolve_orphan(*self.orphans[0], kill=True)

    def action_wait_orphan(self) -> None:
        if self.orphans:
            self.cockpit.intents.resolve_orphan(*self.orphans[0], kill=False)

    def action_rollback_target(self) -> None:
        current = str(self.session.placeholder_values().get("rollback_target", ""))
        plan = self.session.plan_rollback_target
        send = self.cockpit.intents.send_later
        asks.rollback_target(self.app, current, lambda target: send(lambda: plan(target)))

    def action_demo_fail(self) -> None:
        self.cockpit.intents.demo_fail_next()

    def action_next_phase(self) -> None:
        if (following := offered_phase(self.session, self.phase_id)) is not None:
            self.cockpit.open_phase(following.id)

    def action_back(self) -> None:
        self.app.pop_screen()
