"""Probing ready endpoints and judging what the answers mean.

Owns one probe of ``/api/ready`` (httpx, per-request timeout and an overall deadline,
body read up to a cap so a 20 MB answer or a trickling server costs nothing), the
error in words ("timed out after 3 s", "connection refused", "DNS lookup failed for
…"), the ready-document parsing (``status`` and per-dependency ``checks``; a body nesting
deeper than ``MAX_DEPTH`` is refused before the parser recurses), and the state of one
answer: READY, DEGRADED, DOWN — or UNKNOWN when the probe itself could not be made (a
URL no request can be built from, anything unexpected), with the error in words: a
probe never raises. The rolling window and states over time live in ``monitor``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import socket
import ssl
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

import certifi
import httpx

from cockpit.clock import Clock, iso
from cockpit.errors import error_words
from cockpit.secrets import mask_userinfo
from cockpit.termtext import inert, inert_multiline, plain_values

READY, DEGRADED, DOWN, UNKNOWN = "READY", "DEGRADED", "DOWN", "UNKNOWN"
BODY_CAP = 64 * 1024
MAX_DEPTH = 64
"""Deepest nesting of arrays and objects a ready body may have (a real one has 3 or 4)."""
OK_WORDS = {"ok", "ready", "healthy", "pass", "passing", "up", "green", "true"}
EXCERPT = 200


@dataclass
class Sample:
    """One probe's answer."""

    env: str
    url: str
    at: str
    state: str
    http_status: int | None = None
    latency_ms: float | None = None
    error: str | None = None
    body_status: str | None = None
    dependencies: dict[str, str] = field(default_factory=dict)
    """The ready body's per-dependency answers (its ``checks`` object), e.g. ``{"db": "ok"}``."""
    excerpt: str = ""
    reason: str | None = None
    """Why the state is not READY, in words (the error, a failing dependency, an HTML body …)."""

    def __post_init__(self) -> None:
        # a sample is shown, printed and journaled: never with the URL's credentials
        self.url = mask_userinfo(self.url)
        self.error = mask_userinfo(self.error) if self.error else self.error
        self.reason = mask_userinfo(self.reason) if self.reason else self.reason

    def evidence(self) -> dict[str, Any]:
        """What a verified item keeps: state, code, latency, dependencies, a body excerpt.

        The dependencies are kept under ``checks``, the ready document's own name for them
        (and the journal's since its first version)."""
        out = {k: v for k, v in asdict(self).items() if v not in (None, {}, "")}
        out.pop("env", None)
        if "dependencies" in out:
            out["checks"] = out.pop("dependencies")
        return out


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc``, what caused it, and the members of any exception group among them."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop(0)
        if current is None or any(current is e for e in seen):
            continue
        seen.append(current)
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
        todo.append(current.__cause__ or current.__context__)
    return seen


def describe_error(exc: BaseException, url: str, timeout: float) -> str:
    """An HTTP failure in words, naming what went wrong (never a class name alone)."""
    host = urlparse(url).hostname or url
    chain = _chain(exc)
    if any(isinstance(e, httpx.TimeoutException | TimeoutError) for e in chain):
        return f"timed out after {timeout:g} s"
    for e in chain:
        if isinstance(e, ssl.SSLCertVerificationError):
            return f"TLS: certificate {e.verify_message or 'verification failed'}"
        if isinstance(e, ssl.SSLError):
            return f"TLS: {e.reason or e}"
        if isinstance(e, socket.gaierror):
            return f"DNS lookup failed for {host}"
        if isinstance(e, ConnectionRefusedError):
            return "connection refused"
        if isinstance(e, ConnectionResetError | BrokenPipeError):
            return "connection reset"
    if any(isinstance(e, httpx.RemoteProtocolError | httpx.LocalProtocolError) for e in chain):
        detail = str(chain[0]).lower()
        if "disconnected without" in detail or "peer closed" in detail:
            return "connection reset"
        return "not an HTTP answer (protocol error)"
    text = " ".join(str(e) for e in chain).lower()
    if (
        "name or service not known" in text
        or "nodename nor servname" in text
        or "getaddrinfo" in text
    ):
        return f"DNS lookup failed for {host}"
    if "refused" in text:
        return "connection refused"
    if "reset" in text or "disconnected without" in text or "peer closed" in text:
        return "connection reset"
    if "certificate" in text:
        return "TLS: certificate verification failed"
    first = chain[0]
    return str(first) or type(first).__name__


def _check_word(value: Any) -> str:
    if isinstance(value, bool):
        return "ok" if value else "fail"
    if isinstance(value, dict):
        return str(value.get("status", value.get("state", "unknown")))
    return str(value)


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_NESTING = re.compile(rb"[\[\]{}]")


def nests_deeper(body: bytes, limit: int = MAX_DEPTH) -> bool:
    """True when the arrays and objects in ``body`` nest deeper than ``limit``: counted
    without recursing (brackets inside JSON strings do not count), stopping at ``limit``."""
    depth = 0
    for match in _JSON_NESTING.finditer(_JSON_STRING.sub(b'""', body)):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def judge(
    status: int, body: bytes, truncated: bool
) -> tuple[str, str | None, dict[str, str], str | None]:
    """State of a 2xx/other answer from its body: (state, body status, checks, reason)."""
    if not 200 <= status < 300:
        return DOWN, None, {}, f"HTTP {status}"
    if truncated:
        return DEGRADED, None, {}, f"body larger than {BODY_CAP // 1024} KiB: not a ready document"
    if not body.strip():
        return DEGRADED, None, {}, "2xx but the body is empty, not the ready document"
    if nests_deeper(body):
        return DEGRADED, None, {}, f"ready body nests deeper than {MAX_DEPTH} levels: refused"
    try:
        doc = json.loads(body)
    except ValueError:
        kind = "an HTML page" if body.lstrip()[:1] == b"<" else "not JSON"
        return DEGRADED, None, {}, f"2xx but the body is {kind}, not the ready document"
    if not isinstance(doc, dict):
        return DEGRADED, None, {}, "2xx but the body is not a JSON object"
    raw_checks = doc.get("checks") or {}
    checks = (
        {str(k): _check_word(v) for k, v in raw_checks.items()}
        if isinstance(raw_checks, dict)
        else {}
    )
    body_status = str(doc["status"]) if "status" in doc else None
    failing = [k for k, v in checks.items() if v.lower() not in OK_WORDS]
    if failing:
        return (
            DEGRADED,
            body_status,
            checks,
            "dependency failing: " + ", ".join(f"{k}={checks[k]}" for k in failing),
        )
    if body_status is not None and body_status.lower() not in OK_WORDS:
        return DEGRADED, body_status, checks, f"body says {body_status!r}"
    if body_status is None and not checks:
        return DEGRADED, None, checks, "2xx but the JSON has neither 'status' nor 'checks'"
    return READY, body_status, checks, None


async def probe(
    client: httpx.AsyncClient, env: str, url: str, timeout: float, clock: Clock | None = None
) -> Sample:
    """GET ``url`` once; never raises: network trouble is a DOWN sample, anything else that
    goes wrong (a URL no request can be built from, an answer that cannot be judged) an
    UNKNOWN one with the error in words."""
    clock = clock or Clock()
    at: datetime = clock.now()
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            async with client.stream("GET", url, timeout=timeout) as response:
                chunks: list[bytes] = []
                size = 0
                truncated = False
                async for chunk in response.aiter_raw():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > BODY_CAP:
                        truncated = True
                        break
                body = b"".join(chunks)[:BODY_CAP]
                status = response.status_code
    except Exception as exc:  # network trouble is DOWN; anything else UNKNOWN, in words
        return failed_sample(env, url, exc, timeout, at, time.perf_counter() - started)
    latency = (time.perf_counter() - started) * 1000
    try:
        # what the endpoint said is text from outside: plain text only, whatever it held
        state, body_status, checks, reason = plain_values(judge(status, body, truncated))
    except Exception as exc:  # fail closed: an answer that cannot be judged is not READY
        return failed_sample(env, url, exc, timeout, at, time.perf_counter() - started)
    excerpt = inert_multiline(body[:EXCERPT].decode("utf-8", "replace"))
    return Sample(
        env,
        url,
        iso(at),
        state,
        http_status=status,
        latency_ms=round(latency, 1),
        error=reason if state == DOWN else None,
        body_status=body_status,
        dependencies=checks,
        excerpt=excerpt,
        reason=reason,
    )


NETWORK_ERRORS = (httpx.HTTPError, OSError, TimeoutError, ssl.SSLError)


def failed_sample(
    env: str, url: str, exc: BaseException, timeout: float, at: datetime, elapsed_s: float = 0.0
) -> Sample:
    """A probe that got no judgeable answer: DOWN for network trouble (anywhere in ``exc``'s
    chain or group), UNKNOWN with the error in words for anything else (a URL no request can
    be made to, a bug) — never READY, never raised."""
    latency = round(elapsed_s * 1000, 1)
    if any(isinstance(e, NETWORK_ERRORS) for e in _chain(exc)):
        error = inert(describe_error(exc, url, timeout))  # may quote the server
        return Sample(env, url, iso(at), DOWN, latency_ms=latency, error=error, reason=error)
    error = inert(f"the probe failed: {error_words(exc)}")
    return Sample(env, url, iso(at), UNKNOWN, latency_ms=latency, error=error, reason=error)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every client (building one reads the CA bundle: slow)."""
    return ssl.create_default_context(cafile=certifi.where())


def make_client(timeout: float) -> httpx.AsyncClient:
    """One client per environment: no redirects followed, certificates verified."""
    return httpx.AsyncClient(
        verify=tls_context(),
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        headers={"User-Agent": "release-cockpit", "Accept": "application/json"},
        limits=httpx.Limits(max_connections=2, max_keepalive_connections=1),
    )


async def probe_once(env: str, url: str, timeout: float, clock: Clock | None = None) -> Sample:
    """A single probe with its own client (item verification, a step's ``health:``); like
    ``probe`` it never raises."""
    at = (clock or Clock()).now()
    try:
        async with make_client(timeout) as client:
            return await probe(client, env, url, timeout, clock)
    except Exception as exc:  # the client itself (its TLS context) could not be made
        return failed_sample(env, url, exc, timeout, at)
