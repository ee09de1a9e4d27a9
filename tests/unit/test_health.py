"""Health probing against real servers on loopback: up, slow, down, flapping, resetting,
hanging, answering HTML or 20 MB, refusing, bad TLS. No mocks of httpx."""

from __future__ import annotations

import asyncio
import http.server
import json
import socket
import ssl
import subprocess
import threading
from datetime import UTC, datetime, timedelta

import pytest

from cockpit.clock import FrozenClock, iso
from cockpit.config import HealthSettings
from cockpit.monitor import (
    DOWN_SIGNAL,
    LATENCY_SIGNAL,
    EnvHealth,
    HealthMonitor,
    baseline_of,
    percentile,
    rollback_signal,
)
from cockpit.probe import DEGRADED, DOWN, READY, UNKNOWN, Sample, describe_error, judge, probe_once
from cockpit.simservice import SimService


@pytest.fixture
def service():
    with SimService(latency_s=0.01) as svc:
        yield svc


def ready_url(service, env="production"):
    return service.url(env) + "/api/ready"


async def probe_mode(service, mode, timeout=2.0):
    service.set_mode("production", mode)
    return await probe_once("production", ready_url(service), timeout)


async def test_healthy_is_ready_with_checks(service):
    sample = await probe_mode(service, "healthy")
    assert (sample.state, sample.http_status, sample.error) == (READY, 200, None)
    assert sample.dependencies == {"db": "ok", "redis": "ok", "sms": "ok", "email": "ok"}
    assert sample.latency_ms > 0


async def test_failing_dependency_is_degraded(service):
    sample = await probe_mode(service, "degraded")
    assert sample.state == DEGRADED
    assert sample.reason == "dependency failing: sms=fail"
    assert sample.body_status == "degraded"


async def test_503_is_down(service):
    sample = await probe_mode(service, "down")
    assert (sample.state, sample.http_status, sample.reason) == (DOWN, 503, "HTTP 503")


async def test_reset_is_down_in_words(service):
    sample = await probe_mode(service, "reset")
    assert (sample.state, sample.error) == (DOWN, "connection reset")


async def test_hang_is_a_timeout(service):
    sample = await probe_mode(service, "hang", timeout=0.5)
    assert (sample.state, sample.error) == (DOWN, "timed out after 0.5 s")


async def test_slow_answer_past_the_timeout_is_a_timeout(service):
    service.set_latency(0.05)  # slow mode: 1.2-2.0 s
    sample = await probe_mode(service, "slow", timeout=0.5)
    assert (sample.state, sample.error) == (DOWN, "timed out after 0.5 s")


async def test_garbage_bytes_are_down_in_words(service):
    sample = await probe_mode(service, "garbage")
    assert (sample.state, sample.error) == (DOWN, "not an HTTP answer (protocol error)")


async def test_html_page_is_not_ready(service):
    sample = await probe_mode(service, "html")
    assert sample.state == DEGRADED
    assert "HTML page" in sample.reason
    assert "nginx" in sample.excerpt


async def test_20mb_body_is_capped_not_read(service):
    sample = await probe_mode(service, "huge", timeout=5.0)
    assert sample.state == DEGRADED
    assert "larger than 64 KiB" in sample.reason
    assert len(sample.excerpt) <= 200


async def test_refused_port_is_down_in_words():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sample = await probe_once("production", f"http://127.0.0.1:{port}/api/ready", 1.0)
    assert (sample.state, sample.error) == (DOWN, "connection refused")


async def test_self_signed_tls_is_down_with_the_certificate_reason(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ],
        check=True,
        capture_output=True,
    )
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"https://127.0.0.1:{server.server_address[1]}/api/ready"
        sample = await probe_once("production", url, 2.0)
    finally:
        server.shutdown()
        server.server_close()
    assert sample.state == DOWN
    assert sample.error.startswith("TLS: certificate")
    assert "self-signed" in sample.error or "self signed" in sample.error


def test_dns_failure_is_named():
    try:
        raise OSError("connect failed") from socket.gaierror(-2, "Name or service not known")
    except OSError as exc:
        assert (
            describe_error(exc, "https://nowhere.invalid/api/ready", 3)
            == "DNS lookup failed for nowhere.invalid"
        )


@pytest.mark.parametrize(
    ("status", "body", "state", "reason"),
    [
        (200, b"", DEGRADED, "2xx but the body is empty, not the ready document"),
        (200, b'{"status":"ok"}', READY, None),
        (200, b'{"checks":{"db":{"status":"ok"},"cache":true}}', READY, None),
        (200, b'{"status":"degraded","checks":{"db":"ok"}}', DEGRADED, "body says 'degraded'"),
        (200, b"OK", DEGRADED, "2xx but the body is not JSON, not the ready document"),
        (200, b"[1,2]", DEGRADED, "2xx but the body is not a JSON object"),
        (200, b"{}", DEGRADED, "2xx but the JSON has neither 'status' nor 'checks'"),
        (204, b"", DEGRADED, "2xx but the body is empty, not the ready document"),
        (500, b'{"status":"ok"}', DOWN, "HTTP 500"),
        (301, b"", DOWN, "HTTP 301"),
    ],
)
def test_judging_bodies(status, body, state, reason):
    assert judge(status, body, truncated=False)[0::3] == (state, reason)


def make_sample(at, state=READY, ms=50.0, status=200, error=None, reason=None):
    return Sample("production", "u", iso(at), state, status, ms, error=error, reason=reason)


def test_window_statistics_and_state_changes():
    t0 = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
    env = EnvHealth("production", "u", window=5, p95_budget_ms=800)
    assert env.state == UNKNOWN
    assert env.add(make_sample(t0, ms=40)) is True
    for n, ms in enumerate([50, 60, 70, 80, 90, 100], 1):
        assert env.add(make_sample(t0 + timedelta(seconds=n), ms=ms)) is False
    assert len(env.samples) == 5
    assert (env.p50, env.p95, env.max_ms) == (80, 100, 100)
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95) == 10
    down_at = t0 + timedelta(seconds=10)
    assert env.add(
        make_sample(down_at, DOWN, 3000, None, "connection refused", "connection refused")
    )
    assert env.down_since == down_at and env.last_error == "connection refused"
    assert env.success_ratio == pytest.approx(4 / 5)
    assert env.since_change(down_at + timedelta(seconds=133)) == 133
    assert env.add(
        make_sample(down_at + timedelta(seconds=5), ms=1500)
    )  # READY answer, p95 over budget
    assert env.state == DEGRADED and env.reason == "p95 1500ms over the 800ms budget"


def test_rollback_signal_needs_a_baseline_then_fires():
    t0 = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
    env = EnvHealth("production", "u", window=10, p95_budget_ms=800)
    for n in range(5):
        env.add(make_sample(t0 + timedelta(seconds=n), ms=40))
    baseline = baseline_of(env)
    assert baseline["p95_ms"] == 40
    assert rollback_signal(env, None) is None
    for n in range(10):
        env.add(make_sample(t0 + timedelta(seconds=10 + n), ms=450))
    criterion, evidence = rollback_signal(env, baseline["p95_ms"])
    assert criterion == LATENCY_SIGNAL and evidence["signal"] == "p95 ×11.2 vs baseline"
    env.add(make_sample(t0 + timedelta(seconds=30), DOWN, None, None, "HTTP 503", "HTTP 503"))
    assert rollback_signal(env, baseline["p95_ms"])[0] == DOWN_SIGNAL


async def watch_until(monitor, env_name, states, max_polls):
    """Run the monitor until ``env_name`` reaches one of ``states``; return polls it took."""
    env = monitor.envs[env_name]
    start = env.probes
    task = asyncio.create_task(monitor.run())
    try:
        for _ in range(2000):
            if env.state in states:
                return env.probes - start
            if env.probes - start > max_polls:
                break
            await asyncio.sleep(0.005)
        raise AssertionError(f"{env_name} stayed {env.state} after {env.probes - start} polls")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("healthy", READY),
        ("down", DOWN),
        ("degraded", DEGRADED),
        ("reset", DOWN),
        ("hang", DOWN),
        ("html", DEGRADED),
        ("huge", DEGRADED),
        ("slow", DEGRADED),
        ("garbage", DOWN),
    ],
)
async def test_monitor_shows_each_state_within_two_polls(service, mode, expected):
    settings = HealthSettings(
        interval="20ms", timeout="500ms" if mode == "hang" else "3s", p95_budget="800ms", window=20
    )
    updates = []
    monitor = HealthMonitor(
        {"production": service.url("production")},
        settings,
        lambda env, sample, changed: updates.append(changed),
    )
    service.set_latency(0.05 if mode == "slow" else 0.005)
    if mode in NO_ANSWER:  # never reached it would read UNKNOWN: it answers once first
        await watch_until(monitor, "production", {READY}, max_polls=2)
        updates.clear()
    service.set_mode("production", mode)
    polls = await watch_until(monitor, "production", {expected}, max_polls=2)
    assert polls <= 2
    assert updates[0] is True


NO_ANSWER = ("reset", "hang", "garbage")
"""Failures without an HTTP answer: DOWN once the environment has answered before."""


async def test_failures_without_an_answer_before_any_answer_read_unknown(service):
    settings = HealthSettings(interval="20ms", timeout="500ms", window=20)
    monitor = HealthMonitor({"production": service.url("production")}, settings, lambda *a: None)
    service.set_mode("production", "reset")
    env = monitor.envs["production"]
    task = asyncio.create_task(monitor.run())
    try:
        for _ in range(2000):
            if env.probes >= 2:
                break
            await asyncio.sleep(0.005)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert env.probes >= 2 and env.state == UNKNOWN and env.last.state == DOWN
    assert env.reason == "unreachable — no answer since the cockpit opened: connection reset"


async def test_monitor_follows_flapping_and_never_overlaps_polls(service):
    service.set_flap_period(0.15)
    service.set_latency(0.01)
    service.set_mode("production", "flapping")
    settings = HealthSettings(interval="1ms", timeout="1s", window=50)
    changes = []
    monitor = HealthMonitor(
        {"production": service.url("production"), "staging": service.url("staging")},
        settings,
        lambda env, s, changed: changed and changes.append((env.name, env.state)),
    )
    task = asyncio.create_task(monitor.run())
    try:
        for _ in range(2000):
            states = {state for name, state in changes if name == "production"}
            if {READY, DOWN} <= states and len(changes) >= 4:
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert {READY, DOWN} <= {state for name, state in changes if name == "production"}
    assert service.max_in_flight("production") == 1
    assert service.max_in_flight("staging") == 1


async def test_monitor_pauses(service):
    settings = HealthSettings(interval="1ms", timeout="1s")
    monitor = HealthMonitor({"production": service.url("production")}, settings, lambda *a: None)
    monitor.pause()
    task = asyncio.create_task(monitor.run())
    await asyncio.sleep(0.2)
    assert service.hits("production") == 0
    monitor.resume()
    for _ in range(500):
        if service.hits("production"):
            break
        await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert service.hits("production") > 0


async def test_a_failing_consumer_does_not_stop_polling(service):
    calls = []

    def broken(env, sample, changed):
        calls.append(1)
        raise RuntimeError("widget bug")

    monitor = HealthMonitor(
        {"production": service.url("production")},
        HealthSettings(interval="1ms", timeout="1s"),
        broken,
    )
    task = asyncio.create_task(monitor.run())
    for _ in range(500):
        if len(calls) >= 3:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert len(calls) >= 3


def test_frozen_clock_stamps_samples(service):
    clock = FrozenClock(datetime(2026, 11, 24, 14, 0, tzinfo=UTC))
    sample = asyncio.run(probe_once("production", ready_url(service), 2.0, clock))
    assert sample.at.startswith("2026-11-24T14:00:00")
    evidence = json.loads(json.dumps(sample.evidence()))  # journal-safe
    assert evidence["state"] == "READY" and evidence["http_status"] == 200 and "env" not in evidence
