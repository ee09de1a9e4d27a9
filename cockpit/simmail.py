"""The demo's mail relay: a real SMTP server on loopback that keeps what it receives.

Owns the stand-in for the team's SMTP relay that ``cockpit demo`` points ``notify.email``
at (aiosmtpd, plain SMTP on 127.0.0.1 and a free port, no login): every message it accepts
is kept whole as ``NNN.eml`` in its mailbox folder and listed in ``messages``, so the
stakeholder e-mail sent from the release screen really arrives somewhere a person can open.
It never relays anything further.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class _Mailbox:
    """aiosmtpd's handler: each message's bytes into the folder, in order."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content
        raw = data if isinstance(data, bytes) else str(data).encode()
        if self.folder is None:
            return "451 4.3.0 the demo's mailbox is not set up yet"
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            number = len(self.messages) + 1
            while (self.folder / f"{number:03d}.eml").exists():  # a reopened demo's mail stays
                number += 1
            path = self.folder / f"{number:03d}.eml"
            path.write_bytes(raw)
            parsed = email.message_from_bytes(raw, policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            self.messages.append(parsed)
        return f"250 kept as {path.name}"


class SimMail:
    """The relay; ``host``/``port`` are what config ``notify.email`` points at."""

    def __init__(self, folder: Path | None = None) -> None:
        self._box = _Mailbox(folder)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self._controller = Controller(self._box, hostname="127.0.0.1", port=port)
        self.host, self.port = "127.0.0.1", port

    @property
    def folder(self) -> Path | None:
        """Where each message is kept (``NNN.eml``; None: not yet set, mail is refused)."""
        return self._box.folder

    @folder.setter
    def folder(self, path: Path | None) -> None:
        self._box.folder = path

    @property
    def messages(self) -> list[EmailMessage]:
        """What arrived, oldest first."""
        return list(self._box.messages)

    def start(self) -> SimMail:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SimMail:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
