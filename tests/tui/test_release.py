"""Release management: changelog, tags, messages, the webhook, the report — real git repos,
a real HTTP server standing in for Slack."""

from __future__ import annotations

import asyncio
import json
import subprocess
from datetime import date

import git
import pytest

from cockpit.changelog import classify, draft, write_changelog
from cockpit.errors import CockpitError
from cockpit.journal import read_journal
from cockpit.release_actions import do_post_slack, do_push, do_tag, release_view
from cockpit.report import build, markdown
from cockpit.session import RunSession
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.dialogs import Confirm
from screens.release import ReleaseScreen
from tests.helpers import Recorder, cockpit_cmd, until


@pytest.mark.parametrize(
    ("subject", "section", "entry"),
    [
        ("feat: customer survey (#131)", "Added", "Customer survey (#131)"),
        ("fix(calendar): sync drops jobs (#137)", "Fixed", "Sync drops jobs (#137)"),
        ("fix(security): escape notes", "Security", "Escape notes"),
        ("chore(deps): bump next to 14.2.5", "Security", "Bump next to 14.2.5"),
        ("perf: dashboard 3x faster", "Changed", "Dashboard 3x faster"),
        ("Update SMS templates", "Changed", "Update SMS templates"),
        ("Patch CVE-2026-1234 in parser", "Security", "Patch CVE-2026-1234 in parser"),
    ],
)
def test_commit_subjects_map_to_sections(subject, section, entry):
    assert classify(subject) == (section, entry)


def test_draft_and_changelog_file(workspace_dir):
    d = draft(workspace_dir, "1.3.0", date(2026, 11, 24))
    assert d.since_tag == "production-v1.2.0" and d.commits == 5
    text = d.render()
    assert text.startswith(
        "## [1.3.0] - 2026-11-24\n\n### Added\n- Customer survey after each job (#131)"
    )
    path = write_changelog(workspace_dir, text)
    assert path.read_text().startswith("# Changelog\n\n## [1.3.0] - 2026-11-24")
    path.write_text(path.read_text().replace("# Changelog", "# Changelog\n\nAll notable changes."))
    with pytest.raises(CockpitError, match=r"already has a section for 1\.3\.0"):
        write_changelog(workspace_dir, text)
    write_changelog(workspace_dir, text.replace("1.3.0", "1.3.1"))
    content = path.read_text()
    assert content.index("[1.3.1]") < content.index("[1.3.0]")
    assert content.startswith("# Changelog\n\n## [1.3.1]")


def test_tag_and_push_to_a_real_remote(session, tmp_path):
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    git.Repo(session.ws.root).create_remote("origin", str(remote))
    intent = do_tag(session, "production")
    assert intent.tag == "production-v1.3.0"
    with pytest.raises(CockpitError, match="already exists"):
        do_tag(session, "production")
    pushed = asyncio.run(do_push(session, "production-v1.3.0"))
    assert pushed.type == "tag.pushed", pushed
    assert (
        "production-v1.3.0"
        in subprocess.run(["git", "-C", str(remote), "tag"], capture_output=True, text=True).stdout
    )
    failed = asyncio.run(do_push(session, "no-such-tag"))
    assert failed.type == "tag.push_failed" and failed.exit_code != 0


def with_webhook(session, url) -> RunSession:
    path = session.ws.root / "cockpit.yaml"
    path.write_text(
        path.read_text()
        + f"notify:\n  slack_webhook: {url}\n  release_notes_url: https://docs/1.3.0\n"
    )
    return RunSession(Workspace.open(session.ws.root), session.run_id, session.clock, "ana")


def test_messages_are_the_runbooks_templates_filled(session, webhook):
    live = with_webhook(session, webhook)
    view = release_view(live, "READY")
    assert view.slack.startswith(
        "🚀 PRODUCTION RELEASE - v1.3.0\n\nDeployment Status: ⏳ In progress"
    )
    assert "Features: Customer survey after each job (#131)" in view.slack
    assert "Bug Fixes: Calendar sync drops recurring jobs (#137)" in view.slack
    assert "Health Check: ✅ All systems green" in view.slack
    assert "Release Notes: https://docs/1.3.0" in view.slack
    assert "Rollback Plan: [ready if needed: production-v1.2.0]" in view.slack
    assert view.email.startswith("Subject: Production Release v1.3.0")
    assert "If you encounter any issues, please report immediately." in view.email


def test_slack_post_is_recorded_and_a_failure_is_journaled_not_fatal(session, webhook):
    live = with_webhook(session, webhook)
    sent = asyncio.run(do_post_slack(live, "hello #releases"))
    assert sent.type == "notification.sent"
    assert Recorder.posts == [{"text": "hello #releases"}]
    Recorder.status = 500
    failed = asyncio.run(do_post_slack(live, "again"))
    assert failed.type == "notification.failed" and failed.error.startswith("HTTP 500")
    live.write(failed)
    assert "secretpath" not in live.journal_path.read_text()  # the webhook URL is a credential


def test_report_of_a_run(session):
    session.check("pre-release-gates", "typescript-compilation-passes", note="CI #1")
    session.override("production-deploy", "CAB-88")
    for step in ("pre-deployment-validation", "db-migration"):
        session.write(session.plan_step_start("production-deploy", step, []))
        session.clock.advance(20 * 60 if step == "db-migration" else 60)
        session.write(session.plan_step_finished("production-deploy", step, "done", 0, None, 0))
    session.write(session.plan_decision("fix-forward", "small bug, fix is ready", "maria"))
    session.refresh()
    doc = build(session)
    migration = next(s for s in doc["steps"] if s["step"] == "db-migration")
    assert migration["duration_s"] == 1200 and migration["overrun_s"] == 300
    assert doc["decisions"][0]["commander"] == "maria"
    gates = doc["phases"][0]
    assert gates["ticked"][0]["by"] == "ana" and gates["ticked"][0]["note"] == "CI #1"
    text = markdown(doc)
    assert "| production-deploy | Database Migration | done | 1 | 20m | 15m | 5m |" in text
    assert "**fix-forward**, decided by maria: small bug, fix is ready" in text
    assert "opened early by ana" in text


def test_cli_report_formats(workspace_dir):
    subprocess.run(
        cockpit_cmd("start", "--type", "patch"), cwd=workspace_dir, check=True, capture_output=True
    )
    md = subprocess.run(cockpit_cmd("report"), cwd=workspace_dir, capture_output=True, text=True)
    assert md.returncode == 0 and md.stdout.startswith("# Release report: patch release 1.2.1")
    js = subprocess.run(
        cockpit_cmd("report", "--format", "json"), cwd=workspace_dir, capture_output=True, text=True
    )
    doc = json.loads(js.stdout)
    assert set(doc) >= {"run", "metrics", "steps", "phases", "health", "decisions", "timeline"}


async def open_release(pilot) -> None:
    """Push the release screen and wait until its view (changelog, messages) is loaded."""
    app = pilot.app
    app.push_screen(ReleaseScreen())
    await until(
        pilot,
        lambda: isinstance(app.screen, ReleaseScreen) and app.screen.view is not None,
        "release view loaded",
    )


async def test_release_screen_tags_after_confirmation(session):
    app = CockpitApp(
        session.ws, session, clock=session.clock, follow_interval=0.05, poll_health=False
    )
    async with app.run_test(size=(160, 48)) as pilot:
        await open_release(pilot)
        await pilot.press("T")
        await until(pilot, lambda: isinstance(app.screen, Confirm), "confirmation")
        await pilot.press("y")
        await until(
            pilot,
            lambda: any(e.type == "tag.created" for e in session.state.recent),
            "tag journaled",
        )
        assert "production-v1.3.0" in [t.name for t in git.Repo(session.ws.root).tags]
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, Confirm), "confirm the changelog")
        await pilot.press("y")
        await until(pilot, lambda: (session.ws.root / "CHANGELOG.md").exists(), "changelog written")
    types = [e["type"] for e in read_journal(session.journal_path).events]
    assert "changelog.written" in types


async def test_post_deployment_activities_get_due_times(session):
    from screens.checklist import ChecklistScreen, ChecklistView

    session.override("post-deployment", "deploy done by hand in this test")
    session.override("production-deploy", "test")
    phase = session.ws.runbook.phase("production-deploy")
    for step in phase.steps_for("standard"):
        if step.commands:
            session.write(session.plan_step_start("production-deploy", step.id, []))
            session.write(
                session.plan_step_finished("production-deploy", step.id, "done", 0, None, 1)
            )
    session.refresh()
    session.clock.advance(48 * 60)  # 48 minutes after the deploy ended
    app = CockpitApp(
        session.ws, session, clock=session.clock, follow_interval=0.05, poll_health=False
    )
    async with app.run_test(size=(160, 48)) as pilot:
        app.open_phase("post-deployment")
        await until(pilot, lambda: isinstance(app.screen, ChecklistScreen), "checklist")
        await pilot.pause()
        view = app.screen.query_one(ChecklistView)
        assert "due in 1h12m" in str(view.get_option("section:Immediate (0-2 hours)").prompt)
        session.clock.advance(2 * 3600)
        app.screen.update_state()
        assert "OVERDUE by 48m" in str(view.get_option("section:Immediate (0-2 hours)").prompt)
        assert "due in 21h12m" in str(view.get_option("section:Short-term (2-24 hours)").prompt)
