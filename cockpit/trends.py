"""The runbook's success metrics across releases, the four DORA keys, and the bottlenecks.

Owns judging each run's outcome in the light of the runs after it (succeeded, failed,
rolled back, abandoned, or still in progress; a release later patched by a hotfix), and
computing, over the releases in a period, what the runbook's "Success Metrics" and the
monthly release review ask for — deployment success rate, rollback rate, incidents per
release, median and p90 deployment time, each against the config's ``targets:`` with met
or not met in words (and neither while there is nothing to score) — each step's median
duration against its budget, and the DORA keys as Four Keys defines them: deployment
frequency, lead time for changes (each commit of a release, from git, to its production
deployment), change failure rate and time to restore. The history document is JSON
(``cockpit history --json``, shape in the README); ``rows`` gives its words for the
terminal and the TUI.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from cockpit.clock import iso, parse_iso
from cockpit.config import Targets
from cockpit.durations import format_duration
from cockpit.history import RunRecord
from cockpit.stats import percentile

FORMAT = 1
"""The history document's shape (its ``v``)."""

SUCCEEDED, FAILED, ROLLED_BACK, ABANDONED, IN_PROGRESS = (
    "succeeded",
    "failed",
    "rolled back",
    "abandoned",
    "in progress",
)
DEFINITE = (SUCCEEDED, FAILED, ROLLED_BACK, ABANDONED)
"""Outcomes the metrics count (a run in progress is not scored yet)."""


@dataclass
class Judged:
    """A run's record with its outcome, judged against the runs after it."""

    record: RunRecord
    outcome: str
    words: str
    hotfix_after: str | None = None
    """The version of the hotfix that patched this release (a change failure), if any."""
    lead_times_s: list[float] | None = None
    """Each commit of the release to its production deployment (None: not measured)."""

    @property
    def deployed(self) -> bool:
        """The production deployment finished (rolled back later or not)."""
        return self.record.deploy_finished

    @property
    def deployment_started(self) -> bool:
        return self.record.deploy_started_at is not None

    @property
    def restore_s(self) -> float | None:
        r = self.record
        if not (r.rollback_decided_at and r.rollback_verified_at):
            return None
        took = parse_iso(r.rollback_verified_at) - parse_iso(r.rollback_decided_at)
        return max(0.0, took.total_seconds())


def judge(records: list[RunRecord], hotfix_types: set[str]) -> list[Judged]:
    """Each run's outcome, oldest first. A run is over when it was closed or a later run
    started after it; the newest open run is in progress until its deployment ends."""
    out = []
    for n, rec in enumerate(records):
        later = records[n + 1 :]
        over = rec.closed_at is not None or bool(later)
        outcome, words = _outcome(rec, over, later[0] if later else None)
        hotfix = next(
            (
                h.version
                for h in later
                if h.type in hotfix_types
                and h.previous_version == rec.version
                and rec.deploy_finished
            ),
            None,
        )
        out.append(Judged(rec, outcome, words, hotfix))
    return out


def _outcome(rec: RunRecord, over: bool, after: RunRecord | None) -> tuple[str, str]:
    if rec.rolled_back:
        restore = Judged(rec, ROLLED_BACK, "").restore_s
        if rec.rollback_verified_at and restore is not None:
            return (
                ROLLED_BACK,
                f"rolled back and verified {format_duration(restore)} after the decision",
            )
        if rec.rollback_verified_at:
            return ROLLED_BACK, "rolled back and verified"
        return ROLLED_BACK, "rolled back (the rollback phase is not finished)"
    if rec.deploy_finished:
        return SUCCEEDED, f"deployed in {format_duration(rec.deployment_s or 0.0)}"
    if not over:
        if rec.deploy_failed:
            return IN_PROGRESS, f"in progress: {rec.deploy_failed}"
        if rec.deploy_started_at:
            return IN_PROGRESS, "in progress: deploying"
        return IN_PROGRESS, "in progress: before the deployment"
    if rec.deploy_failed:
        return FAILED, rec.deploy_failed
    if rec.deploy_started_at:
        return FAILED, "the deployment started and never finished"
    why = "closed" if rec.closed_at else f"superseded by run {after.id}" if after else "left"
    return ABANDONED, f"{why} before the production deployment"


def in_period(judged: list[Judged], since: date | None) -> list[Judged]:
    """The runs started on or after ``since`` (every run when None)."""
    if since is None:
        return judged
    return [j for j in judged if parse_iso(j.record.started_at).date() >= since]


def _score(value: float | None, target: float, better: str, words: str, of: str) -> dict[str, Any]:
    """A metric against its target: ``met`` is None when there is nothing to score."""
    met = None if value is None else value < target if better == "<" else value > target
    return {
        "value": value,
        "target": target,
        "better": better,
        "met": met,
        "words": words,
        "of": of,
    }


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _d(seconds: float | None) -> str:
    """A duration in words; two days and more in days (a lead time of weeks in hours is
    a sum to do)."""
    if seconds is None:
        return "—"
    if seconds >= 2 * 86400:
        days, rest = divmod(round(seconds / 3600), 24)
        return f"{days}d{rest}h" if rest else f"{days}d"
    return format_duration(seconds)


def metrics(judged: list[Judged], targets: Targets) -> dict[str, Any]:
    """The runbook's success metrics over the judged runs (outcomes counted: definite)."""
    scored = [j for j in judged if j.outcome in DEFINITE]
    deployments = [j for j in scored if j.deployment_started]
    ok = [j for j in deployments if j.outcome == SUCCEEDED]
    back = [j for j in deployments if j.outcome == ROLLED_BACK]
    incidents = sum(len(j.record.decisions) for j in deployments)
    times = [j.record.deployment_s for j in deployments if j.deployed and j.record.deployment_s]
    median = statistics.median(times) if times else None
    p90 = percentile(times, 90) if times else None
    n = len(deployments)
    of = _n(n, "deployment")
    per = round(incidents / n, 2) if n else None
    return {
        "releases": len(scored),
        "in_progress": len(judged) - len(scored),
        "deployments": n,
        "outcomes": {o: sum(1 for j in scored if j.outcome == o) for o in DEFINITE},
        "deployment_success_rate": _score(
            _pct(len(ok), n), targets.success_rate, ">", f"{len(ok)} of {of} succeeded", of
        ),
        "rollback_rate": _score(
            _pct(len(back), n), targets.rollback_rate, "<", f"{len(back)} of {of} rolled back", of
        ),
        "incidents_per_release": _score(
            per, targets.incidents_per_release, "<", f"{_n(incidents, 'incident')} in {of}", of
        ),
        "deployment_time_median_s": _score(
            median, targets.deployment_time, "<", f"of {_n(len(times), 'finished deployment')}", of
        ),
        "deployment_time_p90_s": _score(
            p90, targets.deployment_time, "<", f"of {_n(len(times), 'finished deployment')}", of
        ),
    }


def bottlenecks(judged: list[Judged]) -> list[dict[str, Any]]:
    """Each step's median duration against its budget, over every run that timed it; the
    ones over budget first, then the slowest."""
    by_step: dict[tuple[str, str], list[Any]] = {}
    for j in judged:
        for s in j.record.steps:
            if s.duration_s is None or s.state == "running":
                continue
            by_step.setdefault((s.phase, s.step), []).append(s)
    out = []
    for (phase, step), steps in by_step.items():
        durations = [s.duration_s for s in steps]
        median = statistics.median(durations)
        budget = steps[-1].budget_s
        out.append(
            {
                "phase": phase,
                "step": step,
                "title": steps[-1].title,
                "runs": len(steps),
                "median_s": median,
                "max_s": max(durations),
                "budget_s": budget,
                "over_budget": bool(budget) and median > budget,
                "overruns": sum(1 for s in steps if s.overrun_s is not None),
            }
        )
    return sorted(
        out,
        key=lambda b: (
            not b["over_budget"],
            -(b["median_s"] / (b["budget_s"] or b["median_s"] or 1)),
        ),
    )


def dora(judged: list[Judged], start: datetime, end: datetime) -> dict[str, Any]:
    """The four DORA keys over the period ``start`` → ``end``."""
    deployed = [j for j in judged if j.deployed]
    days = max((end - start).total_seconds() / 86400, 1.0)
    leads = [t for j in deployed if j.lead_times_s for t in j.lead_times_s]
    measured = [j for j in deployed if j.lead_times_s is not None]
    failed = [j for j in deployed if j.outcome == ROLLED_BACK or j.hotfix_after]
    restores = [r for j in judged if (r := j.restore_s) is not None]
    lead = statistics.median(leads) if leads else None
    restore = statistics.median(restores) if restores else None
    return {
        "deployment_frequency": {
            "deployments": len(deployed),
            "days": round(days, 1),
            # a week's rate from a shorter period would claim what did not happen
            "per_week": round(len(deployed) / days * 7, 2) if days >= 7 else None,
            "words": f"{_n(len(deployed), 'production deployment')} in {_n(round(days), 'day')}",
        },
        "lead_time_for_changes": {
            "median_s": lead,
            "commits": len(leads),
            "releases": len(measured),
            "words": f"median {_d(lead)} over {_n(len(leads), 'commit')} of "
            f"{_n(len(measured), 'release')}"
            if leads
            else "not measured (no release range found in git)",
        },
        "change_failure_rate": {
            "value": _pct(len(failed), len(deployed)),
            "failed": len(failed),
            "of": len(deployed),
            "words": f"{len(failed)} of {_n(len(deployed), 'deployment')} rolled back or hotfixed",
        },
        "time_to_restore": {
            "median_s": restore,
            "restores": len(restores),
            "words": f"median {_d(restore)} over {_n(len(restores), 'rollback')}, decision to verified"
            if restores
            else "no rollback verified",
        },
    }


def document(
    judged: list[Judged],
    targets: Targets,
    now: datetime,
    since: date | None = None,
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    """``cockpit history --json``: the runs of the period, the metrics, bottlenecks, DORA."""
    chosen = in_period(judged, since)
    start = (
        datetime.combine(since, datetime.min.time(), now.tzinfo)
        if since
        else parse_iso(chosen[0].record.started_at)
        if chosen
        else now
    )
    return {
        "v": FORMAT,
        "generated_at": iso(now),
        "since": since.isoformat() if since else None,
        "targets": targets.model_dump(),
        "runs": [_run(j) for j in chosen],
        "metrics": metrics(chosen, targets),
        "bottlenecks": bottlenecks(chosen),
        "dora": dora(chosen, start, now),
        "warnings": list(warnings or []),
    }


def _run(j: Judged) -> dict[str, Any]:
    r = j.record
    return {
        "id": r.id,
        "type": r.type,
        "version": r.version,
        "operator": r.operator,
        "started_at": r.started_at,
        "ended_at": r.ended_at if j.outcome != IN_PROGRESS else None,
        "closed": r.closed_at is not None,
        "deployment_started_at": r.deploy_started_at,
        "deployment_ended_at": r.deploy_ended_at,
        "deployment_s": r.deployment_s,
        "deployment_finished": r.deploy_finished,
        "deployment_running": r.deploy_running,
        "outcome": j.outcome,
        "outcome_words": j.words,
        "incidents": len(r.decisions),
        "decisions": r.decisions,
        "rollback_criteria_met": r.criteria_met,
        "hotfix_after": j.hotfix_after,
        "time_to_restore_s": j.restore_s,
        "lead_time_median_s": statistics.median(j.lead_times_s) if j.lead_times_s else None,
        "overruns": [
            {
                "phase": s.phase,
                "step": s.step,
                "title": s.title,
                "duration_s": s.duration_s,
                "budget_s": s.budget_s,
                "overrun_s": s.overrun_s,
            }
            for s in r.overruns
        ],
    }


def met_words(score: dict[str, Any]) -> str:
    """``met``, ``NOT MET`` or ``not scored yet`` (nothing to measure)."""
    return {True: "met", False: "NOT MET", None: "not scored yet"}[score["met"]]


def metric_rows(doc: dict[str, Any]) -> list[tuple[str, str, str, str, bool | None]]:
    """The metrics table in words: (metric, value, target, judged in words, ``met``)."""
    m = doc["metrics"]
    rows = []
    for key, name, unit in (
        ("deployment_success_rate", "deployment success rate", "%"),
        ("rollback_rate", "rollback rate", "%"),
        ("incidents_per_release", "incidents per release", ""),
        ("deployment_time_median_s", "deployment time (median)", "s"),
        ("deployment_time_p90_s", "deployment time (p90)", "s"),
    ):
        s = m[key]
        value = s["value"]
        if unit == "s":
            shown, target = _d(value), _d(s["target"])
        else:
            shown = "—" if value is None else f"{value:g}{unit}"
            target = f"{s['target']:g}{unit}"
        value_words = f"{shown} ({s['words']})"
        rows.append((name, value_words, f"{s['better']} {target}", met_words(s), s["met"]))
    return rows


def dora_rows(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """The DORA keys in words: (key, value)."""
    d = doc["dora"]
    freq = d["deployment_frequency"]
    cfr = d["change_failure_rate"]
    return [
        (
            "deployment frequency",
            f"{freq['per_week']:g} per week ({freq['words']})"
            if freq["per_week"] is not None
            else f"{freq['words']} (less than a week: no weekly rate)",
        ),
        ("lead time for changes", d["lead_time_for_changes"]["words"]),
        (
            "change failure rate",
            ("—" if cfr["value"] is None else f"{cfr['value']:g}%") + f" ({cfr['words']})",
        ),
        ("time to restore", d["time_to_restore"]["words"]),
    ]


def attach_lead_times(
    judged: list[Judged], commits: Callable[[RunRecord], list[str] | None]
) -> None:
    """Each deployed release's lead times: ``commits(record)`` gives the commit times (ISO)
    of its range (None: the range is not in git); each to the deployment's end."""
    for j in judged:
        r = j.record
        if not j.deployed or not r.deploy_ended_at:
            continue
        times = commits(r)
        if times is None:
            continue
        end = parse_iso(r.deploy_ended_at)
        j.lead_times_s = [max(0.0, (end - parse_iso(t)).total_seconds()) for t in times]
