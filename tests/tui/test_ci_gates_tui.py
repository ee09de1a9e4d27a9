"""The TUI side of CI gates and the GitHub release, against the loopback GitHub stand-in:
`v` on a gate ticks it from its check run or says why not; `G` on the release screen
creates the release with the changelog draft as its notes and shows its URL."""

from __future__ import annotations

import subprocess

import pytest
from textual.widgets import Static, TextArea

from cockpit.session import RunSession
from cockpit.simgithub import SimGitHub
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.checklist import ChecklistScreen
from screens.dialogs import Confirm, TextPrompt
from screens.items import ChecklistView
from tests.cli.test_ci_gates import TOKEN, use_sim
from tests.helpers import until
from tests.tui.test_release import open_release

GATES = "pre-release-gates"


@pytest.fixture
def live(workspace_dir, clock, monkeypatch):
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    with SimGitHub(token=TOKEN) as sim:
        use_sim(workspace_dir, sim)
        session = RunSession.start(
            Workspace.open(workspace_dir), "standard", clock=clock, operator="ana"
        )
        yield session, sim
        session.close()


def app_for(session: RunSession) -> CockpitApp:
    return CockpitApp(
        session.ws, session, clock=session.clock, follow_interval=0.05, poll_health=False
    )


async def test_v_ticks_a_gate_from_ci_or_says_why_not(live):
    session, sim = live
    sha = subprocess.run(
        ["git", "-C", str(session.ws.root), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    sim.set_check(sha, "typecheck", "success")
    sim.set_check(sha, "lint", "failure")
    app = app_for(session)
    async with app.run_test(size=(160, 48)) as pilot:
        app.open_phase(GATES)
        await until(pilot, lambda: isinstance(app.screen, ChecklistScreen), "checklist")
        screen = app.screen
        await until(pilot, lambda: screen.query(ChecklistView), "its items shown")
        view = screen.query_one(ChecklistView)
        await until(pilot, lambda: view.option_count > 0, "items shown")
        assert "(verifies: check 'typecheck')" in str(
            view.get_option("typescript-compilation-passes").prompt
        )
        view.highlighted = view.get_option_index("typescript-compilation-passes")
        await pilot.press("v")
        await until(
            pilot,
            lambda: session.state.item(GATES, "typescript-compilation-passes").checked,
            "the gate ticked from its check run",
        )
        evidence = session.state.item(GATES, "typescript-compilation-passes").evidence
        assert (evidence["name"], evidence["conclusion"], evidence["sha"]) == (
            "typecheck",
            "success",
            sha,
        )
        view.highlighted = view.get_option_index("eslint-checks-pass-with-zero-errors")
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt), "why not, in words")
        assert "check 'lint' concluded failure" in str(app.screen.query_one(Static).render())
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "left unticked")
    assert not session.state.item(GATES, "eslint-checks-pass-with-zero-errors").checked
    kinds = [e.type for e in session.state.recent]
    assert "item.verification_failed" in kinds


async def test_g_creates_the_github_release_with_the_changelog_draft(live):
    session, sim = live
    app = app_for(session)
    async with app.run_test(size=(160, 48)) as pilot:
        await open_release(pilot)
        screen = app.screen
        notes = screen.query_one(TextArea).text
        assert notes.startswith("## [1.3.0]")
        await pilot.press("G")
        await until(pilot, lambda: isinstance(app.screen, Confirm), "confirmation")
        assert "Create the GitHub release production-v1.3.0" in str(
            app.screen.query_one(Static).render()
        )
        await pilot.press("y")
        await until(pilot, lambda: screen.release_url is not None, "release created")
        url = f"https://github.com/{sim.repo}/releases/tag/production-v1.3.0"
        assert screen.release_url == url
        await until(
            pilot,
            lambda: url in str(screen.query_one("#release-heading", Static).render()),
            "its URL shown",
        )
        assert sim.releases[0]["body"] == notes
        await pilot.press("G")  # again: GitHub refuses, said in words and journaled
        await until(pilot, lambda: isinstance(app.screen, Confirm), "confirmation again")
        await pilot.press("y")
        await until(
            pilot,
            lambda: any(e.type == "release.failed" for e in session.state.recent),
            "the refusal journaled",
        )
    failed = next(e for e in session.state.recent if e.type == "release.failed")
    assert "already_exists" in failed.error
