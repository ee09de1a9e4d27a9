"""Keeping secrets out of everything the cockpit writes or shows.

Owns ``Redactor``: given the values of the environment variables a config names
in ``secrets`` (and the webhook and URL passwords a config holds), it replaces each
occurrence with ``***`` in text and, deeply, in journal events. It also masks the
userinfo of any URL wherever one appears (``http://ops:***@host``), configured or
not, so a ``--env NAME=URL`` password or one a command prints is masked too. The
journal, the step logs and the screens all pass through it.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

MASK = "***"
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^\s/?#@\"'<>]+)@")
_USERINFO_BYTES = re.compile(rb"(?i)\b([a-z][a-z0-9+.-]*://)([^\s/?#@\"'<>]+)@")


def _mask_match(match: re.Match[str]) -> str:
    user, colon, _ = match.group(2).partition(":")
    return f"{match.group(1)}{user}:{MASK}@" if colon else f"{match.group(1)}{MASK}@"


def _mask_match_bytes(match: re.Match[bytes]) -> bytes:
    user, colon, _ = match.group(2).partition(b":")
    return match.group(1) + (user + b":***@" if colon else b"***@")


def mask_userinfo(text: str) -> str:
    """``text`` with the credentials of every URL in it replaced by ``***``."""
    return _USERINFO.sub(_mask_match, text) if "@" in text else text


def mask_userinfo_bytes(data: bytes) -> bytes:
    """``mask_userinfo`` for raw output."""
    return _USERINFO_BYTES.sub(_mask_match_bytes, data) if b"@" in data else data


def url_credentials(url: str) -> list[str]:
    """The password (or lone user token) of a URL, as written and decoded: values to mask."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    secret = parts.password if parts.password is not None else parts.username
    if not secret:
        return []
    return list({secret, unquote(secret)})


class Redactor:
    """Replaces secret values, and the credentials of any URL, with ``***``."""

    def __init__(self, values: list[str] | None = None):
        self.values = sorted({v for v in values or [] if v}, key=len, reverse=True)

    def text(self, text: str) -> str:
        for value in self.values:
            if value in text:
                text = text.replace(value, MASK)
        return mask_userinfo(text)

    def deep(self, data: Any) -> Any:
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, dict):
            return {k: self.deep(v) for k, v in data.items()}
        if isinstance(data, list | tuple):
            return [self.deep(v) for v in data]
        return data
