"""Environments over time: the rolling window, states and their changes, the poll loop,
and the rollback signal against the production baseline.

Owns ``EnvHealth`` (the last ``window`` samples of one environment: p50/p95/max,
success ratio, state and when it last changed, the last error, DOWN since when; an
environment that has not answered once since the monitor started reads UNKNOWN, not
DOWN, when a probe gets no answer — refused, DNS, timeout: it was never reached),
``HealthMonitor`` (one loop per environment: poll, then sleep, so polls never
overlap; pausable; a loop that fails shows its environment UNKNOWN with the error in
words and starts again, never stopping the others), and ``rollback_signal``
(production DOWN, or p95 over 10× the baseline captured when the production
deployment started).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cockpit.clock import Clock, iso, parse_iso
from cockpit.config import Config, HealthSettings
from cockpit.errors import error_words
from cockpit.probe import DEGRADED, DOWN, READY, UNKNOWN, Sample, make_client, probe
from cockpit.secrets import mask_userinfo
from cockpit.stats import percentile

log = logging.getLogger(__name__)
ROLLBACK_FACTOR = 10.0
LATENCY_SIGNAL = "signal-latency"
DOWN_SIGNAL = "signal-down"
NEVER_REACHED = "unreachable — no answer since the cockpit opened"
"""The reason an environment that never answered reads UNKNOWN, not DOWN."""


@dataclass
class EnvHealth:
    """One environment's recent health."""

    name: str
    url: str
    window: int = 60
    p95_budget_ms: float = 800.0
    samples: deque[Sample] = field(default_factory=deque)
    state: str = UNKNOWN
    reason: str | None = None
    changed_at: datetime | None = None
    down_since: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    probes: int = 0
    answered: bool = False
    """It has answered (any HTTP status) at least once since this monitor started: only
    then is a probe without an answer DOWN; before, it is UNKNOWN (never reached)."""

    def latencies(self) -> list[float]:
        """Latencies of answered probes in the window, oldest first (sparkline, p50/p95)."""
        return [
            s.latency_ms
            for s in self.samples
            if s.http_status is not None and s.latency_ms is not None
        ]

    @property
    def p50(self) -> float | None:
        return percentile(self.latencies(), 50)

    @property
    def p95(self) -> float | None:
        return percentile(self.latencies(), 95)

    @property
    def max_ms(self) -> float | None:
        values = self.latencies()
        return max(values) if values else None

    @property
    def success_ratio(self) -> float | None:
        if not self.samples:
            return None
        return sum(1 for s in self.samples if s.state not in (DOWN, UNKNOWN)) / len(self.samples)

    @property
    def last(self) -> Sample | None:
        return self.samples[-1] if self.samples else None

    def add(self, sample: Sample) -> bool:
        """Fold in a sample; True when the environment's state changed."""
        self.probes += 1
        self.samples.append(sample)
        while len(self.samples) > self.window:
            self.samples.popleft()
        at = parse_iso(sample.at)
        state, reason = sample.state, sample.reason
        if sample.http_status is not None:
            self.answered = True
        elif state == DOWN and not self.answered:  # refused, DNS, timeout: never reached
            words = sample.error or sample.reason or "no answer"
            state, reason = UNKNOWN, f"{NEVER_REACHED}: {words}"
        p95 = self.p95
        if state == READY and p95 is not None and p95 > self.p95_budget_ms:
            state = DEGRADED
            reason = f"p95 {p95:.0f}ms over the {self.p95_budget_ms:.0f}ms budget"
        if sample.error:
            self.last_error, self.last_error_at = sample.error, at
        self.reason = reason
        if state == self.state:
            return False
        self.state = state
        self.changed_at = at
        self.down_since = at if state == DOWN else None
        return True

    def since_change(self, now: datetime) -> float | None:
        return (now - self.changed_at).total_seconds() if self.changed_at else None

    def summary(self) -> dict[str, Any]:
        """The figures ``status``/``health --json`` and the journal carry."""
        last = self.last
        return {
            "env": self.name,
            "url": mask_userinfo(self.url),
            "state": self.state,
            "http_status": last.http_status if last else None,
            "latency_ms": last.latency_ms if last else None,
            "error": last.error if last else None,
            "reason": self.reason,
            "checks": dict(last.dependencies) if last else {},  # the JSON contract's name
            "p50_ms": self.p50,
            "p95_ms": self.p95,
            "max_ms": self.max_ms,
            "success_ratio": self.success_ratio,
            "samples": len(self.samples),
        }


class HealthMonitor:
    """Polls every environment: one loop each, poll then sleep, never overlapping."""

    def __init__(
        self,
        environments: dict[str, str],
        settings: HealthSettings,
        on_update: Callable[[EnvHealth, Sample, bool], None],
        clock: Clock | None = None,
        paths: dict[str, str] | None = None,
    ):
        """``environments``: base URLs by name; each is probed at its path in ``paths``,
        else at ``settings.path``."""
        self.settings = settings
        self.clock = clock or Clock()
        self.on_update = on_update
        paths = paths or {}
        self.envs = {
            name: EnvHealth(
                name,
                url.rstrip("/") + paths.get(name, settings.path),
                settings.window,
                settings.p95_budget * 1000,
            )
            for name, url in environments.items()
        }
        self._running = asyncio.Event()
        self._running.set()

    @classmethod
    def from_config(
        cls,
        config: Config,
        on_update: Callable[[EnvHealth, Sample, bool], None],
        clock: Clock | None = None,
    ) -> HealthMonitor:
        envs = {name: env.url for name, env in config.environments.items()}
        paths = {n: e.health_path for n, e in config.environments.items() if e.health_path}
        return cls(envs, config.health, on_update, clock, paths)

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    async def poll_once(self, env: EnvHealth, client: Any) -> Sample:
        sample = await probe(client, env.name, env.url, self.settings.timeout, self.clock)
        self._fold(env, sample)
        return sample

    def _fold(self, env: EnvHealth, sample: Sample) -> None:
        changed = env.add(sample)
        try:
            self.on_update(env, sample, changed)
        except Exception:  # a consumer's bug must never stop the polling
            log.debug("health update handler failed for %s", env.name, exc_info=True)

    def _failed(self, env: EnvHealth, exc: Exception) -> None:
        """The poller of ``env`` failed: it shows UNKNOWN with the error in words (never a
        stale READY); the other environments' pollers never notice."""
        # the words go on screen as the UNKNOWN sample; a traceback on stderr would reach
        # headless output on every retry (Python's last-resort logging)
        log.debug("health poller failed for %s", env.name, exc_info=True)
        words = f"health polling failed: {error_words(exc)}"
        sample = Sample(
            env.name, env.url, iso(self.clock.now()), UNKNOWN, error=words, reason=words
        )
        try:
            self._fold(env, sample)
        except Exception:  # even the fold failed: say so without it
            env.state, env.reason, env.last_error = UNKNOWN, words, words

    async def _loop(self, env: EnvHealth, offset: float = 0.0) -> None:
        if offset:
            await asyncio.sleep(offset)  # stagger: environments are not all probed at once
        while True:
            try:
                async with make_client(self.settings.timeout) as client:
                    while True:
                        await self._running.wait()
                        await self.poll_once(env, client)
                        await asyncio.sleep(self.settings.interval)
            except Exception as exc:  # fail closed for this environment only, then again
                self._failed(env, exc)
                await asyncio.sleep(self.settings.interval)

    async def run(self) -> None:
        """Poll until cancelled."""
        count = len(self.envs)
        async with asyncio.TaskGroup() as group:
            for n, env in enumerate(self.envs.values()):
                offset = self.settings.interval * n / count if n else 0.0
                group.create_task(self._loop(env, offset))


def baseline_of(env: EnvHealth) -> dict[str, Any] | None:
    """The figures a baseline keeps (None when there is nothing measured yet)."""
    if env.p95 is None:
        return None
    return {"env": env.name, "p50_ms": env.p50, "p95_ms": env.p95, "samples": len(env.latencies())}


def ratio_to_baseline(env: EnvHealth, baseline_p95_ms: float | None) -> float | None:
    """Current p95 as a multiple of the baseline's p95."""
    if not baseline_p95_ms or env.p95 is None:
        return None
    return env.p95 / max(float(baseline_p95_ms), 1.0)


def rollback_signal(
    env: EnvHealth, baseline_p95_ms: float | None
) -> tuple[str, dict[str, Any]] | None:
    """The rollback signal the deploy environment's health gives now (``signal-down`` or
    ``signal-latency``, what a runbook item ``records:``), with its evidence (or None).

    Only after a baseline exists (the deployment has started): a DOWN before the deploy
    is not "caused by deployment".
    """
    if not baseline_p95_ms:
        return None
    if env.state == DOWN:
        return DOWN_SIGNAL, {
            "signal": f"{env.name} DOWN",
            "error": env.last_error,
            "since": env.changed_at.isoformat() if env.changed_at else None,
        }
    ratio = ratio_to_baseline(env, baseline_p95_ms)
    if ratio is not None and ratio > ROLLBACK_FACTOR:
        return LATENCY_SIGNAL, {
            "signal": f"p95 ×{ratio:.1f} vs baseline",
            "p95_ms": env.p95,
            "baseline_p95_ms": baseline_p95_ms,
        }
    return None


async def measure_baseline(
    env: str, url: str, settings: HealthSettings, samples: int = 5, clock: Clock | None = None
) -> dict[str, Any] | None:
    """Probe ``url`` a few times in a row for a baseline when no window exists yet (headless)."""
    health = EnvHealth(env, url, samples, settings.p95_budget * 1000)
    async with make_client(settings.timeout) as client:
        for _ in range(samples):
            health.add(await probe(client, env, url, settings.timeout, clock))
    return baseline_of(health)
