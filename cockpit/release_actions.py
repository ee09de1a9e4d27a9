"""Release management for a run: the changelog draft, tags, the messages, in one place.

Owns putting together what the release screen (and the CLI) shows and does: the
version and the production tag it follows, the changelog draft, the filled Slack
and e-mail messages, and the journaled actions — writing CHANGELOG.md, creating a
tag, pushing it (a separate ``git push`` command, never implicit), saving and posting
the messages, creating the GitHub release with the changelog section as its notes.
Every action is journaled; a failure is journaled and shown, never fatal.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import date

from cockpit.changelog import Draft, draft, write_changelog
from cockpit.errors import CockpitError, error_words
from cockpit.events import (
    ChangelogWritten,
    Event,
    MessagesSaved,
    NotificationFailed,
    NotificationSent,
    ReleaseCreated,
    ReleaseFailed,
    TagCreated,
    TagPushed,
    TagPushFailed,
)
from cockpit.git_changes import create_tag, push_command, release_tag
from cockpit.notify import (
    email_message,
    facts_for,
    post_slack,
    send_email,
    slack_message,
    write_messages,
)
from cockpit.report import build
from cockpit.session import RunSession
from cockpit.termtext import inert


@dataclass
class ReleaseView:
    """What the release screen shows."""

    version: str
    previous: str | None
    draft: Draft | None
    problem: str | None
    slack: str
    email: str


def release_view(session: RunSession, production_state: str | None) -> ReleaseView:
    """Read the repository and the journal (blocking IO: call it from a thread)."""
    run = session.state.run
    assert run is not None
    try:
        rules = session.ws.versioning  # the run's own range: tagging it never empties it
        changes, problem = draft(session.ws.root, run.version, date.today(), rules, run), None
    except CockpitError as exc:
        changes, problem = None, str(exc)
    facts = facts_for(
        build(session),
        changes or Draft(run.version, date.today()),
        production_state,
        session.ws.config.notify.release_notes_url,
        session.ws.versioning.tag_for,
    )
    return ReleaseView(
        run.version,
        run.previous_version,
        changes,
        problem,
        slack_message(facts),
        email_message(facts),
    )


def do_write_changelog(session: RunSession, text: str) -> Event:
    path = write_changelog(session.ws.root, text)
    return ChangelogWritten(path=str(path), version=session.state.run.version)


def do_tag(session: RunSession, kind: str) -> Event:
    name = release_tag(kind, session.state.run.version, session.ws.versioning)
    commit = create_tag(session.ws.root, name)
    return TagCreated(tag=name, commit=commit)


async def do_push(session: RunSession, name: str, timeout: float = 60.0) -> Event:
    """``git push origin TAG`` as a real subprocess; the outcome is journaled either way."""
    command = push_command(name)
    try:
        proc = await asyncio.create_subprocess_exec(
            *command,
            cwd=session.ws.root,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        code, output = proc.returncode, out.decode("utf-8", "replace")[-2000:]
    except TimeoutError:
        proc.kill()
        code, output = None, f"timed out after {timeout:g} s"
    except OSError as exc:
        code, output = None, f"could not run git: {exc.strerror or exc}"
    outcome = TagPushed if code == 0 else TagPushFailed
    return outcome(
        tag=name,
        command=" ".join(command),
        exit_code=code,
        output=session.redactor.text(output.strip()),
    )


def do_save_messages(session: RunSession, view: ReleaseView) -> Event:
    paths = write_messages(session.dir, view.slack, view.email, session.ws.state_dir)
    return MessagesSaved(files=[str(p) for p in paths])


async def do_send_email(session: RunSession, text: str) -> Event:
    """Send the stakeholder update through ``notify.email``; journaled either way."""
    import asyncio
    import os

    settings = session.ws.config.notify.email
    if settings is None:
        raise CockpitError("no notify.email in cockpit.yaml")
    password = os.environ.get(settings.password_env) if settings.password_env else None
    if settings.user and settings.password_env and not password:
        raise CockpitError(f"${settings.password_env} is not set: the relay's password")
    error = await asyncio.to_thread(send_email, settings, text, password)
    if error:
        return NotificationFailed(channel="email", error=session.redactor.text(error))
    return NotificationSent(channel="email", to=list(settings.to))


async def do_post_slack(session: RunSession, text: str) -> Event:
    url = session.ws.config.notify.slack_webhook
    if not url:
        raise CockpitError("no notify.slack_webhook in cockpit.yaml")
    error = await post_slack(url, text)
    if error:
        return NotificationFailed(channel="slack", error=session.redactor.text(error))
    return NotificationSent(channel="slack")


def release_name(session: RunSession) -> str:
    """The production tag the GitHub release is for (``production-v1.3.0``)."""
    return session.ws.versioning.tag_for(session.state.run.version)


async def do_create_release(session: RunSession, notes: str) -> Event:
    """The GitHub release of the run's production tag (``gh release create``), the
    changelog section as its notes, at the release commit (the tag's when the workspace
    has it, else HEAD; GitHub creates the tag there when it lacks it). Journaled either way:
    ``release.created`` with its URL, or ``release.failed`` in words."""
    from cockpit.github import GitHubError, connect_to
    from cockpit.verify import release_commit

    settings = session.ws.config.github
    if settings is None:
        raise CockpitError("no github: in cockpit.yaml (repo and token_env)")
    if not notes.strip():
        raise CockpitError("the changelog draft is empty: the release needs its notes")
    tag = release_name(session)
    commit, _ = await asyncio.to_thread(release_commit, session)
    gh = connect_to(settings)
    try:
        title = f"Release v{session.state.run.version}"  # the runbook's --title
        release = await asyncio.wait_for(gh.create_release(tag, title, notes, commit), 60.0)
    except GitHubError as exc:
        return ReleaseFailed(tag=tag, error=inert(session.redactor.text(str(exc))))
    except TimeoutError:
        return ReleaseFailed(tag=tag, error="GitHub did not answer within 60 s")
    except Exception as exc:  # fail closed: said, journaled, never a traceback
        words = f"could not ask GitHub: {error_words(exc)}"
        return ReleaseFailed(tag=tag, error=session.redactor.text(words))
    finally:
        await gh.aclose()
    url = str(release.get("html_url") or "")
    return ReleaseCreated(tag=tag, url=inert(session.redactor.text(url)), commit=commit)
