"""Incident command in the app: timed decision stages, the recorded decision opening the
rollback, the rollback target, and a hotfix branch created in a real git repository."""

from __future__ import annotations

import git

from cockpit.session import RunSession
from screens.app import CockpitApp
from screens.checklist import ChecklistScreen, ChecklistView
from screens.decision import DecisionDialog
from screens.deploy import DeployScreen
from screens.dialogs import Confirm, TextPrompt
from screens.header import RollbackBanner
from tests.helpers import until


async def open_phase(pilot, app, phase_id):
    app.open_phase(phase_id)
    await until(
        pilot,
        lambda: (
            isinstance(app.screen, ChecklistScreen | DeployScreen)
            and app.screen.phase_id == phase_id
        ),
        f"{phase_id} open",
    )
    await pilot.pause()
    return app.screen


def app_for(session) -> CockpitApp:
    return CockpitApp(
        session.ws, session, clock=session.clock, follow_interval=0.05, poll_health=False
    )


async def test_decision_stages_and_rollback(session):
    session.check("rollback-decision", "performance-10x", note="p95 ×14 vs baseline")
    app = app_for(session)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_phase(pilot, app, "rollback-decision")
        view = screen.query_one(ChecklistView)
        view.highlighted = view.get_option_index("determine-scope-and-severity")
        await pilot.press("t")
        await until(
            pilot,
            lambda: session.state.step("rollback-decision", "assess-impact").started_at,
            "assess stage timer started",
        )
        assert "▶ 00:00 / 5m" in str(view.get_option("section:Assess Impact").prompt)
        session.clock.advance(200)
        for item in (
            "determine-scope-and-severity",
            "identify-affected-users",
            "estimate-resolution-time",
        ):
            view.highlighted = view.get_option_index(item)
            await pilot.press("space")
            await until(
                pilot, lambda item=item: session.state.item("rollback-decision", item).checked, item
            )
        screen.update_state()
        assert "✓ 03:20 / 5m" in str(view.get_option("section:Assess Impact").prompt)
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, DecisionDialog), "decision dialog")
        await pilot.press("enter")  # no rationale: refused
        await pilot.pause()
        assert isinstance(app.screen, DecisionDialog)
        await pilot.press(*"p95 x14 since the deploy; no data migration conflicts", "enter")
        await until(pilot, lambda: isinstance(app.screen, DeployScreen), "rollback opens")
        decision = session.state.decisions[-1]
        assert (decision.choice, decision.commander) == ("rollback", "ana")
        assert decision.criteria == ["performance-10x"]
        assert session.state.item("rollback-decision", "document-decision-rationale").checked
        assert "rollback" in session.state.overrides
        banner = app.screen.query_one(RollbackBanner)
        await until(
            pilot, lambda: "DECISION: ROLL BACK" in str(banner.render()), "banner shows decision"
        )
        assert "Performance degradation >10x baseline" in str(banner.render())
        await pilot.press("T")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt), "target prompt")
        assert app.screen.query_one("#dialog-input").value == "production-v1.2.0"
        app.screen.query_one("#dialog-input").value = "dirt-free-crm-1b9e77.vercel.app"
        await pilot.press("enter")
        await until(
            pilot,
            lambda: session.state.rollback_target == "dirt-free-crm-1b9e77.vercel.app",
            "target changed",
        )
        assert session.placeholder_values()["rollback_target"] == "dirt-free-crm-1b9e77.vercel.app"


async def test_hotfix_branch_from_the_last_production_tag(ws, clock):
    hotfix = RunSession.start(ws, "hotfix", clock=clock, operator="ana")
    app = app_for(hotfix)
    async with app.run_test(size=(160, 48)) as pilot:
        await open_phase(pilot, app, "hotfix-workflow")
        assert isinstance(app.screen, DeployScreen)  # its deployment step runs commands
        app.screen.action_checklist()
        await until(pilot, lambda: isinstance(app.screen, ChecklistScreen), "checklist")
        await pilot.press("B")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt), "incident id asked")
        await pilot.press(*"INC-42", "enter")
        await until(pilot, lambda: isinstance(app.screen, Confirm), "confirmation")
        await pilot.press("y")
        await until(
            pilot,
            lambda: hotfix.state.item("hotfix-workflow", "hotfix-branch-created").checked,
            "branch item ticked",
        )
    repo = git.Repo(ws.root)
    branch = repo.heads["hotfix/incident-INC-42"]
    assert branch.commit == repo.tags["production-v1.2.0"].commit
    assert repo.active_branch.name == "main"  # nothing checked out
    evidence = hotfix.state.item("hotfix-workflow", "hotfix-branch-created").evidence
    assert evidence["tag"] == "production-v1.2.0"
    assert hotfix.state.branches[-1].branch == "hotfix/incident-INC-42"
    hotfix.close()


def test_hotfix_branch_refusals(ws):
    from cockpit.errors import CockpitError
    from cockpit.git_changes import create_hotfix_branch, plan_hotfix_branch

    plan = plan_hotfix_branch(ws.root, "7")
    create_hotfix_branch(ws.root, plan)
    for bad, words in (("7", "already exists"), ("a b", "letters, digits")):
        try:
            plan_hotfix_branch(ws.root, bad)
        except CockpitError as exc:
            assert words in str(exc)
        else:
            raise AssertionError(bad)


def test_trigger_criteria_do_not_raise_the_rollback_banner(ws, clock):
    hotfix = RunSession.start(ws, "hotfix", clock=clock, operator="ana")
    hotfix.check("hotfix-workflow", "sev1-unavailable")
    assert hotfix.status()["rollback_criteria_met"] == []
    hotfix.close()
