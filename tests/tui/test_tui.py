"""The app driven by keys (Textual Pilot): ticking, notes, filters, locks, start, quit, watch."""

from __future__ import annotations

import os

import pytest
from textual.widgets.option_list import OptionDoesNotExist

from cockpit.journal import read_journal
from cockpit.session import RunSession
from screens.app import CockpitApp
from screens.checklist import ChecklistScreen, ChecklistView
from screens.dashboard import DashboardScreen, PhaseTable
from screens.dialogs import Confirm, TextPrompt
from screens.start import StartScreen
from tests.helpers import settle, until


def app_for(session, **kw) -> CockpitApp:
    return CockpitApp(session.ws, session, clock=session.clock, follow_interval=0.05, **kw)


def journal_types(session) -> list[str]:
    return [e["type"] for e in read_journal(session.journal_path).events]


async def open_phase(pilot, app, phase_id: str) -> ChecklistScreen:
    app.open_phase(phase_id)
    await until(pilot, lambda: isinstance(app.screen, ChecklistScreen), "checklist open")
    await pilot.pause()
    return app.screen


def prompt_of(screen: ChecklistScreen, item_id: str) -> str:
    view = screen.query_one(ChecklistView)
    return str(view.get_option(item_id).prompt)


async def test_dashboard_lists_phases_with_lock_state(session):
    app = app_for(session)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "dashboard")
        table = app.screen.query_one(PhaseTable)
        await until(pilot, lambda: table.row_count == 11, "phase rows")
        row = table.get_row("pre-production")
        assert "0/11" in str(row[1])
        assert "waits for pre-release-gates, staging-signoff" in str(row[2])
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ChecklistScreen), "enter opens a phase")
        assert app.screen.phase_id == "pre-release-gates"


async def test_space_ticks_and_unticks_with_who_and_when(session):
    app = app_for(session)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_phase(pilot, app, "pre-release-gates")
        view = screen.query_one(ChecklistView)  # the first gates verify themselves from CI
        view.highlighted = view.get_option_index("dependency-audit-clean")
        await pilot.press("space")
        await until(
            pilot,
            lambda: session.state.item("pre-release-gates", "dependency-audit-clean").checked,
            "first item ticked",
        )
        assert "[x] Dependency audit clean" in prompt_of(screen, "dependency-audit-clean")
        assert "✓ ana 14:00" in prompt_of(screen, "dependency-audit-clean")
        await pilot.press("space")
        await until(
            pilot,
            lambda: not session.state.item("pre-release-gates", "dependency-audit-clean").checked,
            "unticked",
        )
        ticks = [t for t in journal_types(session) if t.startswith("item.")]
        assert ticks[-2:] == ["item.checked", "item.unchecked"]  # health changes may interleave
        assert "[ ] Dependency audit clean" in prompt_of(screen, "dependency-audit-clean")


async def test_note_key_adds_a_note(session):
    app = app_for(session)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_phase(pilot, app, "pre-release-gates")
        await pilot.press("down", "n")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt), "note prompt")
        await pilot.press(*"lint job 881 green", "enter")
        await until(
            pilot,
            lambda: (
                session.state.item("pre-release-gates", "eslint-checks-pass-with-zero-errors").note
                == "lint job 881 green"
            ),
            "note saved",
        )
        assert "↳ lint job 881 green" in prompt_of(screen, "eslint-checks-pass-with-zero-errors")
        assert not session.state.item(
            "pre-release-gates", "eslint-checks-pass-with-zero-errors"
        ).checked


async def test_filter_shows_other_release_types_dimmed_and_untickable(session):
    app = app_for(session)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_phase(pilot, app, "pre-release-gates")
        view = screen.query_one(ChecklistView)
        with pytest.raises(OptionDoesNotExist):
            view.get_option("impact-assessment-documented")
        before = view.option_count
        await pilot.press("a")
        await pilot.pause()
        assert view.option_count == before + 7 + 2  # 3 patch + 4 hotfix items, 2 section headers
        assert "(patch only)" in prompt_of(screen, "impact-assessment-documented")
        view.highlighted = view.get_option_index("impact-assessment-documented")
        await pilot.press("space")
        await settle(pilot)
        assert not session.state.item("pre-release-gates", "impact-assessment-documented").checked
        await pilot.press("a")
        await pilot.pause()
        assert view.option_count == before


async def test_locked_phase_refuses_ticks_until_overridden_with_a_reason(session):
    app = app_for(session)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_phase(pilot, app, "pre-production")
        assert "LOCKED" in str(screen.query_one("#lock-banner").render())
        assert screen.check_action("toggle", ()) is None  # shown, disabled
        await pilot.press("space")
        await settle(pilot)
        assert not session.state.item("pre-production", "staging-healthy").checked
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt), "reason prompt")
        await pilot.press("enter")  # empty reason is refused
        await pilot.pause()
        assert isinstance(app.screen, TextPrompt)
        assert "needs some text" in str(app.screen.query_one("#dialog-error").render())
        await pilot.press(*"CAB-88 approved", "enter")
        await until(
            pilot, lambda: "pre-production" in session.state.overrides, "override journaled"
        )
        assert session.state.overrides["pre-production"].reason == "CAB-88 approved"
        await pilot.press("down", "space")
        await until(
            pilot,
            lambda: session.state.item("pre-production", "confirm-all-tests-pass").checked,
            "ticked",
        )


async def test_note_required_item_asks_for_the_note(ws, clock):
    patch = RunSession.start(ws, "patch", clock=clock, operator="ana")
    app = app_for(patch)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_phase(pilot, app, "pre-release-gates")
        view = screen.query_one(ChecklistView)
        view.highlighted = view.get_option_index("impact-assessment-documented")
        await pilot.press("space")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt), "note prompt")
        await pilot.press(*"blast radius: invoices only", "enter")
        await until(
            pilot,
            lambda: patch.state.item("pre-release-gates", "impact-assessment-documented").checked,
            "ticked with note",
        )
        assert (
            patch.state.item("pre-release-gates", "impact-assessment-documented").note
            == "blast radius: invoices only"
        )
    patch.close()


async def test_a_tick_from_a_script_appears_live(session, ws):
    app = app_for(session)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_phase(pilot, app, "pre-release-gates")
        RunSession(ws, session.run_id, operator="ci-bot").check(
            "pre-release-gates", "unit-tests-pass-90-coverage", note="coverage 93%"
        )
        await until(
            pilot,
            lambda: "✓ ci-bot" in prompt_of(screen, "unit-tests-pass-90-coverage"),
            "live tick",
        )


async def test_start_screen_starts_a_run(ws, clock):
    app = CockpitApp(ws, None, clock=clock, follow_interval=0.05)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, StartScreen), "start screen")
        field = app.screen.query_one("#start-version")
        await until(pilot, lambda: field.value == "1.3.0", "next standard version suggested")
        app.screen.query_one("#type-patch").value = True
        await until(pilot, lambda: field.value == "1.2.1", "next patch version suggested")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "dashboard after start")
        assert app.session.state.run.type == "patch"
        assert app.session.state.run.version == "1.2.1"
        assert app.session.lock.held
    app.session.close()


async def test_quit_asks_while_driving(session):
    app = app_for(session)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, Confirm), "confirmation")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "stayed")
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, Confirm), "confirmation again")
        await pilot.press("y")
        await until(pilot, lambda: app.return_code is not None or not app.is_running, "quit")


async def test_watch_mode_is_read_only(session, ws):
    bob = RunSession(ws, session.run_id, operator="bob")
    bob.take_lock()  # bob drives; the journal says so
    session.refresh()
    app = app_for(session, read_only=True)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_phase(pilot, app, "pre-release-gates")
        header = str(screen.query_one("RunHeader").render())
        assert f"WATCHING (read-only) · driven by bob (pid {os.getpid()}" in header
        assert screen.check_action("toggle", ()) is False
        await pilot.press("space")
        await settle(pilot)
        assert journal_types(session) == ["run.started", "lock.acquired"]
        bob.release()
        await until(
            pilot,
            lambda: "nobody drives it now" in str(screen.query_one("RunHeader").render()),
            "driver left",
        )


async def test_palette_reaches_every_phase_and_action(session):
    app = app_for(session)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_phase(pilot, app, "pre-release-gates")
        titles = [c.title for c in app.get_system_commands(screen)]
        for phase in session.phases():
            assert f"Open phase: {phase.title}" in titles
        assert {"Tick/untick", "Note", "All types", "Dashboard"} <= set(titles)
        assert "Override lock" not in titles  # not locked: nothing to override


async def test_live_health_panel_baseline_and_rollback_banner(ws, clock):
    from cockpit.demo_sandbox import write_config
    from cockpit.simservice import SimService
    from cockpit.workspace import Workspace
    from screens.header import RollbackBanner
    from screens.panels import EnvCard

    with SimService(latency_s=0.01) as service:
        write_config(ws.root, service.url("staging"), service.url("production"))
        cfg = ws.root / "cockpit.yaml"
        cfg.write_text(cfg.read_text().replace("interval: 1s", "interval: 20ms"))
        live = Workspace.open(ws.root)
        session = RunSession.start(live, "standard", operator="ana")
        app = CockpitApp(live, session, follow_interval=0.05, demo=service)
        async with app.run_test(size=(160, 48)) as pilot:
            production = app.monitor.envs["production"]
            await until(
                pilot,
                lambda: production.state == "READY" and len(production.samples) >= 3,
                "production READY",
            )
            card = app.screen.query_one("#env-production", EnvCard)
            await until(pilot, lambda: "READY" in card.content.plain, "card redrawn")
            await pilot.press("b")
            await until(
                pilot, lambda: "production" in session.state.baselines, "baseline journaled"
            )
            await pilot.press("3")  # demo key: production down
            await until(
                pilot,
                lambda: session.state.item("rollback-decision", "critical-broken").checked,
                "criterion flagged by the health signal",
            )
            banner = app.screen.query_one(RollbackBanner)
            await until(pilot, lambda: banner.has_class("-met"), "banner shown")
            assert "Critical functionality completely broken" in str(banner.render())
            st = session.state.item("rollback-decision", "critical-broken")
            assert st.by == "ana (health signal)" and st.evidence["signal"] == "production DOWN"
            await until(pilot, lambda: "DOWN" in card.content.plain, "card shows DOWN")
            assert session.state.health["production"].state == "DOWN"
        session.close()


async def test_verify_key_ticks_with_evidence_or_explains(ws, clock):
    from cockpit.demo_sandbox import write_config
    from cockpit.simservice import SimService
    from cockpit.workspace import Workspace

    with SimService(latency_s=0.01) as service:
        write_config(ws.root, service.url("staging"), service.url("production"))
        live = Workspace.open(ws.root)
        session = RunSession.start(live, "standard", operator="ana")
        app = CockpitApp(live, session, follow_interval=0.05, poll_health=False)
        async with app.run_test(size=(160, 48)) as pilot:
            screen = await open_phase(pilot, app, "staging-deployment")
            view = screen.query_one(ChecklistView)
            view.highlighted = view.get_option_index("verify-deployment-health")
            await pilot.pause()
            service.set_mode("staging", "html")
            await pilot.press("space")  # space on a self-verifying item verifies it
            await until(pilot, lambda: isinstance(app.screen, TextPrompt), "explains the failure")
            assert "Not verified: staging DEGRADED" in str(app.screen.prompt_title)
            await pilot.press("escape")
            await pilot.pause()
            assert not session.state.item("staging-deployment", "verify-deployment-health").checked
            assert "item.verification_failed" in journal_types(session)
            service.set_mode("staging", "healthy")
            await pilot.press("v")
            await until(
                pilot,
                lambda: (
                    session.state.item("staging-deployment", "verify-deployment-health").checked
                ),
                "verified",
            )
            evidence = session.state.item("staging-deployment", "verify-deployment-health").evidence
            assert evidence["state"] == "READY" and evidence["http_status"] == 200
        session.close()
