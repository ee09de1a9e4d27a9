"""A sign-off in the app: ticking an item with a role asks who signs (prefilled with the
operator), the checklist shows the signer and who recorded it, and cancelling ticks
nothing."""

from __future__ import annotations

from cockpit.session import RunSession
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.checklist import ChecklistScreen, ChecklistView
from screens.dialogs import TextPrompt
from screens.items import ItemDetail
from tests.cli.test_ids_and_signoff import PREP, SHIP
from tests.helpers import phase_workspace, settle, until


async def test_ticking_a_sign_off_asks_who_signs(tmp_path):
    root = phase_workspace(tmp_path / "ws", {"10-prep.yaml": PREP, "20-ship.yaml": SHIP})
    ws = Workspace.open(root)
    session = RunSession.start(ws, "standard", operator="ana")
    app = CockpitApp(ws, session, follow_interval=0.05, poll_health=False)
    async with app.run_test(size=(160, 48)) as pilot:
        app.open_phase("prep")
        await until(pilot, lambda: isinstance(app.screen, ChecklistScreen), "prep open")
        await pilot.pause()
        view = app.screen.query_one(ChecklistView)
        view.highlighted = view.get_option_index("notes-approved")
        await pilot.press("space")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt), "who signs asked")
        assert app.screen.prompt_title == "Who signs as Product Owner?"
        field = app.screen.query_one("#dialog-input")
        assert field.value == "ana"
        await pilot.press("escape")  # cancelled: nothing ticked
        await settle(pilot)
        assert not session.state.item("prep", "notes-approved").checked
        await pilot.press("space")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt), "asked again")
        app.screen.query_one("#dialog-input").value = ""
        await pilot.press(*"Lee Chen", "enter")
        await until(
            pilot, lambda: session.state.item("prep", "notes-approved").checked, "signed off"
        )
        st = session.state.item("prep", "notes-approved")
        assert (st.by, st.signed_by) == ("ana", "Lee Chen")
        view = app.screen.query_one(ChecklistView)
        await until(
            pilot,
            lambda: (
                "✓ Lee Chen (by ana)"
                in str(view.get_option_at_index(view.get_option_index("notes-approved")).prompt)
            ),
            "the checklist shows the signer",
        )
        detail = app.screen.query_one(ItemDetail)
        assert "signed by Lee Chen, recorded by ana" in str(detail.render())
        # an item without a role ticks at once, as before
        view.highlighted = view.get_option_index("verify-that-the-payments-database-connection")
        await pilot.press("space")
        await until(
            pilot,
            lambda: (
                session.state.item("prep", "verify-that-the-payments-database-connection").checked
            ),
            "ticked without a question",
        )
        assert (
            session.state.item("prep", "verify-that-the-payments-database-connection").signed_by
            is None
        )
    session.close()
