"""Outside text on the TUI's dialogs and toasts is plain text: ``[`` in a runbook text, a
reason or an error is never read as markup (a ``[/]`` used to stop the app)."""

from __future__ import annotations

from textual.widgets import Label

from cockpit.session import RunSession
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.checklist import ChecklistScreen
from screens.dialogs import TextPrompt
from tests.helpers import phase_workspace, until

PHASE = """\
id: gates
title: Gates
sections:
  - title: Gates
    items:
      - {text: "Verify [staging] box [/] now", id: verify}
"""


async def test_a_text_with_brackets_is_shown_as_written(tmp_path):
    root = phase_workspace(tmp_path / "ws", {"gates.yaml": PHASE})
    session = RunSession.start(Workspace.open(root), "standard", "1.0.0", operator="ana")
    app = CockpitApp(session.ws, session, follow_interval=0.05, poll_health=False)
    async with app.run_test(size=(160, 48)) as pilot:
        app.open_phase("gates")
        await until(pilot, lambda: isinstance(app.screen, ChecklistScreen), "checklist")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt), "the note dialog")
        title = app.screen.query_one("#dialog-title", Label)
        assert "Verify [staging] box [/] now" in str(title.render())
        app.screen.notify("a reason with [/] and [bold]brackets[/bold]")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ChecklistScreen), "back")
        await pilot.pause()
        shown = [n.message for n in app._notifications]
        assert "a reason with [/] and [bold]brackets[/bold]" in shown
    session.close()
