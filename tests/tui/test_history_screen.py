"""The release history screen over generated runs of a platform team's runbook
(``bench.history_runs``): opened with ``h`` from the dashboard while driving and from the
palette while watching with no run open; the metrics judged in words, the runs with their
outcomes, both charts drawn from the data; no runs, an unreadable state folder, outside
text that looks like markup; and snapshots at 100x30 and 160x48 with a frozen clock."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.geometry import Region
from textual.widgets import DataTable

from bench.history_runs import Spec, deployed, platform_workspace, write_run
from cockpit.clock import FrozenClock
from cockpit.session import RunSession
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.dashboard import DashboardScreen
from screens.history import (
    NO_RUNS,
    DeploymentChart,
    HistoryCounted,
    HistoryScreen,
    StepChart,
)
from screens.keys import KeysScreen
from screens.start import StartScreen, WaitingScreen
from tests.conftest import FROZEN
from tests.helpers import settle, until


def month(state: Path, open_run: bool = True) -> None:
    """Six runs: one later patched by a hotfix, one rolled back, the hotfix (a step over
    budget), one succeeded, one failed; the last still open (or closed)."""
    write_run(state, deployed(0, "1.1.0", "1.0.0", 30))
    back = deployed(2, "1.2.0", "1.1.0", 20)
    back.decision = (40, "rollback")
    back.steps += [
        ("revert", "revert-fleet", 45, 55, "done"),
        ("revert", "confirm-revert", 55, 58, "done"),
    ]
    back.closed = 70
    write_run(state, back)
    hotfix = Spec(3, "1.2.1", type="hotfix", previous="1.1.0", closed=60)
    hotfix.steps = [("ship", "migrate", 5, 8, "done"), ("ship", "rollout", 8, 50, "done")]
    write_run(state, hotfix)
    write_run(state, deployed(4, "1.3.0", "1.2.1", 40))
    failed = [("ship", "migrate", 5, 9, "failed")]
    write_run(state, Spec(5, "1.4.0", previous="1.3.0", steps=failed, closed=20))
    last = Spec(7, "1.5.0", previous="1.3.0", steps=[("ship", "migrate", 5, 9, "done")])
    last.closed = None if open_run else 30
    write_run(state, last)


def workspace(tmp_path: Path, runs: bool = True, open_run: bool = True) -> Workspace:
    root = platform_workspace(tmp_path / "ws")
    (root / ".cockpit").mkdir(mode=0o700)
    if runs:
        month(root / ".cockpit", open_run)
    return Workspace.open(root)


def driving(ws: Workspace) -> CockpitApp:
    clock = FrozenClock(FROZEN)
    run_id = ws.active_run_id()
    session = RunSession(ws, run_id, clock=clock) if run_id else None
    return CockpitApp(ws, session, clock=clock, follow_interval=0.05, poll_health=False)


def watching(ws: Workspace) -> CockpitApp:
    clock = FrozenClock(FROZEN)
    return CockpitApp(
        ws, None, read_only=True, clock=clock, follow_interval=0.05, poll_health=False
    )


def cells(screen: HistoryScreen, table: str) -> list[list[str]]:
    """A table of the screen as the user reads it: every row's cells in words."""
    data = screen.query_one(f"#{table}", DataTable)
    return [[str(c) for c in data.get_row_at(n)] for n in range(data.row_count)]


async def history_read(pilot) -> HistoryScreen:
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, HistoryScreen), "the history screen")
    screen = app.screen
    await until(pilot, lambda: screen.doc is not None or screen.error, "the history read")
    runs = screen.query_one("#history-runs", DataTable)
    await until(
        pilot,
        lambda: screen.doc is None or not screen.doc["runs"] or runs.row_count > 0,
        "the tables filled (once laid out)",
    )
    await pilot.pause()
    return screen


def on_screen(widget) -> str:
    """What ``widget`` draws, line by line (markup already read, if any was)."""
    region = Region(0, 0, widget.size.width, widget.size.height)
    return "\n".join(strip.text for strip in widget.render_lines(region))


def heading(screen: HistoryScreen) -> str:
    return str(screen.query_one("#history-heading").render())


async def test_h_on_the_dashboard_shows_the_metrics_runs_and_both_charts(tmp_path):
    app = driving(workspace(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "dashboard")
        await pilot.press("?")
        await until(pilot, lambda: isinstance(app.screen, KeysScreen), "the dashboard's keys")
        assert any(r.keys == "h" and r.description == "History" for r in app.screen.rows)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "keys closed")

        await pilot.press("h")
        screen = await history_read(pilot)
        assert "6 runs since 2026-11-02, 1 in progress" in heading(screen)
        assert "2 targets NOT MET" in heading(screen)
        metrics = {row[0]: row for row in cells(screen, "history-metrics")}
        assert metrics["deployment success rate"][1:] == [
            "60% (3 of 5 deployments succeeded)",
            "> 99%",
            "NOT MET",
        ]
        assert metrics["rollback rate"][3] == "NOT MET"
        assert metrics["incidents per release"][3] == "met"
        assert metrics["deployment time (median)"][1:] == [
            "35m (of 4 finished deployments)",
            "< 1h",
            "met",
        ]

        runs = {row[2]: row for row in cells(screen, "history-runs")}
        assert list(runs) == ["1.1.0", "1.2.0", "1.2.1", "1.3.0", "1.4.0", "1.5.0"]
        assert runs["1.1.0"][3] == "succeeded (hotfix 1.2.1)"
        assert runs["1.2.0"][3:6] == ["rolled back", "20m", "1"]
        assert runs["1.2.1"][1] == "hotfix" and runs["1.2.1"][6] == "Roll out the fleet +22m"
        assert runs["1.4.0"][3] == "failed" and runs["1.5.0"][3] == "in progress"
        assert runs["1.1.0"][0] == "Nov 02 09:00"
        dora = dict((row[0], row[1]) for row in cells(screen, "history-dora"))
        assert dora["time to restore"].startswith("median 18m over 1 rollback,")

        # the selected run in full: its outcome in words, from its journal
        table = screen.query_one("#history-runs", DataTable)
        table.focus()
        table.move_cursor(row=4)
        await pilot.pause()
        detail = str(screen.query_one("#history-run-detail").render())
        assert "standard-1.4.0: Migrate the ledger failed" in detail

        chart = screen.query_one(DeploymentChart)
        assert chart.releases == [
            ("1.1.0", 30.0, True),
            ("1.2.0", 20.0, True),
            ("1.2.1", 45.0, True),
            ("1.3.0", 40.0, True),
            ("1.4.0", 4.0, False),
            ("1.5.0", 4.0, False),
        ]
        assert chart.target == 60.0
        drawn = chart.render().plain
        assert "Deployment time per release" in drawn and "target" in drawn
        assert all(v in drawn for v in ("1.1.0", "1.2.1", "1.5.0"))
        monitor = chart.plt._active.monitor
        assert [max(y) for y in monitor.y[:4]] == [30.0, 20.0, 45.0, 40.0]  # the bars
        assert monitor.y[-1] == [60.0, 60.0]  # the target line

        steps = screen.query_one(StepChart)
        assert steps.steps[0] == ("Roll out the fleet", 17.5, 20.0)  # nearest its budget first
        assert {title for title, _, _ in steps.steps} == {
            "Roll out the fleet",
            "Migrate the ledger",
            "Revert to the last good build",
            "Confirm the revert",
        }
        drawn = steps.render().plain
        assert "median" in drawn and "budget" in drawn and "Roll out" in drawn
        assert len(steps.plt._active.monitor.y) >= 2  # a series each for median and budget

        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "Esc goes back")


async def test_the_palette_opens_it_while_watching_with_no_run_open(tmp_path):
    ws = workspace(tmp_path, open_run=False)
    app = watching(ws)
    seen: list[object] = []
    async with app.run_test(size=(100, 30), message_hook=seen.append) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WaitingScreen), "waiting for a run")
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "palette open")
        await pilot.press(*"Release history")
        await pilot.pause(0.2)
        await pilot.press("enter")
        screen = await history_read(pilot)
        assert {m.runs for m in seen if isinstance(m, HistoryCounted)} == {6}  # "reading 6 runs…"
        assert "6 runs since 2026-11-02" in heading(screen)
        assert "in progress" not in heading(screen)  # the last run was closed
        runs = {row[2]: row[3] for row in cells(screen, "history-runs")}
        assert runs["1.5.0"] == "failed"  # closed with its deployment unfinished
        assert screen.query_one(DeploymentChart).releases[0] == ("1.1.0", 30.0, True)
        assert not (ws.state_dir / "cache").exists()  # a watcher only reads
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, WaitingScreen), "q goes back")


async def test_the_palette_lists_it_after_the_dashboard(tmp_path):
    app = driving(workspace(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "dashboard")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert titles[:3] == ["Dashboard", "Release history", "Open phase: Ship to prod"]
        assert "History" not in titles  # the dashboard's h is that same command


async def test_no_runs_says_how_to_start_one(tmp_path):
    app = driving(workspace(tmp_path, runs=False))
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, StartScreen), "the start screen")
        app.action_history()
        screen = await history_read(pilot)
        assert NO_RUNS in heading(screen)
        assert screen.query_one("#history-empty").display
        assert not screen.query_one("#history-charts").display
        assert not screen.query_one("#history-metrics-box").display
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, StartScreen), "back to start")


async def test_an_unreadable_state_folder_is_said_in_words(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("giving the state folder to another user needs root")
    ws = workspace(tmp_path, open_run=False)
    app = driving(ws)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, StartScreen), "the start screen")
        os.chown(ws.state_dir, 65534, 65534)  # nobody's now: the cockpit refuses to use it
        app.action_history()
        screen = await history_read(pilot)
        assert screen.doc is None
        words = heading(screen)
        assert words.startswith("Release history could not be read: refusing to use")
        assert "belongs to user" in words and "Traceback" not in words
        await settle(pilot)
        assert isinstance(app.screen, HistoryScreen)  # the app goes on
        os.chown(ws.state_dir, 0, 0)
        await pilot.press("r")
        await until(pilot, lambda: screen.doc is not None, "read again")


async def test_versions_and_step_titles_that_look_like_markup_are_shown_as_written(tmp_path):
    root = platform_workspace(tmp_path / "ws")
    ship = root / "runbook" / "10-ship.yaml"
    ship.write_text(ship.read_text().replace("Migrate the ledger", "Migrate [b]the[/b] ledger"))
    (root / ".cockpit").mkdir(mode=0o700)
    spec = deployed(0, "2.0.0-[b]rc", None, 30)
    spec.steps[0] = ("ship", "migrate", 5, 30, "done")  # 25m against 10m: an overrun
    write_run(root / ".cockpit", spec)
    app = driving(Workspace.open(root))
    async with app.run_test(size=(160, 48)) as pilot:
        app.action_history()
        screen = await history_read(pilot)
        runs = on_screen(screen.query_one("#history-runs"))
        assert "2.0.0-[b]rc" in runs and "Migrate [b]the[/b]" in runs
        assert "Migrate [b]the[/b] ledger" in on_screen(screen.query_one("#history-steps"))
        detail = on_screen(screen.query_one("#history-run-detail"))
        assert "standard-2.0.0-[b]rc: deployed in 30m" in detail
        assert "Migrate [b]the[/b] ledger: 25m against 10m (+15m)" in detail
        assert "2.0.0-[b]rc" in screen.query_one(DeploymentChart).render().plain


@pytest.mark.parametrize("size", [(100, 30), (160, 48)], ids=["100x30", "160x48"])
def test_history_snapshot(snap_compare, tmp_path, size):
    app = driving(workspace(tmp_path))

    async def open_history(pilot) -> None:
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "dashboard")
        await pilot.press("h")
        await history_read(pilot)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=open_history)
