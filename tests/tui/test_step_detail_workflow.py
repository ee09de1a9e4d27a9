"""The deploy screen's step detail shows a ``workflow:`` command's GitHub Actions run: the
step run by its key against ``SimGitHub`` on loopback, the run's id and page under the
command while it is followed and after it concluded."""

from __future__ import annotations

import pytest
from textual.widgets import Button, Static

from cockpit.session import RunSession
from cockpit.simgithub import SimGitHub
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.deploy import DeployScreen
from screens.dialogs import Choose
from screens.steps import StepDetail
from tests.cli.test_workflow_step import PHASE, TOKEN
from tests.helpers import phase_workspace, until


@pytest.fixture
def sim():
    with SimGitHub(token=TOKEN, duration=1.5) as server:
        yield server


def started(tmp_path, sim, monkeypatch) -> tuple[RunSession, CockpitApp]:
    """A run of the workflow phase against ``sim`` and the app driving it (the token in
    the environment the supervisor inherits)."""
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    root = phase_workspace(
        tmp_path / "ws",
        {"deploy.yaml": PHASE},
        vars={"git_ref": "main"},
        github={"api_url": sim.api_url, "repo": "acme/shop", "poll": "200ms"},
    )
    session = RunSession.start(Workspace.open(root), "standard", "3.1.0", operator="ana")
    return session, CockpitApp(session.ws, session, follow_interval=0.05, poll_health=False)


async def test_step_detail_shows_the_workflow_run_and_its_page(tmp_path, sim, monkeypatch):
    session, app = started(tmp_path, sim, monkeypatch)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            app.open_phase("deploy")
            await until(pilot, lambda: isinstance(app.screen, DeployScreen), "deploy screen")
            await pilot.pause()
            detail = app.screen.query_one(StepDetail)
            await pilot.press("r")
            await until(pilot, lambda: sim.runs, "the workflow dispatched", attempts=1000)
            (run,) = sim.runs.values()
            url = f"https://github.com/acme/shop/actions/runs/{run.id}"
            await until(
                pilot,
                lambda: f"workflow run {run.id}: {url}" in str(detail.render()),
                "the run's page under the command",
                attempts=1000,
            )
            await until(
                pilot,
                lambda: session.state.step("deploy", "ship").state == "done",
                "the workflow concluded",
                attempts=1000,
            )
            await pilot.pause()
            text = str(detail.render())
            lines = text.splitlines()
            assert lines[0].startswith("$ workflow deploy-production.yml @ main")
            assert lines[1] == f"  workflow run {run.id}: {url}"
            assert TOKEN not in text
    finally:
        session.close()


async def abort_following(tmp_path, sim, monkeypatch, key: str):
    """Run the workflow step in the TUI, press x while its run is followed, answer ``key``;
    (the session, the run, the dialog's text)."""
    sim.duration = 60.0
    session, app = started(tmp_path, sim, monkeypatch)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            app.open_phase("deploy")
            await until(pilot, lambda: isinstance(app.screen, DeployScreen), "deploy screen")
            await pilot.pause()
            await pilot.press("r")
            step = session.state.step
            await until(
                pilot,
                lambda: step("deploy", "ship").followed_run is not None,
                "the run followed",
                attempts=1000,
            )
            (run,) = sim.runs.values()
            await pilot.press("x")
            await until(pilot, lambda: isinstance(app.screen, Choose), "the abort question")
            asked = " ".join(str(s.render()) for s in app.screen.query(Static))
            asked += " ".join(str(b.label) for b in app.screen.query(Button))
            await pilot.press(key)
            await until(
                pilot,
                lambda: step("deploy", "ship").state == "aborted",
                "the step aborted",
                attempts=1500,
            )
            return session, run, asked
    finally:
        session.close()


async def test_abort_offers_to_leave_the_workflow_run_running(tmp_path, sim, monkeypatch):
    session, run, asked = await abort_following(tmp_path, sim, monkeypatch, "l")
    assert f"workflow run {run.id}" in asked
    assert "Abort and cancel the run (c)" in asked and "Abort, leave it running (l)" in asked
    assert sim.cancels == []  # left running on GitHub
    data, _ = run.snapshot(sim.html_base, sim.repo)
    assert data["status"] != "completed"  # GitHub still runs it
    st = session.state.step("deploy", "ship")
    assert "left running on GitHub" in st.reason or "left running on GitHub" in (
        st.commands[-1].outcome or ""
    )


async def test_abort_offers_to_cancel_the_workflow_run(tmp_path, sim, monkeypatch):
    session, run, _ = await abort_following(tmp_path, sim, monkeypatch, "c")
    assert sim.cancels == [run.id]
    assert f"workflow run {run.id} cancelled" in (
        session.state.step("deploy", "ship").commands[-1].outcome or ""
    )
