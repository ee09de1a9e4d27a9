"""The run's facts that every surface states alike, as ``status --json`` carries them.

Owns the parts of the status document beyond phases and steps: the deployment time
(``cockpit.phaseclock``), the latest decision, who drives the run and whether that
process still holds the lock (judged as every screen's header judges it,
``cockpit.commander``), each environment's last journaled health (what the dashboard
showed when its state last changed, with p95 and the baseline), and every rollback
criterion with whether it is met and its evidence. Each is a pure reading of the run's
state, except the driver, which asks the lock (``RunLock``) without taking it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from cockpit.commander import driver_facts
from cockpit.lock import RunLock
from cockpit.phaseclock import deployment_clock
from cockpit.progress import criteria
from cockpit.runbook import Runbook
from cockpit.state import RunState


def deployment_fact(runbook: Runbook, state: RunState, now: datetime) -> dict[str, Any] | None:
    """The deployment time (``PhaseClock.fields``); None when the runbook has no deploy phase."""
    clock = deployment_clock(runbook, state, now)
    return clock.fields() if clock is not None else None


def decision_fact(state: RunState) -> dict[str, Any] | None:
    """The latest decision (rollback or fix forward) with its rationale; None when none."""
    if not state.decisions:
        return None
    d = state.decisions[-1]
    return {
        "choice": d.choice,
        "rationale": d.rationale,
        "commander": d.commander,
        "ts": d.ts,
        "criteria": list(d.criteria),
    }


def driver_fact(lock: RunLock, state: RunState) -> dict[str, Any] | None:
    """Who drives the run — operator, pid, host, since — and ``alive``: whether that process
    still holds the lock (the header's judgement, ``commander.driver_facts``; ``state`` and
    ``why`` say more: "driven", or "gone" and why). None when nobody drives."""
    facts = driver_facts(state, lock, driving=lock.held)
    if facts.state == "nobody":
        return None
    holder = lock.read()
    journaled = state.driver or {}
    since = holder.started_at if holder and holder.pid == facts.pid else journaled.get("since")
    return {
        "operator": facts.operator,
        "pid": facts.pid,
        "host": facts.host,
        "since": since,
        "alive": facts.state in ("driving", "driven"),
        "state": facts.state,
        "why": facts.why,
    }


def health_fact(state: RunState, environments: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Each environment's last journaled health (state, since, code, latency, p95, reason,
    error) and its baseline's p95; state None for one never journaled."""
    names = list(environments)
    out: dict[str, dict[str, Any]] = {}
    for env in [*names, *(e for e in state.health if e not in names)]:
        last = state.health.get(env)
        baseline = state.baselines.get(env)
        out[env] = {
            "state": last.state if last else None,
            "since": last.ts if last else None,
            "http_status": last.http_status if last else None,
            "latency_ms": last.latency_ms if last else None,
            "p95_ms": last.p95_ms if last else None,
            "reason": last.reason if last else None,
            "error": last.error if last else None,
            "baseline_p95_ms": baseline.p95_ms if baseline else None,
        }
    return out


def criteria_fact(runbook: Runbook, state: RunState) -> list[dict[str, Any]]:
    """Every rollback criterion (items of the ``kind: decision`` phase marked as criteria):
    met or not, by whom and when, and its evidence."""
    out = []
    for phase, entry in criteria(runbook, state):
        st = state.item(phase.id, entry.item.id)
        out.append(
            {
                "phase": phase.id,
                "id": entry.item.id,
                "text": entry.item.text,
                "met": st.checked,
                "by": st.by if st.checked else None,
                "at": st.at if st.checked else None,
                "evidence": st.evidence if st.checked else None,
            }
        )
    return out


def run_facts(
    runbook: Runbook,
    state: RunState,
    lock: RunLock,
    environments: Iterable[str],
    now: datetime,
) -> dict[str, Any]:
    """The keys ``status --json`` adds to the phases: ``deployment``, ``decision``,
    ``driver``, ``health``, ``rollback_criteria``."""
    return {
        "deployment": deployment_fact(runbook, state, now),
        "decision": decision_fact(state),
        "driver": driver_fact(lock, state),
        "health": health_fact(state, environments),
        "rollback_criteria": criteria_fact(runbook, state),
    }
