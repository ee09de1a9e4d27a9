"""A phase's checklist: tick and untick, notes, who/when, filters by release type, locks.

Owns the checklist screen of one phase: items grouped by section (or by step for
timed procedures) with section progress and roles, the selected item's detail
(notes history, evidence), and the keys — space ticks, ``n`` notes, ``a`` shows
the items of every release type, ``o`` overrides a locked phase with a reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from cockpit.clock import local_hm, parse_iso
from cockpit.durations import format_clock
from cockpit.errors import CockpitError
from cockpit.events import FINISHED
from cockpit.progress import PhaseProgress, criteria_met, deploy_finished_at, due_text, step_times
from cockpit.runbook import DECISION_PHASE, HOTFIX_PHASE, REVIEW_PHASE, Entry, Phase, Step, applies
from cockpit.state import ItemState
from cockpit.verify import verify_item
from screens.decision import DecisionDialog
from screens.dialogs import TextPrompt
from screens.header import RollbackBanner, RunHeader
from screens.theme import bar, refresh_bindings_if_changed, style

if TYPE_CHECKING:
    from screens.app import CockpitApp

SECTION = "section:"


class ChecklistView(OptionList):
    """The items of a phase as a keyboard list; section headers are not selectable."""


Rule = Callable[["ChecklistScreen"], bool | None]
"""Whether a key applies now: True shown and enabled, None shown dimmed, False hidden."""


def _driving(rule: Rule) -> Rule:
    """Keys that change the run: hidden while watching."""
    return lambda screen: False if screen.cockpit.read_only else rule(screen)


ACTIONS: dict[str, Rule] = {
    "toggle": _driving(lambda s: None if s.locked else True),
    "note": _driving(lambda s: None if s.locked else True),
    "verify": _driving(lambda s: s.can_verify()),
    "override": _driving(lambda s: True if s.locked else None),
    "start_stage": _driving(lambda s: s.stage_can_start()),
    "decide": _driving(lambda s: s.phase_id == DECISION_PHASE),
    "hotfix_branch": _driving(lambda s: s.phase_id == HOTFIX_PHASE),
    "report": lambda s: s.phase_id == REVIEW_PHASE,
}


class ChecklistScreen(Screen):
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
        Binding("escape", "back", "Dashboard", id="checklist.back"),
    ]

    def __init__(self, phase_id: str):
        super().__init__()
        self.phase_id = phase_id
        self.show_all = False

    @property
    def cockpit(self) -> CockpitApp:
        return cast("CockpitApp", self.app)

    @property
    def phase(self) -> Phase:
        return self.cockpit.ws.runbook.phase(self.phase_id)

    def compose(self) -> ComposeResult:
        yield RunHeader()
        yield RollbackBanner()
        yield Static(id="phase-heading")
        yield Static(id="lock-banner")
        yield ChecklistView(id="items")
        yield Static(id="item-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.rebuild()
        self.watch(self.app, "revision", lambda _: self.update_state(), init=False)
        self.set_interval(1.0, self.update_state)  # stage timers move
        self.query_one(ChecklistView).focus()

    # -- rendering -----------------------------------------------------------------------

    def _entries(self) -> list[Entry]:
        session = self.cockpit.session
        assert session is not None
        return self.phase.items_for(None if self.show_all else session.release_type)

    def _progress(self) -> PhaseProgress:
        session = self.cockpit.session
        assert session is not None
        return session.progress(self.phase_id)

    def _group_counts(self) -> dict[str, tuple[int, int]]:
        session = self.cockpit.session
        assert session is not None
        counts: dict[str, tuple[int, int]] = {}
        for e in self.phase.items_for(session.release_type):
            done, total = counts.get(e.group, (0, 0))
            counts[e.group] = (
                done + session.state.item(self.phase_id, e.item.id).checked,
                total + 1,
            )
        return counts

    def _section_prompt(self, group: str, entry: Entry) -> Text:
        done, total = self._group_counts().get(group, (0, 0))
        text = Text()
        text.append(group, style="bold underline")
        if entry.step:
            step = next(s for s in self.phase.steps if s.id == entry.step)
            text.append_text(self._stage_timer(step))
        section = next((x for x in self.phase.sections if x.title == group), None)
        if section is not None and section.due is not None and done < total:
            text.append_text(self._due(section.due))
        if entry.criterion:
            text.append("  (criteria: tick any that is met)", style="dim")
        elif total:
            text.append(f"  {done}/{total}", style="dim")
        if entry.types:
            text.append(f"  [{'/'.join(entry.types)}]", style="dim")
        return text

    def _due(self, due: float) -> Text:
        session = self.cockpit.session
        assert session is not None
        ended = deploy_finished_at(session.ws.runbook, session.state)
        left = None
        if ended is not None:
            left = due - (self.cockpit.clock.now() - parse_iso(ended)).total_seconds()
        words, colour = due_text(left)
        return Text(f"  {words}", style=style(self.app, colour, bold=colour == "error"))

    def _stage_timer(self, step: Step) -> Text:
        """A stage's timer: budget, elapsed against it once started, done when its checks are."""
        session = self.cockpit.session
        assert session is not None
        started, finished = step_times(self.phase, step, session.state)
        text = Text()
        if not started:
            if step.budget:
                text.append(f"  budget {step.budget}", style="dim")
            if not step.commands and step.budget:
                text.append("  (t starts its timer)", style="dim")
            return text
        end = parse_iso(finished) if finished else self.cockpit.clock.now()
        elapsed = (end - parse_iso(started)).total_seconds()
        budget = step.budget.high if step.budget else None
        colour = "success"
        if budget and elapsed > budget:
            colour = "error"
        elif step.budget and elapsed >= step.budget.warn_at:
            colour = "warning"
        mark = "✓" if finished else "▶"
        text.append(f"  {mark} {format_clock(elapsed)}", style=style(self.app, colour, bold=True))
        if step.budget:
            text.append(f" / {step.budget}")
        return text

    def _item_prompt(self, entry: Entry, st: ItemState, applicable: bool) -> Text:
        text = Text()
        mark = "[x]" if st.checked else "[ ]"
        ok = style(self.app, "error" if entry.criterion else "success", bold=True)
        text.append(f"  {mark} ", style=ok if st.checked else "")
        text.append(entry.item.text, style="" if applicable else "dim strike")
        if entry.role:
            text.append(f"  — {entry.role}", style="italic dim")
        if entry.item.auto:
            probe = entry.item.auto.health or entry.item.auto.run
            text.append(f"  (verifies: {probe})", style="dim")
        if entry.item.note_required and not st.note:
            text.append("  note required", style=style(self.app, "warning"))
        if not applicable and entry.types:
            text.append(f"  ({'/'.join(entry.types)} only)", style="dim")
        if st.checked:
            text.append(f"   ✓ {st.by} {local_hm(st.at)}", style=style(self.app, "success"))
        elif st.by:
            text.append(f"   unticked by {st.by} {local_hm(st.at)}", style="dim")
        if st.note:
            text.append(f"\n        ↳ {st.note}", style="italic")
        return text

    def rebuild(self) -> None:
        """Lay the options out again (after the filter changed)."""
        session = self.cockpit.session
        assert session is not None
        view = self.query_one(ChecklistView)
        highlighted = view.highlighted_option.id if view.highlighted_option else None
        options: list[Option] = []
        group = None
        for entry in self._entries():
            if entry.group != group:
                group = entry.group
                options.append(
                    Option(
                        self._section_prompt(group, entry), id=f"{SECTION}{group}", disabled=True
                    )
                )
            st = session.state.item(self.phase_id, entry.item.id)
            applicable = applies(entry.types, session.release_type)
            options.append(
                Option(
                    self._item_prompt(entry, st, applicable),
                    id=entry.item.id,  # other release types stay readable; a tick is refused
                )
            )
        view.set_options(options)
        ids = [o.id for o in options]
        if highlighted in ids:
            view.highlighted = ids.index(highlighted)
        else:
            first = next((i for i, o in enumerate(options) if not o.disabled), None)
            view.highlighted = first
        self.update_state()

    def update_state(self) -> None:
        """Refresh prompts, heading, lock banner and detail from the run's state."""
        session = self.cockpit.session
        if session is None:
            return
        view = self.query_one(ChecklistView)
        group = None
        for entry in self._entries():
            if entry.group != group:
                group = entry.group
                view.replace_option_prompt(f"{SECTION}{group}", self._section_prompt(group, entry))
            st = session.state.item(self.phase_id, entry.item.id)
            applicable = applies(entry.types, session.release_type)
            view.replace_option_prompt(entry.item.id, self._item_prompt(entry, st, applicable))
        p = self._progress()
        heading = Text()
        heading.append(self.phase.title, style="bold")
        heading.append(f"   {bar(p.done, p.total, 24)} {p.done}/{p.total}")
        if p.complete:
            heading.append("   ✓ complete", style=style(self.app, "success", bold=True))
        if self.show_all:
            heading.append("   showing every release type", style=style(self.app, "warning"))
        else:
            heading.append(f"   {session.release_type} release", style="dim")
        if self.phase.summary:
            heading.append(f"\n{self.phase.summary}", style="dim")
        self.query_one("#phase-heading", Static).update(heading)
        banner = self.query_one("#lock-banner", Static)
        if p.locked:
            banner.update(
                Text(
                    f"LOCKED — waiting on {', '.join(p.waiting_on)}. "
                    "Finish those first, or press o to override with a reason.",
                    style="bold",
                )
            )
            banner.set_class(True, "-locked")
        elif p.overridden:
            o = session.state.overrides[self.phase_id]
            banner.update(Text(f"Opened early by {o.by} at {local_hm(o.at)}: {o.reason}"))
            banner.set_class(True, "-overridden")
        banner.display = p.locked or p.overridden
        self._show_detail()
        refresh_bindings_if_changed(self)

    def _highlighted_entry(self) -> Entry | None:
        view = self.query_one(ChecklistView)
        option = view.highlighted_option
        if option is None or option.id is None or option.id.startswith(SECTION):
            return None
        return self.phase.item(option.id)

    @on(OptionList.OptionHighlighted)
    def _show_detail(self) -> None:
        session = self.cockpit.session
        entry = self._highlighted_entry()
        detail = self.query_one("#item-detail", Static)
        if entry is None or session is None:
            detail.update("")
            return
        st = session.state.item(self.phase_id, entry.item.id)
        text = Text()
        text.append(entry.item.text, style="bold")
        text.append(f"   id {entry.item.id}", style="dim")
        if entry.role:
            text.append(f"   signed by: {entry.role}")
        if st.checked:
            text.append(f"\nticked by {st.by} at {local_hm(st.at)}")
        if st.evidence:
            text.append("\nevidence: " + ", ".join(f"{k}={v}" for k, v in st.evidence.items()))
        for note in st.notes[-3:]:
            text.append(f"\n  {local_hm(note['at'])} {note['by']}: {note['text']}", style="italic")
        detail.update(text)

    # -- keys -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        rule = ACTIONS.get(action)
        if rule is None or self.cockpit.session is None:
            return True
        return rule(self)

    @property
    def locked(self) -> bool:
        return self._progress().locked

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
        assert self.cockpit.session is not None
        st = self.cockpit.session.state.step(self.phase_id, step.id)
        return None if st.state in ("running", *FINISHED) else True

    def can_verify(self) -> bool | None:
        entry = self._highlighted_entry()
        auto = entry is not None and entry.item.auto is not None and entry.item.auto.health
        return True if auto and not self.locked else None

    async def action_toggle(self) -> None:
        entry = self._highlighted_entry()
        session = self.cockpit.session
        if entry is None or session is None:
            return
        st = session.state.item(self.phase_id, entry.item.id)
        if not st.checked and entry.item.auto is not None and entry.item.auto.health:
            self.action_verify()
            return
        if not st.checked and entry.item.note_required and not st.note:
            try:
                session.tick_allowed(self.phase_id, entry.item.id)
            except CockpitError as exc:
                self.notify(str(exc), title="Not done", severity="error")
                return
            self.app.push_screen(
                TextPrompt(f"Note for: {entry.item.text}", "This item needs a note to be ticked."),
                lambda note: self._tick_with_note(entry, note),
            )
            return
        await self.cockpit.send(lambda: session.plan_toggle(self.phase_id, entry.item.id))

    def _tick_with_note(self, entry: Entry, note: str | None) -> None:
        session = self.cockpit.session
        if note and session is not None:
            self.cockpit.send_later(lambda: session.plan_check(self.phase_id, entry.item.id, note))

    def action_note(self) -> None:
        entry = self._highlighted_entry()
        session = self.cockpit.session
        if entry is None or session is None:
            return

        def save(note: str | None) -> None:
            if note:
                self.cockpit.send_later(
                    lambda: session.plan_note(self.phase_id, entry.item.id, note)
                )

        self.app.push_screen(TextPrompt(f"Note on: {entry.item.text}"), save)

    @work(exclusive=True, group="verify", exit_on_error=False)
    async def action_verify(self) -> None:
        """Probe the item's environment; tick with evidence, or say why not."""
        entry = self._highlighted_entry()
        session = self.cockpit.session
        if entry is None or session is None or self.cockpit.read_only:
            return
        self.notify(f"probing {entry.item.auto.health if entry.item.auto else '?'}…", timeout=2)
        try:
            result = await verify_item(session, self.phase_id, entry.item.id)
        except CockpitError as exc:
            self.notify(str(exc), title="Not done", severity="error")
            return
        await self.cockpit.record(result.intent)
        if result.ok:
            self.notify(f"{result.reason} in {result.sample.latency_ms:.0f}ms", title="Verified")
            return

        def by_hand(reason: str | None) -> None:
            if reason:
                note = f"ticked by hand: {reason}"
                self.cockpit.send_later(
                    lambda: session.plan_check(self.phase_id, entry.item.id, note)
                )

        self.app.push_screen(
            TextPrompt(
                f"Not verified: {result.reason}",
                "The item stays unticked and the evidence is journaled. To tick it by hand "
                "anyway, say why (Esc leaves it unticked).",
            ),
            by_hand,
        )

    def action_start_stage(self) -> None:
        entry = self._highlighted_entry()
        session = self.cockpit.session
        if entry is None or entry.step is None or session is None:
            return
        self.cockpit.start_step(self.phase_id, entry.step)

    def action_decide(self) -> None:
        session = self.cockpit.session
        if session is None:
            return
        met = [e.item.text for _, e in criteria_met(session.ws.runbook, session.state)]
        self.app.push_screen(DecisionDialog(session.operator, met), self.cockpit.record_decision)

    def action_hotfix_branch(self) -> None:
        def create(incident: str | None) -> None:
            if incident:
                self.cockpit.hotfix_branch(incident)

        self.app.push_screen(
            TextPrompt(
                "Create the hotfix branch",
                "Incident id (the branch is hotfix/incident-ID, from the last "
                "production tag; nothing is checked out or pushed).",
            ),
            create,
        )

    def action_report(self) -> None:
        """The review meeting works from the release report (timeline, metrics, decisions)."""
        from screens.release import ReportScreen

        self.app.push_screen(ReportScreen())

    def action_show_all(self) -> None:
        self.show_all = not self.show_all
        self.rebuild()

    def action_override(self) -> None:
        session = self.cockpit.session
        if session is None:
            return
        p = self._progress()

        def save(reason: str | None) -> None:
            if reason:
                self.cockpit.send_later(lambda: session.plan_override(self.phase_id, reason))

        self.app.push_screen(
            TextPrompt(
                f"Override the lock on {self.phase.title}",
                f"It waits on {', '.join(p.waiting_on)}. The reason is journaled with your name.",
            ),
            save,
        )

    def action_back(self) -> None:
        self.app.pop_screen()
