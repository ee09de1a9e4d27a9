"""The app on other teams' runbooks: behaviour comes from ``kind:``/``records:``, not ids.

A runbook whose deploy phase is ``ship`` to ``live`` gets the deploy panel under its own
title, its baseline, and the health signal ticking its own criterion; a runbook without such
phases shows neither a deploy panel nor an environments box nor a word about the shipped
runbook's phases."""

from __future__ import annotations

from cockpit.session import RunSession
from cockpit.simservice import SimService
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.header import RollbackBanner
from screens.panels import DeployPanel, EnvCard, HealthPanel
from tests.helpers import phase_workspace, settle, until
from tests.unit.test_declared_behaviour import GO_NO_GO, PLAIN, REVERT, SHIP


async def test_another_teams_deploy_environment_gets_baseline_and_signal(tmp_path):
    with SimService(envs=("live",), latency_s=0.01) as service:
        root = phase_workspace(
            tmp_path / "ws",
            {"10-ship.yaml": SHIP, "20-go.yaml": GO_NO_GO, "30-revert.yaml": REVERT},
            environments={"live": {"url": service.url("live")}},
            health={"interval": "20ms"},
        )
        ws = Workspace.open(root)
        session = RunSession.start(ws, "standard", operator="ana")
        app = CockpitApp(ws, session, follow_interval=0.05, demo=service)
        async with app.run_test(size=(160, 48)) as pilot:
            live = app.monitor.envs["live"]
            await until(pilot, lambda: len(live.samples) >= 3, "live READY")
            panel = app.screen.query_one(DeployPanel)
            assert panel.border_title == "Ship payments-api"
            assert "Roll the fleet" in str(panel.render())
            demo_keys = app.screen.query_one(HealthPanel).query(".demo-keys").first()
            assert "demo, live:" in str(demo_keys.render())
            await pilot.press("b")
            await until(pilot, lambda: "live" in session.state.baselines, "baseline journaled")
            await pilot.press("3")  # demo key: the deploy environment goes down
            await until(
                pilot,
                lambda: session.state.item("go-no-go", "api-5xx").checked,
                "the runbook's own criterion flagged",
            )
            banner = app.screen.query_one(RollbackBanner)
            await until(pilot, lambda: banner.has_class("-met"), "banner shown")
            assert "The API answers 5xx" in str(banner.render())
        session.close()


async def test_a_plain_runbook_shows_no_dead_panels(tmp_path):
    root = phase_workspace(tmp_path / "ws", {"tidy.yaml": PLAIN})
    ws = Workspace.open(root)
    session = RunSession.start(ws, "standard", operator="ana")
    app = CockpitApp(ws, session, follow_interval=0.05, poll_health=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert not screen.query(DeployPanel) and not screen.query(HealthPanel)
        assert not screen.query(EnvCard)
        shown = " ".join(str(w.render()) for w in screen.query("*") if hasattr(w, "render"))
        assert "production" not in shown.lower()
        shown_keys = {b.binding.description for b in screen.active_bindings.values() if b.enabled}
        assert "Take baseline" not in shown_keys
        await pilot.press("b")  # the binding is off: nothing happens, nothing journaled
        await settle(pilot)
        assert session.state.baselines == {}
    session.close()
