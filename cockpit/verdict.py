"""One judgement of an environment's health: the health panel's, and a self-verifying item's.

Owns ``judge``: an environment's recent window (``monitor.EnvHealth``, the very object the
health panel draws) is healthy when the panel shows it READY — its last answer READY and
the window's p95 within the latency budget — and, once a baseline is taken, its p95 not
past ``ROLLBACK_FACTOR`` times the baseline's (the rollback signal). The verdict says so in
words with its figures (``production READY · p95 212 ms (budget 800 ms) · db ok · redis
ok``; ``production DEGRADED: p95 1946 ms over the 800 ms budget``) and keeps them as
evidence that reads as words (``cockpit.evidence``); and ``top_up``, the probes made now
when there is no panel's window to judge (a self-verifying item without a driver's
monitor, a step's ``health:`` command in its supervisor).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cockpit.clock import Clock
from cockpit.monitor import ROLLBACK_FACTOR, EnvHealth, ratio_to_baseline
from cockpit.probe import READY, failed_sample, make_client, probe


@dataclass(frozen=True)
class Verdict:
    """What the window says about an environment, in words and figures."""

    env: str
    healthy: bool
    state: str
    """READY, DEGRADED, DOWN or UNKNOWN: the state the panel shows."""
    words: str
    p95_ms: float | None
    budget_ms: float
    baseline_p95_ms: float | None
    samples: int

    def evidence(self, health: EnvHealth, window: str) -> dict[str, Any]:
        """What a verification journals: the last answer (code, latency, checks, a body
        excerpt), the state the panel shows, p95 against its budget (and the baseline),
        which window was judged, and — when it is refused — why, in the verdict's words."""
        last = health.last
        out: dict[str, Any] = last.evidence() if last is not None else {}
        out.update(state=self.state, p95_ms=self.p95_ms, budget=_ms(self.budget_ms))
        if self.baseline_p95_ms is not None:
            out["baseline_p95_ms"] = self.baseline_p95_ms
        out["window"] = window
        if not self.healthy:
            out["reason"] = self.words
        else:
            out.pop("reason", None)
        return out


JUDGED_ON = 5
"""Answers a window holds before it is judged (p95 of five: the slowest)."""


async def top_up(health: EnvHealth, timeout: float, clock: Clock, wanted: int = JUDGED_ON) -> int:
    """Probe now, one after another, until the window holds ``wanted`` answers or the
    environment is not READY any more; how many probes were made. Anything unexpected is
    a failed answer in the window (fail closed), never an exception."""
    probed = 0
    wanted = min(wanted, health.window)  # a window smaller than that never holds more
    try:
        async with make_client(timeout) as client:
            while (
                probed < wanted
                and len(health.samples) < wanted
                and (not health.samples or health.state == READY)
            ):
                health.add(await probe(client, health.name, health.url, timeout, clock))
                probed += 1
    except Exception as exc:
        health.add(failed_sample(health.name, health.url, exc, timeout, clock.now()))
        probed += 1
    return probed


def _ms(value: float) -> str:
    return f"{value:.0f} ms"


def judge(health: EnvHealth, baseline_p95_ms: float | None = None) -> Verdict:
    """The panel's verdict on ``health`` (and against the baseline's p95 when one is taken)."""
    name, state, p95 = health.name, health.state, health.p95
    budget = health.p95_budget_ms
    last = health.last
    ratio = ratio_to_baseline(health, baseline_p95_ms)
    figures = f"p95 {_ms(p95)} (budget {_ms(budget)})" if p95 is not None else "no latency yet"
    deps = [f"{k} {v}" for k, v in (last.dependencies if last else {}).items()]
    healthy = state == READY and (ratio is None or ratio <= ROLLBACK_FACTOR)
    if healthy:
        against = f" · ×{ratio:.1f} vs baseline {_ms(baseline_p95_ms or 0)}" if ratio else ""
        words = " · ".join([f"{name} READY", figures + against, *deps])
    elif state == READY:
        assert ratio is not None and p95 is not None
        words = (
            f"{name} READY but p95 {_ms(p95)} is ×{ratio:.1f} the baseline "
            f"{_ms(baseline_p95_ms or 0)} (the rollback signal past ×{ROLLBACK_FACTOR:g})"
        )
    elif last is not None and last.state == READY and p95 is not None and p95 > budget:
        words = f"{name} {state}: p95 {_ms(p95)} over the {_ms(budget)} budget"
    else:
        why = health.reason or (last.error if last else None) or "no answer yet"
        words = f"{name} {state}: {why}" + (f" · {figures}" if p95 is not None else "")
    return Verdict(name, healthy, state, words, p95, budget, baseline_p95_ms, len(health.samples))
