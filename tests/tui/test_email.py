"""The stakeholder e-mail, sent: a real SMTP server on loopback (aiosmtpd) receives the
runbook's filled template — in the clear with a login, through STARTTLS and through
implicit TLS with a certificate made for the test — and every failure (a refused login, a
refused recipient, nothing listening) is journaled in words, the password never written."""

from __future__ import annotations

import asyncio
import email
import shutil
import socket
import ssl
import subprocess

import pytest
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from cockpit.journal import read_journal
from cockpit.release_actions import do_send_email, release_view
from cockpit.session import RunSession
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.dialogs import Confirm
from tests.helpers import cockpit_cmd, until
from tests.tui.test_release import open_release

PASSWORD = "s3cret-relay-pass"


class Inbox:
    """What the SMTP server received: (envelope sender, recipients, parsed message)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.Message]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@nowhere.example"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def certificate(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the test's certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
        ],
        check=True,
        capture_output=True,
    )
    return key, cert


def relay(inbox: Inbox, **options) -> Controller:
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=authenticate,
        auth_require_tls=False,
        **options,
    )
    controller.start()
    return controller


def configured(session, port: int, **email_settings) -> RunSession:
    path = session.ws.root / "cockpit.yaml"
    config = yaml.safe_load(path.read_text())
    config["notify"] = {
        "email": {
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "from": "releases@dirt-free-crm.com",
            "to": ["stakeholders@dirt-free-crm.com", "ops@dirt-free-crm.com"],
            **email_settings,
        }
    }
    path.write_text(yaml.safe_dump(config))
    return RunSession(Workspace.open(session.ws.root), session.run_id, session.clock, "ana")


def test_the_update_arrives_with_a_login(session, monkeypatch):
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    inbox = Inbox()
    server = relay(inbox)
    try:
        live = configured(session, server.port, user="releases", password_env="SMTP_PASSWORD")
        text = release_view(live, "READY").email
        sent = asyncio.run(do_send_email(live, text))
        live.write(sent)
    finally:
        server.stop()
    assert sent.type == "notification.sent" and sent.to == [
        "stakeholders@dirt-free-crm.com",
        "ops@dirt-free-crm.com",
    ]
    ((sender, recipients, message),) = inbox.messages
    assert sender == "releases@dirt-free-crm.com"
    assert recipients == ["stakeholders@dirt-free-crm.com", "ops@dirt-free-crm.com"]
    assert message["Subject"].startswith("Production Release v1.3.0")
    assert "Subject:" not in message.get_payload()
    assert "If you encounter any issues, please report immediately." in message.get_payload()
    assert PASSWORD not in live.journal_path.read_text()
    words = [e["type"] for e in read_journal(live.journal_path).events]
    assert words[-1] == "notification.sent"


def test_failures_are_said_and_journaled(session, monkeypatch):
    monkeypatch.setenv("SMTP_PASSWORD", "wrong-" + PASSWORD)
    inbox = Inbox()
    server = relay(inbox)
    try:
        live = configured(session, server.port, user="releases", password_env="SMTP_PASSWORD")
        refused = asyncio.run(do_send_email(live, "Subject: x\n\nbody\n"))
        assert refused.type == "notification.failed"
        assert "refused the login of 'releases'" in refused.error and "535" in refused.error
        monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
        nobody = configured(
            session,
            server.port,
            user="releases",
            password_env="SMTP_PASSWORD",
            to=["ghost@nowhere.example"],
        )
        lost = asyncio.run(do_send_email(nobody, "Subject: x\n\nbody\n"))
        assert lost.type == "notification.failed"
        assert "refused every recipient: ghost@nowhere.example" in lost.error
        nobody.write(lost)
    finally:
        server.stop()
    assert inbox.messages == []
    closed = configured(session, free_port())
    down = asyncio.run(do_send_email(closed, "Subject: x\n\nbody\n"))
    assert down.type == "notification.failed" and "refused" in down.error.lower()
    assert PASSWORD not in session.journal_path.read_text()


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_the_update_goes_through_tls(session, certificate, security):
    key, cert = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = Inbox()
    options = {"tls_context": context, "require_starttls": True}
    if security == "tls":
        options = {"ssl_context": context}
    server = relay(inbox, **options)
    try:
        live = configured(session, server.port, security=security, ca_file=str(cert))
        sent = asyncio.run(do_send_email(live, "Subject: Release 1.3.0\n\nDeployed.\n"))
        untrusted = configured(session, server.port, security=security)
        failed = asyncio.run(do_send_email(untrusted, "Subject: x\n\nbody\n"))
    finally:
        server.stop()
    assert sent.type == "notification.sent", sent
    assert [m["Subject"] for _, _, m in inbox.messages] == ["Release 1.3.0"]
    assert failed.type == "notification.failed" and "TLS failed" in failed.error


def test_a_bad_email_config_is_file_and_line(session):
    path = session.ws.root / "cockpit.yaml"
    config = yaml.safe_load(path.read_text())
    config["notify"] = {"email": {"host": "smtp example", "from": "releases", "to": []}}
    path.write_text(yaml.safe_dump(config))
    out = subprocess.run(
        cockpit_cmd("--workspace", str(session.ws.root), "validate"),
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert "'smtp example' is not a host name" in out.stderr
    assert "'releases' is not an e-mail address" in out.stderr
    assert "cockpit.yaml:" in out.stderr and "Traceback" not in out.stderr


async def test_the_release_screen_sends_after_confirmation(session, monkeypatch):
    inbox = Inbox()
    server = relay(inbox)
    try:
        live = configured(session, server.port)
        app = CockpitApp(live.ws, live, clock=live.clock, follow_interval=0.05, poll_health=False)
        async with app.run_test(size=(160, 48)) as pilot:
            await open_release(pilot)
            await pilot.press("E")
            await until(pilot, lambda: isinstance(app.screen, Confirm), "confirmation")
            assert "stakeholders@dirt-free-crm.com" in app.screen.detail
            await pilot.press("y")
            await until(pilot, lambda: len(inbox.messages) == 1, "the e-mail arrived")
            await until(
                pilot,
                lambda: any(e.type == "notification.sent" for e in live.state.recent),
                "sending journaled",
            )
    finally:
        server.stop()
