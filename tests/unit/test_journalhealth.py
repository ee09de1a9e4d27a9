"""A watcher's health is the driver's, folded from the journal (``cockpit.journalhealth``):
the last ``health.window`` samples per environment, the states as the driver journaled
them (never judged again), the driver's p50/p95, and the age of the newest sample."""

from __future__ import annotations

from datetime import timedelta

from cockpit.clock import parse_iso
from cockpit.events import HealthChanged, HealthSampled, ItemChecked
from cockpit.journalhealth import JournalHealth
from cockpit.probe import DEGRADED, DOWN, READY


def journal_sample(session, env, state, latency_ms, status=200, p50=None, p95=None, **more):
    summary = {
        "env": env,
        "state": state,
        "latency_ms": latency_ms,
        "http_status": status,
        "p50_ms": p50,
        "p95_ms": p95,
        **more,
    }
    session.write(session.plan_health_sample(summary))


def journal_change(session, env, state, previous, **more):
    session.write(session.plan_health_change({"env": env, "state": state, **more}, previous))


def test_the_journaled_samples_fold_into_each_environments_window_as_the_driver_judged(
    session, clock
):
    ws = session.ws
    window = ws.config.health.window
    changed_at = clock.now()
    journal_change(session, "production", READY, None, http_status=200, latency_ms=40.0)
    journal_sample(session, "production", READY, 40.0, p50=40.0, p95=40.0)
    for n in range(window + 5):  # slow answers the driver still judged READY
        clock.advance(1)
        journal_sample(session, "production", READY, 900.0 + n, p50=455.0, p95=950.0)
    # refused before any answer: the monitor would read it UNKNOWN; the driver said DOWN
    down_at = clock.now()
    journal_change(session, "staging", DOWN, None, error="connection refused")
    journal_sample(session, "staging", DOWN, None, status=None, error="connection refused")
    session.refresh()

    health = JournalHealth.of_run(ws.config, session.state)

    production = health.envs["production"]
    assert len(production.samples) == window  # the last window only
    assert production.latencies() == [900.0 + n for n in range(5, window + 5)]
    assert production.state == READY  # over the p95 budget, yet not re-judged DEGRADED
    assert (production.p50, production.p95) == (455.0, 950.0)  # the driver's figures
    assert production.changed_at == changed_at  # from the journaled change
    staging = health.envs["staging"]
    assert staging.state == DOWN and staging.down_since == down_at
    assert staging.last_error == "connection refused" and staging.latencies() == []

    clock.advance(12)
    assert health.age(clock.now()) == 12
    assert health.source_words(clock.now(), driven=True) == "as seen by the driver, 12s ago"
    assert health.source_words(clock.now(), driven=False) == (
        "no driver: health is not probed by watchers (last seen by the driver 12s ago)"
    )

    # what a watcher reads next: a change, then its sample
    ts = (clock.now()).isoformat(timespec="milliseconds")
    change = HealthChanged(ts=ts, env="production", state=DEGRADED, reason="sms=fail")
    sample = HealthSampled(
        ts=ts, env="production", state=DEGRADED, latency_ms=60.0, http_status=200, p95_ms=900.0
    )
    assert health.fold(change) == ("production", True)
    assert health.fold(sample) == ("production", False)
    assert production.state == DEGRADED and production.reason is None  # the sample's own
    assert production.changed_at == parse_iso(ts)
    assert len(production.samples) == window and production.latencies()[-1] == 60.0
    assert production.p95 == 900.0 and production.p50 is None
    assert health.age(clock.now() + timedelta(seconds=3)) == 3
    assert health.fold(HealthSampled(ts=ts, env="elsewhere", state=READY)) is None
    assert health.fold(ItemChecked(ts=ts, phase="p", item="i")) is None


def test_with_nothing_journaled_the_words_say_so(ws, clock):
    health = JournalHealth.from_config(ws.config)
    assert set(health.envs) == {"staging", "production"}
    assert health.age(clock.now()) is None
    assert health.source_words(clock.now(), driven=True) == "no health journaled yet"
    assert health.source_words(clock.now(), driven=False) == (
        "no driver: health is not probed by watchers (no health journaled yet)"
    )
