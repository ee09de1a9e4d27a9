"""The demo shows its workspace inside the TUI: the folder and the exact command that
watches it from a second terminal, on the dashboard, whole at 80 columns (a long path
wraps, never cut); a cockpit that is not the demo shows no such line."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.demo_sandbox import make_repo, write_config
from cockpit.demo_workspace import watch_command
from cockpit.session import RunSession
from cockpit.simservice import SimService
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.dashboard import DashboardScreen, DemoWorkspace
from tests.helpers import until


def shown(widget: DemoWorkspace) -> list[str]:
    """The widget's lines as drawn on the screen (padding included)."""
    lines = widget.render_lines(widget.region.reset_offset)
    return [strip.text for strip in lines]


@pytest.mark.parametrize("name", ["cockpit-demo-k3j2h1x0", "a-folder-" + "x" * 90])
async def test_the_demo_shows_its_workspace_and_the_watch_command(tmp_path: Path, name: str):
    root = tmp_path / name
    root.mkdir()
    make_repo(root)
    with SimService(latency_s=0.01) as service:
        write_config(root, service.url("staging"), service.url("production"))
        ws = Workspace.open(root)
        session = RunSession.start(ws, "standard", operator="ana")
        app = CockpitApp(ws, session, follow_interval=0.05, poll_health=False, demo=service)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "dashboard")
            line = app.screen.query_one(DemoWorkspace)
            await until(pilot, lambda: line.size.height > 0, "the line laid out")
            region = line.region
            assert region.x >= 0 and region.right <= 80
            assert region.bottom <= 23  # above the footer, on screen
            lines = shown(line)
            assert len(lines) == region.height and all(len(text) <= 80 for text in lines)
            drawn = "".join(lines)
            command = watch_command(ws.root)
            assert command == f"cockpit --workspace {ws.root} watch"
            if len(command) <= 78:  # fits: on one line, to copy as it is
                assert any(command in text for text in lines), lines
                assert f"Demo workspace {ws.root}" in drawn
            # however it wraps, the whole path and command are on the screen
            squeezed = "".join(drawn.split())
            assert "".join(f"Demo workspace {ws.root}".split()) in squeezed
            assert "".join(command.split()) in squeezed
        session.close()


async def test_no_demo_line_outside_the_demo(session):
    app = CockpitApp(session.ws, session, clock=session.clock, follow_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "dashboard")
        assert not app.screen.query(DemoWorkspace)
