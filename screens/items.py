"""The widgets of a checklist: its items as a list, the heading, the lock banner, the detail.

Owns how a phase's items look: grouped by section (or by stage for timed procedures)
with each section's count, due time or stage timer, each item's tick, role, who ticked it
and when, its note and what verifies it; the phase heading (progress bar, release type
or "every release type"; once complete, the next phase and its key), the banner of a
locked or overridden phase, and the highlighted item's detail (notes history, evidence
in words). Each is given the phase and the run in its constructor and redraws from the
run's state when asked.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import App
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from cockpit.clock import Clock, local_hms, parse_iso
from cockpit.durations import format_clock
from cockpit.evidence import evidence_words
from cockpit.progress import deploy_finished_at, due_text, next_phase, step_times
from cockpit.runbook import Entry, Phase, Step, applies
from cockpit.session import RunSession
from screens.theme import bar, style

SECTION = "section:"


class ChecklistView(OptionList):
    """A phase's items as a keyboard list; section headers are not selectable."""

    def __init__(self, phase: Phase, session: RunSession, clock: Clock, **kw):
        super().__init__(**kw)
        self.phase = phase
        self.session = session
        self.clock = clock
        self.show_all = False
        """Show the items of every release type (others dimmed, ticking them is refused)."""

    def entries(self) -> list[Entry]:
        return self.phase.items_for(None if self.show_all else self.session.release_type)

    def highlighted_entry(self) -> Entry | None:
        option = self.highlighted_option
        if option is None or option.id is None or option.id.startswith(SECTION):
            return None
        return self.phase.item(option.id)

    def rebuild(self) -> None:
        """Lay the options out again (after the filter changed), keeping the highlight."""
        highlighted = self.highlighted_option.id if self.highlighted_option else None
        options: list[Option] = []
        group = None
        for entry in self.entries():
            if entry.group != group:
                group = entry.group
                prompt = self._section_prompt(group, entry)
                options.append(Option(prompt, id=f"{SECTION}{group}", disabled=True))
            # other release types stay readable; a tick is refused
            options.append(Option(self._item_prompt(entry), id=entry.item.id))
        self.set_options(options)
        ids = [o.id for o in options]
        if highlighted in ids:
            self.highlighted = ids.index(highlighted)
        else:
            self.highlighted = next((i for i, o in enumerate(options) if not o.disabled), None)

    def update_items(self) -> None:
        """Redraw every prompt from the run's state (ticks, notes, timers)."""
        group = None
        for entry in self.entries():
            if entry.group != group:
                group = entry.group
                self.replace_option_prompt(f"{SECTION}{group}", self._section_prompt(group, entry))
            self.replace_option_prompt(entry.item.id, self._item_prompt(entry))

    # -- one line -------------------------------------------------------------------------

    def _group_counts(self) -> dict[str, tuple[int, int]]:
        counts: dict[str, tuple[int, int]] = {}
        for e in self.phase.items_for(self.session.release_type):
            done, total = counts.get(e.group, (0, 0))
            ticked = self.session.state.item(self.phase.id, e.item.id).checked
            counts[e.group] = (done + ticked, total + 1)
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
        ended = deploy_finished_at(self.session.runbook, self.session.state)
        left = None
        if ended is not None:
            left = due - (self.clock.now() - parse_iso(ended)).total_seconds()
        words, colour = due_text(left)
        return Text(f"  {words}", style=style(self.app, colour, bold=colour == "error"))

    def _stage_timer(self, step: Step) -> Text:
        """A stage's timer: budget, elapsed against it once started, done when its checks are."""
        started, finished = step_times(self.phase, step, self.session.state)
        text = Text()
        if not started:
            if step.budget:
                text.append(f"  budget {step.budget}", style="dim")
            if not step.commands and step.budget:
                text.append("  (t starts its timer)", style="dim")
            return text
        end = parse_iso(finished) if finished else self.clock.now()
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

    def _item_prompt(self, entry: Entry) -> Text:
        st = self.session.state.item(self.phase.id, entry.item.id)
        applicable = applies(entry.types, self.session.release_type)
        text = Text()
        mark = "[x]" if st.checked else "[ ]"
        ok = style(self.app, "error" if entry.criterion else "success", bold=True)
        text.append(f"  {mark} ", style=ok if st.checked else "")
        text.append(entry.item.text, style="" if applicable else "dim strike")
        if entry.role:
            text.append(f"  — {entry.role}", style="italic dim")
        if entry.item.auto:
            text.append(f"  (verifies: {entry.item.auto.label})", style="dim")
        if entry.item.note_required and not st.note:
            text.append("  note required", style=style(self.app, "warning"))
        if not applicable and entry.types:
            text.append(f"  ({'/'.join(entry.types)} only)", style="dim")
        if entry.item.answer and not st.checked:
            text.append("  space answers: yes / no / unknown", style="dim")
        if st.checked and st.answer:
            text.append(f"   → {st.answer.upper()}", style="bold")
        if st.checked:
            who = f"{st.signed_by} (by {st.by})" if st.signed_by else st.by
            text.append(f"   ✓ {who} {local_hms(st.at)}", style=style(self.app, "success"))
        elif st.by:
            text.append(f"   unticked by {st.by} {local_hms(st.at)}", style="dim")
        if st.note:
            text.append(f"\n        ↳ {st.note}", style="italic")
        return text


class PhaseHeading(Static):
    """The phase's title, progress bar and count, and which release type's items show."""

    def show(self, phase: Phase, session: RunSession, show_all: bool) -> None:
        p = session.progress(phase.id)
        heading = Text()
        heading.append(phase.title, style="bold")
        heading.append(f"   {bar(p.done, p.total, 24)} {p.done}/{p.total}")
        if p.complete:
            heading.append("   ✓ complete", style=style(self.app, "success", bold=True))
        if show_all:
            heading.append("   showing every release type", style=style(self.app, "warning"))
        else:
            heading.append(f"   {session.release_type} release", style="dim")
        if p.complete:
            heading.append_text(offer_next(self.app, phase, session))
        if phase.summary:
            heading.append(f"\n{phase.summary}", style="dim")
        self.update(heading)


NEXT_KEY = "N"
"""The key that opens the next phase (``next_phase`` on the checklist and deploy screens)."""


def offered_phase(session: RunSession, phase_id: str) -> Phase | None:
    """The phase ``NEXT_KEY`` opens: the next one to go on with once ``phase_id`` is
    complete (``cockpit.progress.next_phase``), None before."""
    if not session.progress(phase_id).complete:
        return None
    return next_phase(session.runbook, session.state, phase_id)


def offer_next(app: App, phase: Phase, session: RunSession) -> Text:
    """A complete phase's line naming the next one and its key: "Pre-Release Gates complete
    — N: next, Staging Deployment" (or that no later phase is open to go on with)."""
    following = next_phase(session.runbook, session.state, phase.id)
    text = Text("\n")
    text.append(f"✓ {phase.title} complete", style=style(app, "success", bold=True))
    if following is not None:
        text.append(f" — {NEXT_KEY}: next, {following.title}", style="bold")
    else:
        text.append(" — no later phase waits to be done", style="dim")
    return text


class LockBanner(Static):
    """LOCKED (what the phase waits on, and how to override) or who opened it early."""

    def show(self, phase: Phase, session: RunSession) -> None:
        p = session.progress(phase.id)
        if p.locked:
            self.update(
                Text(
                    f"LOCKED — waiting on {', '.join(p.waiting_on)}. "
                    "Finish those first, or press o to override with a reason.",
                    style="bold",
                )
            )
        elif p.overridden:
            o = session.state.overrides[phase.id]
            self.update(Text(f"Opened early by {o.by} at {local_hms(o.at)}: {o.reason}"))
        self.set_class(p.locked, "-locked")
        self.set_class(p.overridden and not p.locked, "-overridden")
        self.display = p.locked or p.overridden


class ItemDetail(Static):
    """The highlighted item: its text and id, who signs it, who ticked it, evidence, notes."""

    def show(self, phase: Phase, entry: Entry | None, session: RunSession) -> None:
        if entry is None:
            self.update("")
            return
        st = session.state.item(phase.id, entry.item.id)
        text = Text()
        text.append(entry.item.text, style="bold")
        text.append(f"   id {entry.item.id}", style="dim")
        if entry.role:
            text.append(f"   signed by: {entry.role}")
        if st.checked and st.answer:
            text.append(f"\nanswered {st.answer.upper()}")
        if st.checked and st.signed_by:
            text.append(f"\nsigned by {st.signed_by}, recorded by {st.by} at {local_hms(st.at)}")
        elif st.checked:
            text.append(f"\nticked by {st.by} at {local_hms(st.at)}")
        if st.evidence:
            text.append(f"\nevidence: {evidence_words(st.evidence)}")
        for note in st.notes[-3:]:
            text.append(f"\n  {local_hms(note['at'])} {note['by']}: {note['text']}", style="italic")
        self.update(text)
