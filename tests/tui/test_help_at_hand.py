"""Help at hand (issue #16): ``?`` shows the keys of the screen on show and Esc closes them;
a key the footer offers but that cannot act now says why; a complete phase names the next
one and its key; the palette lists the phases in runbook order; evidence reads in words."""

from __future__ import annotations

import pytest
from textual.command import CommandList, CommandPalette
from textual.widgets import Input

from cockpit.session import RunSession
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.checklist import ChecklistScreen, ChecklistView
from screens.dashboard import DashboardScreen
from screens.deploy import DeployScreen
from screens.dialogs import Confirm, TextPrompt
from screens.items import ItemDetail, PhaseHeading
from screens.keys import KeysScreen
from screens.release import ReleaseScreen
from screens.steps import PhaseTimer
from tests.helpers import phase_workspace, settle, until

GATES = "pre-release-gates"


def app_for(session, **kw) -> CockpitApp:
    return CockpitApp(
        session.ws, session, clock=session.clock, follow_interval=0.05, poll_health=False, **kw
    )


def said(app, words: str) -> bool:
    """A toast says ``words``."""
    return any(words in n.message for n in app._notifications)


async def open_phase(pilot, app, phase_id: str, kind=ChecklistScreen):
    app.open_phase(phase_id)
    await until(pilot, lambda: isinstance(app.screen, kind), f"{phase_id} open")
    await pilot.pause()
    return app.screen


def keys_listed(app) -> dict[str, str]:
    """The open keys dialog: description (and "not now" words) by key."""
    assert isinstance(app.screen, KeysScreen)
    out = {}
    for row in app.screen.rows:
        words = row.description + (f" — not now: {row.why_not}" if row.why_not else "")
        out[row.keys] = words
    return out


# -- `?` and Esc -------------------------------------------------------------------------


async def test_question_mark_shows_the_keys_of_each_screen_and_esc_closes_them(session):
    app = app_for(session)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "dashboard")
        await pilot.press("?")
        await until(pilot, lambda: isinstance(app.screen, KeysScreen), "the dashboard's keys")
        listed = keys_listed(app)
        assert listed["b"] == "Take baseline" and listed["⏎"] == "Open phase"
        assert listed["d"] == "Dashboard" and listed["?"] == "Keys"  # the app's keys too
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "Esc closes them")

        screen = await open_phase(pilot, app, GATES)
        await pilot.press("?")
        await until(pilot, lambda: isinstance(app.screen, KeysScreen), "the checklist's keys")
        assert app.screen.title_text == "Keys — Pre-Release Gates (checklist)"
        listed = keys_listed(app)
        assert listed["space"] == "Tick/untick" and listed["n"] == "Note"
        assert listed["o"].startswith("Override lock — not now: Pre-Release Gates is not locked")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "Esc closes them, not the checklist")
        await pilot.press("?")
        await until(pilot, lambda: isinstance(app.screen, KeysScreen), "open again")
        await pilot.press("?")
        await until(pilot, lambda: app.screen is screen, "? closes them too")

        deploy = await open_phase(pilot, app, "production-deploy", DeployScreen)
        await pilot.press("?")
        await until(pilot, lambda: isinstance(app.screen, KeysScreen), "the deploy screen's keys")
        listed = keys_listed(app)
        assert listed["r"] == "Run/retry"
        assert listed["x"] == "Abort — not now: nothing is running: there is nothing to abort"
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is deploy, "back on the deploy screen")


async def test_question_mark_in_a_dialog_without_text_shows_its_keys(session):
    app = app_for(session)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "dashboard")
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, Confirm), "quit asks")
        await pilot.press("?")
        await until(pilot, lambda: isinstance(app.screen, KeysScreen), "the dialog's keys")
        assert keys_listed(app)["y"] == "Yes" and keys_listed(app)["n / esc"] == "No"
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, Confirm), "the question is back")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "stayed")
        assert app.is_running


async def test_question_mark_is_text_where_text_is_typed(session):
    app = app_for(session)
    async with app.run_test(size=(160, 48)) as pilot:
        await open_phase(pilot, app, GATES)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt), "note prompt")
        await pilot.press(*"why?")
        await pilot.pause()
        assert isinstance(app.screen, TextPrompt)
        assert app.screen.query_one(Input).value == "why?"
        assert app.screen.query_one("#ok").label.plain == "Add note"  # named after its action


# -- keys that cannot act say why --------------------------------------------------------


async def test_space_on_a_locked_phase_says_why_and_how_to_open_it(session):
    app = app_for(session)
    async with app.run_test(size=(160, 48)) as pilot:
        await open_phase(pilot, app, "pre-production")
        await pilot.press("space")
        await until(
            pilot,
            lambda: said(
                app,
                "phase locked: waiting on Pre-Release Gates, Staging Sign-off — "
                "override with a reason (o)",
            ),
            "space says why",
        )
        await pilot.press("n")
        await until(
            pilot,
            lambda: sum("phase locked" in n.message for n in app._notifications) == 2,
            "n says so too",
        )
        await settle(pilot)
        assert not isinstance(app.screen, TextPrompt)  # nothing asked, nothing journaled
        assert not any(
            st.checked
            for (phase, _), st in session.state.items.items()
            if phase == "pre-production"
        )
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt), "o asks for a reason")
        assert app.screen.query_one("#ok").label.plain == "Override"


async def test_other_dimmed_checklist_keys_say_why(session):
    app = app_for(session)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_phase(pilot, app, GATES)
        await pilot.press("o")
        await until(
            pilot,
            lambda: said(app, "Pre-Release Gates is not locked: there is nothing to override"),
            "o says there is no lock",
        )
        view = screen.query_one(ChecklistView)
        view.highlighted = view.get_option_index("dependency-audit-clean")  # ticked by hand
        await pilot.pause()
        await pilot.press("v")
        await until(
            pilot,
            lambda: said(app, "nothing verifies this item by itself: space ticks it by hand"),
            "v says nothing verifies it",
        )
        assert app.screen is screen


async def test_dimmed_deploy_keys_and_r_on_a_finished_step_say_why(session):
    session.override("production-deploy", "gates signed off on paper")
    first = session.runbook.phase("production-deploy").steps_for("standard")[0]
    session.write(session.plan_step_skip("production-deploy", first.id, "done by hand"))
    session.refresh()
    app = app_for(session)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_phase(pilot, app, "production-deploy", DeployScreen)
        screen.step_list.highlighted = 0
        await pilot.pause()
        await pilot.press("r")
        await until(
            pilot,
            lambda: said(app, f"{first.title} is skipped (final). Select the next step."),
            "r on a finished step says why",
        )
        await pilot.press("s")
        await until(
            pilot,
            lambda: said(app, f"{first.title} is skipped (final): there is nothing to skip"),
            "s on a finished step says why",
        )
        await pilot.press("x")
        await until(pilot, lambda: said(app, "nothing is running: there is nothing to abort"), "x")
        await pilot.press("e")  # a step with commands is not a window
        await until(
            pilot,
            lambda: said(app, f"{first.title} runs commands, not a timer: it ends when they do"),
            "e says why",
        )
        assert app.screen is screen and session.state.step("production-deploy", first.id).state == (
            "skipped"
        )


async def test_a_release_key_without_its_configuration_says_what_to_set(session):
    app = app_for(session)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "dashboard")
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, ReleaseScreen), "release screen")
        await until(pilot, lambda: app.screen.view is not None, "repository read")
        await pilot.press("s")
        await until(
            pilot,
            lambda: said(app, "no Slack webhook: set notify.slack_webhook in cockpit.yaml"),
            "s says what to configure",
        )
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, Confirm), "m asks")
        assert app.screen.query_one("#yes").label.plain == "Save (y)"  # not "Do it"


# -- a finished phase offers the next ----------------------------------------------------

FIRST = """\
id: prep
title: Prep
sections:
  - title: Ready
    items: [Artifacts built]
"""
SHIP = """\
id: ship
title: Ship
after: [prep]
steps:
  - id: apply
    title: Apply
    commands:
      - run: "true"
"""
LAST = """\
id: verify
title: Verify
after: [ship]
sections:
  - title: After
    items: [Smoke tested]
"""


@pytest.fixture
def three(tmp_path):
    root = phase_workspace(
        tmp_path / "ws", {"a-prep.yaml": FIRST, "b-ship.yaml": SHIP, "c-verify.yaml": LAST}
    )
    session = RunSession.start(Workspace.open(root), "standard", "1.0.0", operator="ana")
    yield session
    session.close()


async def test_a_complete_phase_names_the_next_and_n_opens_it(three):
    app = app_for(three)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_phase(pilot, app, "prep")
        heading = screen.query_one(PhaseHeading)
        assert "next" not in str(heading.render())
        await pilot.press("N")  # not offered yet: hidden, does nothing
        await settle(pilot)
        assert app.screen is screen
        await pilot.press("space")
        await until(
            pilot, lambda: "✓ Prep complete — N: next, Ship" in str(heading.render()), "offer"
        )
        await pilot.press("N")
        deploy = await until_screen(pilot, app, DeployScreen)
        assert deploy.phase_id == "ship"
        three.write(three.plan_step_skip("ship", "apply", "applied by hand"))
        three.refresh()
        app.redraw()
        timer = deploy.query_one(PhaseTimer)
        await until(
            pilot, lambda: "✓ Ship complete — N: next, Verify" in str(timer.render()), "offer"
        )
        await pilot.press("N")
        last = await until_screen(pilot, app, ChecklistScreen)
        assert last.phase_id == "verify"


async def until_screen(pilot, app, kind):
    await until(pilot, lambda: isinstance(app.screen, kind), kind.__name__)
    await pilot.pause()
    return app.screen


# -- the palette, evidence and times -----------------------------------------------------


async def test_palette_lists_phases_in_runbook_order(session):
    app = app_for(session)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "dashboard")
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "palette open")
        options = app.screen.query_one(CommandList)
        wanted = [f"Open phase: {p.title}" for p in session.phases()]

        def shown() -> list[str]:
            prompts = [
                str(options.get_option_at_index(n).prompt) for n in range(options.option_count)
            ]
            return [p.split("\n")[0] for p in prompts if p.startswith("Open phase: ")]

        await until(pilot, lambda: len(shown()) == len(wanted), "every phase listed")
        assert shown() == wanted
        assert wanted != sorted(wanted)  # runbook order, which is not alphabetical


async def test_item_detail_shows_evidence_in_words_and_times_with_seconds(session):
    evidence = {
        "url": "http://127.0.0.1:1/api/ready",
        "state": "READY",
        "http_status": 200,
        "latency_ms": 212.4,
        "checks": {"db": "ok", "redis": "ok"},
    }
    session.check(GATES, "dependency-audit-clean", evidence=evidence)
    app = app_for(session)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_phase(pilot, app, GATES)
        view = screen.query_one(ChecklistView)
        view.highlighted = view.get_option_index("dependency-audit-clean")
        await pilot.pause()
        detail = str(screen.query_one(ItemDetail).render())
        assert "evidence: READY · HTTP 200 · 212 ms · db ok · redis ok" in detail
        assert "{" not in detail and "=" not in detail
        assert "ticked by ana at 14:00:00" in detail
