"""The deploy screen's step detail shows a ``workflow:`` command's GitHub Actions run: the
step run by its key against ``SimGitHub`` on loopback, the run's id and page under the
command while it is followed and after it concluded."""

from __future__ import annotations

import pytest

from cockpit.session import RunSession
from cockpit.simgithub import SimGitHub
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.deploy import DeployScreen
from screens.steps import StepDetail
from tests.cli.test_workflow_step import PHASE, TOKEN
from tests.helpers import phase_workspace, until


@pytest.fixture
def sim():
    with SimGitHub(token=TOKEN, duration=1.5) as server:
        yield server


async def test_step_detail_shows_the_workflow_run_and_its_page(tmp_path, sim, monkeypatch):
    monkeypatch.setenv("GH_TOKEN", TOKEN)  # the supervisor inherits it
    root = phase_workspace(
        tmp_path / "ws",
        {"deploy.yaml": PHASE},
        vars={"git_ref": "main"},
        github={"api_url": sim.api_url, "repo": "acme/shop", "poll": "200ms"},
    )
    session = RunSession.start(Workspace.open(root), "standard", "3.1.0", operator="ana")
    app = CockpitApp(session.ws, session, follow_interval=0.05, poll_health=False)
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
