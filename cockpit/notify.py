"""The runbook's release notifications: the Slack message and the stakeholder e-mail.

Owns filling the runbook's two templates with the run's facts (version, deployment
time, features and fixes from the changelog draft, production's health, the
rollback plan), writing them to ``runs/ID/messages/`` (owner-only), and posting the
Slack one to a Slack-compatible webhook with httpx. A failed post is returned in
words (and journaled by the caller), never raised.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from cockpit.changelog import Draft
from cockpit.clock import parse_iso
from cockpit.config import Email
from cockpit.errors import error_words
from cockpit.probe import describe_error
from cockpit.safefiles import private_dir, replace_file
from cockpit.versions import DEFAULT


@dataclass
class Facts:
    """What the templates need to know about the release."""

    version: str
    status: str
    deployed_at: str | None
    features: list[str]
    fixes: list[str]
    health: str
    monitoring: str
    release_notes: str
    rollback_plan: str


def facts_for(
    report: dict,
    draft: Draft,
    production_state: str | None,
    notes_url: str | None,
    tag_for: Callable[[str], str] = DEFAULT.tag_for,
) -> Facts:
    """Facts from the release report and the changelog draft; ``tag_for`` names the
    production tag of a version (config ``versioning.tag``) for the rollback plan.
    ``production_state`` None or UNKNOWN: production's health was not measured (said so,
    never "normal"; the runbook's deploy environment is named, whatever it is called); the
    report's ``deployment_succeeded`` null (not yet) is not a success."""
    metrics, run = report["metrics"], report["run"]
    deploy = metrics.get("deploy_phase")
    deploy_steps = [s for s in report["steps"] if deploy and s["phase"] == deploy]
    criteria = metrics["rollback_criteria_met"]
    if metrics["rolled_back"]:
        status = "❌ Rolled back"
    elif metrics["deployment_succeeded"] and criteria:
        status = "⚠️ Deployed, rollback criteria met"  # never "successful" while one is met
    elif metrics["deployment_succeeded"]:
        status = "✅ Successful"
    elif any(s["state"] == "failed" for s in deploy_steps):
        status = "⚠️ Failed, being handled"
    else:
        status = "⏳ In progress"
    ends = [e["ts"] for e in report["timeline"] if e["type"] == "step.finished"]
    deployed = parse_iso(ends[-1]).strftime("%Y-%m-%d %H:%M UTC") if ends else None
    env = metrics.get("deploy_environment") or "production"  # the runbook's deploy target
    if production_state == "UNKNOWN":  # never answered, or its poller failed: not measured
        production_state = None
    if production_state not in (None, "READY"):
        health = f"⚠️ {env} {production_state}"
    elif criteria:
        health = f"⚠️ {env} {production_state or 'not measured'}, rollback criteria met"
    else:
        health = "✅ All systems green" if production_state else "not measured"
    # a fact like the health check: "normal" only when production was measured READY
    if criteria:
        monitoring = "⚠️ " + "; ".join(criteria)
    elif production_state is None:
        monitoring = "not measured"
    elif production_state == "READY":
        monitoring = "📊 No alerts, performance normal"
    else:
        monitoring = f"⚠️ {env} {production_state}"
    previous = run.get("previous_version")
    return Facts(
        version=run["version"],
        status=status,
        deployed_at=deployed,
        features=draft.entries["Added"],
        fixes=draft.entries["Fixed"],
        health=health,
        monitoring=monitoring,
        release_notes=notes_url or "[link]",
        rollback_plan=f"[ready if needed: {tag_for(previous)}]"
        if previous
        else "[ready if needed]",
    )


def _list(items: list[str], empty: str = "none") -> str:
    return ", ".join(items) if items else empty


def slack_message(f: Facts) -> str:
    """The runbook's "Internal Team (Slack #releases)" template, filled."""
    return (
        f"🚀 PRODUCTION RELEASE - v{f.version}\n\n"
        f"Deployment Status: {f.status}\n"
        f"Deployment Time: {f.deployed_at or 'not deployed yet'}\n"
        f"Features: {_list(f.features)}\n"
        f"Bug Fixes: {_list(f.fixes)}\n\n"
        f"Health Check: {f.health}\n"
        f"Monitoring: {f.monitoring}\n\n"
        f"Release Notes: {f.release_notes}\n"
        f"Rollback Plan: {f.rollback_plan}\n"
    )


def email_message(f: Facts) -> str:
    """The runbook's "Stakeholder Update (Email)" template, filled."""
    features = "\n".join(f"- {x}" for x in f.features) or "- none in this release"
    fixes = "\n".join(f"- {x}" for x in f.fixes) or "- none in this release"
    outcome = "Successfully Deployed" if f.status.startswith("✅") else f.status.split(" ", 1)[-1]
    body = "successfully deployed" if f.status.startswith("✅") else f"a status of: {f.status}"
    lines = [
        f"Subject: Production Release v{f.version} - {outcome}",
        "",
        "Team,",
        "",
        f"We have {body} release v{f.version} to production."
        if f.status.startswith("✅")
        else f"Release v{f.version} to production has {body}.",
        "",
        "New Features:",
        features,
        "",
        "Bug Fixes:",
        fixes,
        "",
        f"System Health: {f.health.lstrip('✅⚠️ ')}.",
        "",
        f"Full release notes: {f.release_notes}",
        "",
        "If you encounter any issues, please report immediately.",
        "",
        "Thanks,",
        "Development Team",
    ]
    return "\n".join(lines) + "\n"


def write_messages(run_dir: Path, slack: str, email: str, anchor: Path | None = None) -> list[Path]:
    """Save the filled messages beside the journal (owner-only, never through a link;
    ``anchor``: the state folder they are checked from, default the run's folder)."""
    anchor = anchor or run_dir
    folder = private_dir(run_dir / "messages", anchor)
    out = []
    for name, text in (("slack.txt", slack), ("email.txt", email)):
        path = folder / name
        replace_file(path, text.encode(), anchor)
        out.append(path)
    return out


async def post_slack(url: str, text: str, timeout: float = 10.0) -> str | None:
    """POST the message; None when it was accepted, else the reason in words."""
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            response = await client.post(url, json={"text": text})
    except (httpx.HTTPError, OSError) as exc:
        return describe_error(exc, url, timeout)
    if not 200 <= response.status_code < 300:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    return None


def email_parts(text: str) -> tuple[str, str]:
    """(subject, body) of a filled e-mail template (its first line is ``Subject: …``)."""
    first, _, rest = text.partition("\n")
    if first.lower().startswith("subject:"):
        return first.split(":", 1)[1].strip(), rest.lstrip("\n")
    return "Release update", text


def send_email(settings: Email, text: str, password: str | None) -> str | None:
    """Send the message through the configured SMTP relay (STARTTLS, TLS or plain); None
    when the relay accepted it for every recipient, else the reason in words. Blocking:
    call it in a thread."""
    import smtplib
    import ssl
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    subject, body = email_parts(text)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.to)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=settings.sender.partition("@")[2])
    message.set_content(body)
    where = f"{settings.host}:{settings.port}"
    context = ssl.create_default_context(cafile=settings.ca_file)
    try:
        if settings.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with smtp:
            if settings.security == "starttls":
                smtp.starttls(context=context)
            if settings.user:
                smtp.login(settings.user, password or "")
            refused = smtp.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        return f"{where} refused the login of {settings.user!r}: {_smtp_words(exc)}"
    except smtplib.SMTPRecipientsRefused as exc:
        return f"{where} refused every recipient: {', '.join(exc.recipients)}"
    except smtplib.SMTPNotSupportedError as exc:
        return f"{where} does not offer {'STARTTLS' if 'STARTTLS' in str(exc) else 'that'}: {exc}"
    except smtplib.SMTPResponseException as exc:
        return f"{where} answered {_smtp_words(exc)}"
    except ssl.SSLError as exc:
        return f"{where}: TLS failed ({exc.reason or exc})"
    except (smtplib.SMTPException, OSError) as exc:
        return f"{where}: {error_words(exc)}"
    if refused:
        return f"{where} accepted the message but refused: {', '.join(refused)}"
    return None


def _smtp_words(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else ""
    return f"{exc.smtp_code} {text}".strip()
