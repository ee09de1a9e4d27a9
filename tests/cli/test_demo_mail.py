"""The demo's stakeholder e-mail arrives: the sandbox's ``notify.email`` points at the
demo's loopback relay (``cockpit.simmail``, a real SMTP server), and the update sent as the
release screen's ``E`` sends it is kept whole in the sandbox's mail folder."""

from __future__ import annotations

import asyncio
import email
import email.policy

from cockpit.demo_sandbox import DEMO_RECIPIENTS, MAIL_DIR, make_sandbox
from cockpit.release_actions import do_send_email, release_view
from cockpit.session import RunSession
from cockpit.simmail import SimMail
from cockpit.simservice import SimService
from cockpit.workspace import Workspace


def test_the_demo_update_arrives_in_the_sandbox_mail_folder(tmp_path):
    with SimService() as service, SimMail() as mail:
        root = make_sandbox(tmp_path, service=service, mail=mail)
        session = RunSession.start(Workspace.open(root), "standard", operator="demo")
        try:
            sent = asyncio.run(do_send_email(session, release_view(session, "READY").email))
        finally:
            session.close()
    assert sent.type == "notification.sent", getattr(sent, "error", "")
    assert sent.to == list(DEMO_RECIPIENTS)
    (kept,) = sorted((root / MAIL_DIR).glob("*.eml"))
    message = email.message_from_bytes(kept.read_bytes(), policy=email.policy.default)
    assert message["Subject"].startswith("Production Release v1.3.0")
    assert "If you encounter any issues, please report immediately." in message.get_content()
    assert [m["Subject"] for m in mail.messages] == [message["Subject"]]


def test_a_relay_without_its_mailbox_refuses_in_words(tmp_path):
    with SimService() as service, SimMail() as mail:
        root = make_sandbox(tmp_path, service=service, mail=mail)
        mail.folder = None
        session = RunSession.start(Workspace.open(root), "standard", operator="demo")
        try:
            sent = asyncio.run(do_send_email(session, release_view(session, "READY").email))
        finally:
            session.close()
    assert sent.type == "notification.failed"
    assert "mailbox is not set up" in sent.error
