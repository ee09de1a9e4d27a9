"""A phase's checklist: tick and untick, notes, who/when, filters by release type, locks.

Owns the checklist screen of one phase — laying out its widgets (``screens.items``:
the items, heading, lock banner, detail) and redrawing them when the journal advances —
and the keys — space ticks, ``n`` notes, ``a`` shows
the items of every release type, ``o`` overrides a locked phase with a reason, ``N``
opens the next phase once this one is complete; a key shown dimmed says why (``WHY``).
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, OptionList

from cockpit.errors import CockpitError
from cockpit.events import FINISHED, StepStatus
from cockpit.progress import criteria_met
from cockpit.runbook import Entry, Phase, Step
from cockpit.verify import auto_of
from screens.answer import Answer, AnswerPrompt
from screens.decision import DecisionDialog
from screens.dialogs import TextPrompt
from screens.header import RollbackBanner, RunHeader
from screens.items import (
    NEXT_KEY,
    ChecklistView,
    ItemDetail,
    LockBanner,
    PhaseHeading,
    offered_phase,
)
from screens.keyrules import Rule, Why, driving, explain, lookup, phase_locked
from screens.messages import JournalAdvanced, RunScreen
from screens.theme import refresh_bindings_if_changed

ACTIONS: dict[str, Rule] = {
    "toggle": driving(lambda s: None if s.locked else True),
    "note": driving(lambda s: None if s.locked else True),
    "verify": driving(lambda s: s.can_verify()),
    "override": driving(lambda s: True if s.locked else None),
    "start_stage": driving(lambda s: s.stage_can_start()),
    "decide": driving(lambda s: s.phase.kind == "decision"),
    "hotfix_branch": driving(lambda s: s.phase.kind == "hotfix"),
    "report": lambda s: s.phase.kind == "review",
    "next_phase": lambda s: s.offered_phase() is not None,
}

WHY: dict[str, Why] = {
    "toggle": lambda s: phase_locked(s.session, s.phase_id),
    "note": lambda s: phase_locked(s.session, s.phase_id),
    "verify": lambda s: s.verify_refusal(),
    "override": lambda s: f"{s.phase.title} is not locked: there is nothing to override",
    "start_stage": lambda s: s.stage_refusal(),
}
"""What a dimmed key says when it is pressed (``screens.keyrules.explain``)."""

NO_ITEM = "no item is selected (this phase has none for this release type: a shows all)"


class ChecklistScreen(RunScreen):
    """The checklist of one phase."""

    BINDINGS = [
        Binding("space", "toggle", "Tick/untick", id="checklist.toggle"),
        Binding("n", "note", "Note", id="checklist.note"),
        Binding("v", "verify", "Verify", id="checklist.verify"),
        Binding("a", "show_all", "All types", id="checklist.show_all"),
        Binding("o", "override", "Override lock", id="checklist.override"),
        Binding("t", "start_stage", "Start stage timer", id="checklist.start_stage"),
        Binding("d", "decide", "Decide", id="checklist.decide"),
        Binding("B", "hotfix_branch", "Hotfix branch", id="checklist.hotfix_branch"),
        Binding("p", "report", "Release report", id="checklist.report"),
        Binding(NEXT_KEY, "next_phase", "Next phase", id="checklist.next_phase"),
        Binding("escape", "back", "Back", id="checklist.back"),
    ]

    def __init__(self, phase_id: str):
        super().__init__()
        self.phase_id = phase_id

    @property
    def phase(self) -> Phase:
        return self.session.runbook.phase(self.phase_id)

    @property
    def view(self) -> ChecklistView:
        return self.query_one(ChecklistView)

    def compose(self) -> ComposeResult:
        yield RunHeader()
        yield RollbackBanner()
        yield PhaseHeading(id="phase-heading")
        yield LockBanner(id="lock-banner")
        yield ChecklistView(self.phase, self.session, self.cockpit.clock, id="items")
        yield ItemDetail(id="item-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.view.rebuild()
        self.update_state()
        self.set_interval(1.0, self.update_state)  # stage timers move
        self.view.focus()

    def on_journal_advanced(self, _: JournalAdvanced) -> None:
        self.update_state()

    def update_state(self) -> None:
        """Redraw the items, the heading, the lock banner and the detail from the run."""
        self.view.update_items()
        self.query_one(PhaseHeading).show(self.phase, self.session, self.view.show_all)
        self.query_one(LockBanner).show(self.phase, self.session)
        self._show_detail()
        refresh_bindings_if_changed(self)

    @on(OptionList.OptionHighlighted)
    def _show_detail(self) -> None:
        self.query_one(ItemDetail).show(self.phase, self.view.highlighted_entry(), self.session)

    def _highlighted_entry(self) -> Entry | None:
        return self.view.highlighted_entry()

    # -- keys -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return lookup(ACTIONS, self, action)

    def why_not(self, action: str) -> str:
        """Why a key shown dimmed does nothing now (said when it is pressed)."""
        return explain(WHY, self, action)

    @property
    def keys_title(self) -> str:
        return f"{self.phase.title} (checklist)"

    def offered_phase(self) -> Phase | None:
        """The phase to go on with, once this one is complete (None before)."""
        return offered_phase(self.session, self.phase_id)

    def verify_refusal(self) -> str:
        if self.locked:
            return phase_locked(self.session, self.phase_id)
        if self._highlighted_entry() is None:
            return NO_ITEM
        return "nothing verifies this item by itself: space ticks it by hand"

    def stage_refusal(self) -> str:
        step = self.stage_of_highlighted()
        if step is None:
            return "the selected item is not a question of a timed stage: t starts a stage's timer"
        if self.locked:
            return phase_locked(self.session, self.phase_id)
        state = self.session.state.step(self.phase_id, step.id).state
        if state == StepStatus.RUNNING:
            return f"the timer of {step.title} is already running"
        return f"{step.title} has ended ({state}): its timer does not start again"

    @property
    def locked(self) -> bool:
        return self.session.progress(self.phase_id).locked

    def stage_of_highlighted(self) -> Step | None:
        """The timed stage (a step without commands) the highlighted item belongs to."""
        entry = self._highlighted_entry()
        step = next((x for x in self.phase.steps if entry and x.id == entry.step), None)
        return None if step is None or step.commands else step

    def stage_can_start(self) -> bool | None:
        if not any(not x.commands and x.checks for x in self.phase.steps):
            return False  # no stages here: keep the footer quiet
        step = self.stage_of_highlighted()
        if step is None or self.locked:
            return None
        st = self.session.state.step(self.phase_id, step.id)
        return None if st.state in (StepStatus.RUNNING, *FINISHED) else True

    def can_verify(self) -> bool | None:
        entry = self._highlighted_entry()
        auto = entry is not None and auto_of(self.session, self.phase_id, entry.item.id)
        return True if auto and not self.locked else None

    async def action_toggle(self) -> None:
        entry = self._highlighted_entry()
        session = self.session
        if entry is None:
            self.notify(NO_ITEM, title="Not now", severity="warning")
            return
        st = session.state.item(self.phase_id, entry.item.id)
        if not st.checked and auto_of(session, self.phase_id, entry.item.id):
            self.action_verify()
            return
        if not st.checked and entry.item.answer:
            try:
                session.tick_allowed(self.phase_id, entry.item.id)
            except CockpitError as exc:
                self.notify(str(exc), title="Not answered", severity="error")
                return
            self._ask_answer(entry)
            return
        need_note = entry.item.note_required and not st.note
        if not st.checked and (need_note or entry.role):
            try:
                session.tick_allowed(self.phase_id, entry.item.id)
            except CockpitError as exc:
                self.notify(str(exc), title="Not done", severity="error")
                return
            self._ask_then_tick(entry, need_note)
            return
        await self.cockpit.intents.send(lambda: session.plan_toggle(self.phase_id, entry.item.id))

    def _ask_answer(self, entry: Entry) -> None:
        """A question: yes, no or unknown, with why; journaled as the item's answer."""
        session = self.session

        def answered(got: Answer | None) -> None:
            if got is not None:
                self.cockpit.intents.send_later(
                    lambda: session.plan_check(
                        self.phase_id, entry.item.id, got.note, answer=got.answer
                    )
                )

        self.app.push_screen(
            AnswerPrompt(entry.item.text, "Answer it; the answer and why go in the journal."),
            answered,
        )

    def _ask_then_tick(self, entry: Entry, need_note: bool) -> None:
        """A sign-off asks who signs (default: the operator); a note-required item asks for
        its note; then the tick is sent. Cancelling either ticks nothing."""
        session = self.session

        def tick(signer: str, note: str | None) -> None:
            if note or not need_note:
                self.cockpit.intents.send_later(
                    lambda: session.plan_check(self.phase_id, entry.item.id, note, signer=signer)
                )

        def signed(signer: str | None) -> None:
            if signer is None:
                return
            if need_note:
                self.app.push_screen(
                    TextPrompt(
                        f"Note for: {entry.item.text}",
                        "This item needs a note to be ticked.",
                        ok="Tick",
                    ),
                    lambda note: tick(signer, note),
                )
            else:
                tick(signer, None)

        if entry.role is None:
            signed("")
            return
        self.app.push_screen(
            TextPrompt(
                f"Who signs as {entry.role}?",
                f"{entry.item.text}\nThe journal keeps who signed and that you recorded it.",
                value=session.operator,
                ok="Sign",
            ),
            signed,
        )

    def action_note(self) -> None:
        entry = self._highlighted_entry()
        session = self.session
        if entry is None:
            self.notify(NO_ITEM, title="Not now", severity="warning")
            return

        def save(note: str | None) -> None:
            if note:
                self.cockpit.intents.send_later(
                    lambda: session.plan_note(self.phase_id, entry.item.id, note)
                )

        self.app.push_screen(TextPrompt(f"Note on: {entry.item.text}", ok="Add note"), save)

    @work(exclusive=True, group="verify", exit_on_error=False)
    async def action_verify(self) -> None:
        """Verify the item (a probe, or CI on GitHub); tick with evidence, or say why not."""
        entry = self._highlighted_entry()
        session = self.session
        if entry is None or self.cockpit.read_only:
            return
        auto = auto_of(session, self.phase_id, entry.item.id)
        if auto is None:
            return
        asking = f"probing {auto.health}" if auto.health else f"asking GitHub: {auto.label}"
        self.notify(f"{asking}…", timeout=2)
        result = await self.cockpit.intents.verify(self.phase_id, entry.item.id)
        if result is None:
            return
        if result.ok:
            self.notify(result.said, title="Verified")
            return
        if result.pending:
            self.notify(result.reason, title="Not yet", severity="warning")
            return

        def by_hand(reason: str | None) -> None:
            if reason:
                note = f"ticked by hand: {reason}"
                self.cockpit.intents.send_later(
                    lambda: session.plan_check(self.phase_id, entry.item.id, note)
                )

        self.app.push_screen(
            TextPrompt(
                f"Not verified: {result.reason}",
                "The item stays unticked and the evidence is journaled. To tick it by hand "
                "anyway, say why (Esc leaves it unticked).",
                ok="Tick by hand",
            ),
            by_hand,
        )

    def action_start_stage(self) -> None:
        entry = self._highlighted_entry()
        if entry is None or entry.step is None:
            return
        self.cockpit.intents.start_step(self.phase_id, entry.step)

    def action_decide(self) -> None:
        session = self.session
        met = [e.item.text for _, e in criteria_met(session.runbook, session.state)]
        documented = session.runbook.recorded("decision-rationale", session.release_type)
        entry = session.runbook.phase(documented[0]).item(documented[1]) if documented else None
        last = session.state.decisions[-1] if session.state.decisions else None
        earlier = f"{last.choice} by {last.commander}: {last.rationale}" if last else None
        dialog = DecisionDialog(
            session.operator,
            met,
            title=self.phase.title,
            role=(entry.role if entry and entry.role else "Incident commander"),
            earlier=earlier,
        )
        self.app.push_screen(dialog, self.cockpit.intents.record_decision)
        if self.cockpit.driver is not None:  # the decision's stage is timed from now
            self.cockpit.intents.begin_decision()

    def action_hotfix_branch(self) -> None:
        def create(incident: str | None) -> None:
            if incident:
                self.cockpit.intents.hotfix_branch(incident)

        self.app.push_screen(
            TextPrompt(
                "Create the hotfix branch",
                "Incident id (the branch is hotfix/incident-ID, from the last "
                "production tag; nothing is checked out or pushed).",
                ok="Continue",
            ),
            create,
        )

    def action_report(self) -> None:
        """The review meeting works from the release report (timeline, metrics, decisions)."""
        from screens.release import ReportScreen

        self.app.push_screen(ReportScreen())

    def action_show_all(self) -> None:
        self.view.show_all = not self.view.show_all
        self.view.rebuild()
        self.update_state()

    def action_override(self) -> None:
        session = self.session
        p = self.session.progress(self.phase_id)

        def save(reason: str | None) -> None:
            if reason:
                self.cockpit.intents.send_later(
                    lambda: session.plan_override(self.phase_id, reason)
                )

        self.app.push_screen(
            TextPrompt(
                f"Override the lock on {self.phase.title}",
                f"It waits on {', '.join(p.waiting_on)}. The reason is journaled with your name.",
                ok="Override",
            ),
            save,
        )

    def action_next_phase(self) -> None:
        if (following := self.offered_phase()) is not None:
            self.cockpit.open_phase(following.id)

    def action_back(self) -> None:
        self.app.pop_screen()
