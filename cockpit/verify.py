"""Items that verify themselves: ``auto: {health: ENV}`` probes the environment.

Owns turning a verification into intents: READY ticks the item with the probe's
evidence (state, code, latency, checks, a body excerpt); anything else records a
failed verification with the same evidence and leaves the item unticked, with
the reason in words. A probe that fails in any unexpected way is a failed
verification with the error in words, never a tick. Used by the checklist screen and by
``cockpit check``.
"""

from __future__ import annotations

from dataclasses import dataclass

from cockpit.errors import CockpitError
from cockpit.events import Event
from cockpit.probe import READY, Sample, failed_sample, probe_once
from cockpit.session import RunSession


@dataclass
class Verification:
    """What a verification found and the intent that records it."""

    ok: bool
    sample: Sample
    intent: Event

    @property
    def reason(self) -> str:
        s = self.sample
        return f"{s.env} {s.state}" + (f" — {s.reason}" if s.reason else "")


def health_target(session: RunSession, phase_id: str, item_id: str) -> str | None:
    """The environment an item verifies with a probe, or None."""
    entry = session.runbook.phase(phase_id).item(item_id)
    return entry.item.auto.health if entry and entry.item.auto else None


async def verify_item(
    session: RunSession, phase_id: str, item_id: str, note: str | None = None
) -> Verification:
    """Probe the item's environment once; plan the tick or the failed verification."""
    env = health_target(session, phase_id, item_id)
    if env is None:
        raise CockpitError(f"item {item_id!r} does not verify itself")
    session.tick_allowed(phase_id, item_id)
    config = session.ws.config
    if env not in config.environments:
        raise CockpitError(f"environment {env!r} is not configured")
    url = config.ready_url(env)
    try:
        sample = await probe_once(env, url, config.health.timeout, session.clock)
    except Exception as exc:  # fail closed: whatever went wrong, the item is not verified
        sample = failed_sample(env, url, exc, config.health.timeout, session.clock.now())
    evidence = sample.evidence()
    if sample.state == READY:
        return Verification(True, sample, session.plan_check(phase_id, item_id, note, evidence))
    return Verification(
        False, sample, session.plan_verification_failed(phase_id, item_id, evidence)
    )
