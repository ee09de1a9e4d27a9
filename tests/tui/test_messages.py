"""What moves the screen: messages coalesce, reach only the screen on show, and catch up."""

from __future__ import annotations

from cockpit.events import ItemChecked, ItemNoted
from screens.app import CockpitApp
from screens.checklist import ChecklistScreen
from screens.dashboard import DashboardScreen, PhaseTable
from screens.items import ChecklistView
from screens.messages import HealthSampled, JournalAdvanced, OutputPending, deliver
from tests.helpers import until


def test_queued_journal_messages_merge_their_events_in_order():
    first = JournalAdvanced([ItemChecked(phase="a", item="x")])
    later = JournalAdvanced([ItemNoted(phase="b", item="y", note="n")])
    assert first.can_replace(later)  # the later one, still queued, now carries both
    assert [type(e) for e in later.events] == [ItemChecked, ItemNoted]
    assert not later.everything
    everything = JournalAdvanced(everything=True)
    assert everything.can_replace(later) and later.everything  # "redraw it all" is kept


def test_output_and_health_messages_coalesce_only_for_the_same_step_or_environment():
    assert OutputPending("p", "s").can_replace(OutputPending("p", "s"))
    assert not OutputPending("p", "s").can_replace(OutputPending("p", "other"))
    changed = HealthSampled("production", changed=True)
    quiet = HealthSampled("production", changed=False)
    assert changed.can_replace(quiet) and quiet.changed  # a change is never coalesced away
    assert not HealthSampled("staging", True).can_replace(HealthSampled("production", True))
    assert not JournalAdvanced().can_replace(OutputPending("p", "s"))


async def test_a_hidden_screen_gets_nothing_and_catches_up_when_shown_again(session):
    app = CockpitApp(session.ws, session, clock=session.clock, follow_interval=0.05)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "dashboard")
        dashboard = app.screen
        table = dashboard.query_one(PhaseTable)
        await until(pilot, lambda: table.row_count == 11, "phase rows")
        app.open_phase("pre-release-gates")
        await until(pilot, lambda: isinstance(app.screen, ChecklistScreen), "checklist")
        checklist = app.screen
        await until(pilot, lambda: checklist.query(ChecklistView), "its items shown")
        await pilot.pause()
        # the checklist's own widgets are told (its header, banner and the screen itself)
        assert deliver(app.screen, JournalAdvanced(everything=True)) >= 3
        view = checklist.view  # a gate ticked by hand (the first ones verify themselves)
        view.highlighted = view.get_option_index("dependency-audit-clean")
        first = checklist.view.highlighted_entry()
        assert first is not None
        await pilot.press("space")  # tick the first gate while the dashboard is hidden
        await until(
            pilot,
            lambda: session.state.item("pre-release-gates", first.item.id).checked,
            "ticked",
        )
        assert "1/19" not in str(table.get_row("pre-release-gates")[1])  # not redrawn hidden
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is dashboard, "back on the dashboard")
        await until(
            pilot,
            lambda: "1/19" in str(table.get_row("pre-release-gates")[1]),
            "the dashboard shows the tick made while it was hidden",
        )
