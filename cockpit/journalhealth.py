"""Health as the driver journaled it: what a watcher shows instead of probing.

Owns ``JournalHealth``: one ``EnvHealth`` per configured environment, folded from the
journal's ``health.sample`` and ``health.changed`` events — the last ``health.window``
samples (the sparkline, the success ratio), the state, its reason and when it changed as
the driver judged them (taken as journaled, never judged again here), and the driver's
own p50/p95 (``JournaledEnvHealth``) — plus when the newest sample was taken, its age,
and the words a watcher's panel says about where its health comes from ("as seen by the
driver, 3s ago", "no driver: health is not probed by watchers …"). It never probes and
never writes: a watcher adds no load on the environments, however many watch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from cockpit.clock import parse_iso
from cockpit.config import Config, HealthSettings
from cockpit.durations import format_duration
from cockpit.events import Event, HealthChanged, HealthSampled
from cockpit.monitor import EnvHealth
from cockpit.probe import DOWN, Sample
from cockpit.state import RunState
from cockpit.termtext import inert

NOT_PROBED = "no driver: health is not probed by watchers"
NOTHING_JOURNALED = "no health journaled yet"


@dataclass
class JournaledEnvHealth(EnvHealth):
    """One environment as the driver journaled it: its window of samples, its state as
    judged by the driver, and the driver's p50/p95 (of the driver's own window)."""

    journaled_p50: float | None = None
    journaled_p95: float | None = None

    @property
    def p50(self) -> float | None:
        return self.journaled_p50

    @property
    def p95(self) -> float | None:
        return self.journaled_p95


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _words(value: str | None) -> str | None:
    return inert(value) if value else None


class JournalHealth:
    """Every configured environment's health, from the journal only."""

    def __init__(self, environments: dict[str, str], settings: HealthSettings):
        """``environments``: each environment's ready URL by name (shown, never probed)."""
        self.envs: dict[str, JournaledEnvHealth] = {
            name: JournaledEnvHealth(name, url, settings.window, settings.p95_budget * 1000)
            for name, url in environments.items()
        }
        self.newest: datetime | None = None
        """When the newest journaled sample was taken (the driver's clock)."""

    @classmethod
    def from_config(cls, config: Config) -> JournalHealth:
        urls = {name: config.ready_url(name) for name in config.environments}
        return cls(urls, config.health)

    @classmethod
    def of_run(cls, config: Config, state: RunState) -> JournalHealth:
        """What the journal already holds (a watcher that opens a run late): each
        environment's latest samples (``state.health_windows``) and its last change."""
        health = cls.from_config(config)
        for name in health.envs:
            events: list[Event] = []
            change = state.health.get(name)
            if change is not None:
                events.append(change)  # first: on a tie it was written before its sample
            events.extend(state.health_windows.get(name, ()))
            events.sort(key=lambda e: parse_iso(e.ts))  # stable
            health.fold_all(events)
        return health

    def fold_all(self, events: Iterable[Event]) -> None:
        for event in events:
            self.fold(event)

    def fold(self, event: Event) -> tuple[str, bool] | None:
        """Fold one journal event; ``(environment, its state changed)`` when it was a
        health event of a configured environment, else None."""
        if not isinstance(event, HealthSampled | HealthChanged):
            return None
        env = self.envs.get(event.env)
        if env is None:
            return None
        at = parse_iso(event.ts)
        error = _words(event.error)
        if isinstance(event, HealthSampled):
            status = event.http_status
            status = status if isinstance(status, int) and not isinstance(status, bool) else None
            env.samples.append(
                Sample(
                    env.name,
                    env.url,
                    event.ts,
                    event.state,
                    status,
                    _number(event.latency_ms),
                    error,
                    reason=_words(event.reason),
                )
            )
            while len(env.samples) > env.window:
                env.samples.popleft()
            env.probes += 1
            env.answered = env.answered or status is not None
            env.journaled_p50 = _number(event.p50_ms)
            env.journaled_p95 = _number(event.p95_ms)
            if self.newest is None or at > self.newest:
                self.newest = at
        env.reason = _words(event.reason)
        if error:
            env.last_error, env.last_error_at = error, at
        if event.state == env.state:
            return env.name, False
        env.state = event.state
        env.changed_at = at
        env.down_since = at if event.state == DOWN else None
        return env.name, True

    def age(self, now: datetime) -> float | None:
        """Seconds since the newest journaled sample (None: there is none)."""
        if self.newest is None:
            return None
        return max(0.0, (now - self.newest).total_seconds())

    def source_words(self, now: datetime, driven: bool) -> str:
        """Where the panels' health comes from, in words: the driver's samples and their
        age, or that nobody probes (``driven``: a live driver holds the run)."""
        age = self.age(now)
        ago = None if age is None else f"{format_duration(round(age))} ago"
        if driven:
            return f"as seen by the driver, {ago}" if ago else NOTHING_JOURNALED
        seen = f"last seen by the driver {ago}" if ago else NOTHING_JOURNALED
        return f"{NOT_PROBED} ({seen})"
