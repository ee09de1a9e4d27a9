"""The release report: everything the journal says about a run, for the release review.

Owns turning a run's full journal into the report the runbook's review meeting
needs — the runbook's technical success metrics for this release (deployment time
under 60 minutes, rolled back or not, incidents), step durations against budgets
and overruns, checklists with who and when (and what was left unticked, skipped or
overridden, with reasons), health (the baseline, the worst p95, time DOWN),
decisions with their rationale, and the timeline of every event — as Markdown or
JSON (``cockpit report``; also shown in the TUI).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cockpit.clock import Clock, parse_iso
from cockpit.config import Targets
from cockpit.describe import describe
from cockpit.durations import format_duration
from cockpit.events import (
    FINISHED,
    CommandFinished,
    CommandStarted,
    Event,
    HealthChanged,
    StepStarted,
    StepStatus,
    WindowStarted,
    parse,
)
from cockpit.evidence import evidence_words
from cockpit.journal import read_journal
from cockpit.phaseclock import deployment_clock
from cockpit.progress import criteria_met, progress, step_seconds, step_state, tasks
from cockpit.runbook import Runbook
from cockpit.session import RunSession
from cockpit.state import RunState, replay

FORMAT = 1
"""The version of the report's JSON document (its ``v``), for reports kept and exported."""


def _down_time(changes: list[HealthChanged], until: datetime) -> dict[str, float]:
    """Seconds each environment spent DOWN, from the journaled state changes; an outage
    still going at the end counts up to ``until`` (now, or the run's close)."""
    down_since: dict[str, datetime] = {}
    total: dict[str, float] = {}
    for e in changes:
        env, at = e.env, parse_iso(e.ts)
        if e.state == "DOWN":
            down_since.setdefault(env, at)
        elif env in down_since:
            total[env] = total.get(env, 0.0) + (at - down_since.pop(env)).total_seconds()
    for env, since in down_since.items():
        total[env] = total.get(env, 0.0) + max(0.0, (until - since).total_seconds())
    return total


def build(session: RunSession, clock: Clock | None = None) -> dict[str, Any]:
    """The report as data (the JSON format): ``v`` (the format's version), then one
    section per kind of event. Facts only: a judgement with nothing to judge yet is null
    (see ``_metrics``); an outage still going counts up to ``clock``'s now while the run
    is open, up to its close once closed."""
    read = read_journal(session.journal_path)
    events = [parse(line) for line in read.events]
    state = replay(events)
    assert state.run is not None
    runbook = session.runbook
    now = (clock or session.clock).now()
    end = parse_iso(state.closed.ts) if state.closed is not None else now
    steps = _steps(runbook, state)
    run = state.run
    return {
        "v": FORMAT,
        "run": {
            "id": run.id,
            "type": run.type,
            "version": run.version,
            "previous_version": run.previous_version,
            "operator": run.operator,
            "started_at": run.started_at,
            "last_event_at": events[-1].ts if events else None,
            "since_tag": run.since_tag,
            "since_commit": run.since_commit,
        },
        "journal_warnings": list(read.warnings),
        "metrics": _metrics(runbook, state, steps, session.ws.config.targets, now),
        "steps": steps,
        "out_of_order": _out_of_order(events, runbook),
        "phases": _phases(runbook, state),
        "health": _health(state, end, runbook.deploy_environment),
        "decisions": [
            {"ts": d.ts, "choice": d.choice, "rationale": d.rationale}
            | {"commander": d.commander, "criteria": d.criteria}
            for d in state.decisions
        ],
        "branches": [
            {"ts": b.ts, "branch": b.branch, "from_tag": b.from_tag, "commit": b.commit}
            for b in state.branches
        ],
        "timeline": [
            {"ts": e.ts, "type": e.type, "by": e.by or None, "what": describe(e, runbook)}
            for e in events
            if not isinstance(e, CommandStarted | CommandFinished) and not e.LIGHT
        ],
    }


def _steps(runbook: Runbook, state: RunState) -> list[dict[str, Any]]:
    """Every step that ran (or was skipped): its result, attempts, duration against budget."""
    assert state.run is not None
    out = []
    for phase in runbook.for_type(state.run.type):
        for step in phase.steps_for(state.run.type):
            st = state.step(phase.id, step.id)
            shown = step_state(phase, step, state)
            if shown == StepStatus.PENDING and not st.attempts:
                continue
            took = step_seconds(phase, step, state)
            budget = step.budget.high if step.budget else None
            out.append(
                {
                    "phase": phase.id,
                    "step": step.id,
                    "title": step.title,
                    "state": str(shown),
                    "kind": "commands" if step.commands else "window",
                    "attempts": st.attempts,
                    "duration_s": took,
                    "budget_s": budget,
                    "overrun_s": (took - budget)
                    if took is not None and budget and took > budget
                    else None,
                    "reason": st.reason,
                    "workflow_runs": [
                        {"id": c.workflow_run, "url": c.url}
                        for c in st.commands
                        if c.workflow_run is not None
                    ],
                }
            )
    return out


def _metrics(
    runbook: Runbook,
    state: RunState,
    steps: list[dict[str, Any]],
    targets: Targets,
    now: datetime,
) -> dict[str, Any]:
    """The runbook's technical success metrics for this release, and the targets (config
    ``targets:``) they are measured against. The deployment time is the deploy phase's
    wall clock (``cockpit.phaseclock``, as every screen and ``status`` state it).

    Facts only — the two judgements are null while there is nothing to judge yet:

    - ``deployment_time_met``: true when the deployment finished within the target; false
      when it finished past it, is already past it, or the run was closed before it
      finished; null before it started, and while it is under way within the target.
    - ``deployment_succeeded``: true when every deploy step finished (done, or skipped
      with a reason) and one was done; false when one failed or was aborted, or the run
      was closed before they all finished; null before a deploy step started, and while
      the deployment is under way.
    """
    phase = runbook.of_kind("deploy")
    every = (  # every step of the deploy phase for this release, started or not
        [step_state(phase, s, state) for s in phase.steps_for(state.run.type)]
        if phase is not None and state.run is not None
        else []
    )
    clock = deployment_clock(runbook, state, now)
    deploy_time = clock.wall_s if clock else None
    rollback = runbook.kind_id("rollback")
    closed = state.closed is not None
    met: bool | None = None
    if clock is not None and deploy_time is not None:
        if deploy_time >= targets.deployment_time or (closed and not clock.finished):
            met = False
        elif clock.finished:
            met = True
    succeeded: bool | None = None
    if any(s != StepStatus.PENDING for s in every):
        if any(s in (StepStatus.FAILED, StepStatus.ABORTED) for s in every):
            succeeded = False
        elif all(s in FINISHED for s in every):
            # done or skipped with a journaled reason (a `when:` guard, the operator)
            succeeded = any(s == StepStatus.DONE for s in every)
        elif closed:
            succeeded = False
    return {
        "deploy_phase": phase.id if phase else None,
        "deploy_environment": runbook.deploy_environment,
        "deployment": clock.fields() if clock else None,
        "deployment_time_s": deploy_time,
        "deployment_paused_s": clock.paused_s if clock and deploy_time is not None else None,
        "deployment_time_met": met,
        "targets": targets.model_dump(),
        "rolled_back": any(s["phase"] == rollback and s["state"] == StepStatus.DONE for s in steps),
        "rollback_decided": any(d.choice == "rollback" for d in state.decisions),
        "rollback_criteria_met": [e.item.text for _, e in criteria_met(runbook, state)],
        "deployment_succeeded": succeeded,
    }


def _phases(runbook: Runbook, state: RunState) -> list[dict[str, Any]]:
    """Each phase's checklist: who ticked what, what stayed open, an early opening."""
    assert state.run is not None
    out = []
    for phase in runbook.for_type(state.run.type):
        p = progress(runbook, state, phase.id)
        ticked, open_items = [], []
        for entry in tasks(phase, state.run.type):
            st = state.item(phase.id, entry.item.id)
            record = {
                "id": entry.item.id,
                "text": entry.item.text,
                "by": st.by,
                "at": st.at,
                "note": st.note,
                "evidence": st.evidence,
                "role": entry.role,
                "signed_by": st.signed_by if st.checked else None,
                "answer": st.answer if st.checked else None,
            }
            (ticked if st.checked else open_items).append(record)
        override = state.overrides.get(phase.id)
        out.append(
            {
                "id": phase.id,
                "title": phase.title,
                "complete": p.complete,
                "done": p.done,
                "total": p.total,
                "ticked": ticked,
                "unticked": open_items,
                "override": {
                    "by": override.by,
                    "at": override.at,
                    "reason": override.reason,
                    "waiting": override.waiting,
                }
                if override
                else None,
            }
        )
    return out


def _health(state: RunState, end: datetime, target: str | None) -> dict[str, Any]:
    """The deploy environment's baseline, the worst p95 it showed (in every journaled
    sample and state change), time DOWN, every state change."""
    baseline = state.baselines.get(target) if target else None
    worst = state.worst_p95
    if target is None and worst:  # no deploy environment: the worst of any
        target = max(worst, key=lambda env: worst[env])
    return {
        "baseline": baseline.fields() | {"ts": baseline.ts} if baseline else None,
        "worst_p95_ms": worst.get(target) if target else None,
        "worst_p95_env": target,
        "worst_p95_by_env": dict(sorted(worst.items())),
        "down_s": _down_time(state.health_changes, end),
        "changes": [
            {"ts": e.ts, "env": e.env, "previous": e.previous, "state": e.state}
            | {"reason": e.reason}
            for e in state.health_changes
        ],
    }


def _out_of_order(events: list[Event], runbook: Runbook) -> list[dict[str, Any]]:
    """Every step or window started while earlier steps of its phase were not done."""
    out = []
    for e in events:
        if not isinstance(e, StepStarted | WindowStarted) or not e.out_of_order:
            continue
        order = e.out_of_order
        phase = runbook.phases.get(e.phase)
        step = next((s for s in phase.steps if s.id == e.step), None) if phase else None
        out.append(
            {
                "phase": e.phase,
                "step": e.step,
                "title": step.title if step else e.step,
                "by": e.by,
                "reason": order.get("reason"),
                "earlier": [f"{x['step']} ({x['state']})" for x in order.get("earlier", [])],
            }
        )
    return out


def _d(seconds: float | None) -> str:
    return "—" if seconds is None else format_duration(seconds)


def markdown(doc: dict[str, Any]) -> str:
    """The report as Markdown."""
    run, m = doc["run"], doc["metrics"]
    out = [f"# Release report: {run['type']} release {run['version']}", ""]
    started = run["started_at"][:19].replace("T", " ")
    out.append(
        f"Run `{run['id']}`, driven by {run['operator']}, started {started} UTC; "
        f"the last release was {run['previous_version'] or 'untagged'}."
    )
    if doc.get("journal_warnings"):
        out += ["", "**The journal has lines that could not be read; they are left out:**", ""]
        out += [f"- {w}" for w in doc["journal_warnings"]]
    out += [
        "",
        "## Technical success metrics",
        "",
        "| metric | this release | target |",
        "|---|---|---|",
    ]
    t = m["targets"]
    if m["deploy_phase"] is None:
        out.append("| deployment | — (the runbook has no `kind: deploy` phase) | |")
    else:
        clock = m.get("deployment") or {}
        met = m["deployment_time_met"]
        if m["deployment_time_s"] is None:
            deploy = "not started"  # nothing measured: neither met nor not met
        else:
            deploy = clock.get("words") or _d(m["deployment_time_s"])
            if clock.get("running"):
                deploy += " (still running" + (", past the target)" if met is False else ")")
            elif met is None:
                deploy += " (not finished)"
            else:
                deploy += " (met)" if met else " (not met)"
        out.append(f"| deployment time | {deploy} | < {_d(t['deployment_time'])} |")
        done = {True: "yes", False: "no"}.get(m["deployment_succeeded"])
        if m["deployment_succeeded"] and m["rolled_back"]:
            done = "deployed, then rolled back: not a success"  # as the history counts it
        if done is None:
            done = "not yet" if m["deployment_time_s"] is not None else "not started"
        out.append(f"| deployment succeeded | {done} | > {t['success_rate']:g}% of releases |")
    rolled = "yes" if m["rolled_back"] else "no"
    out.append(f"| rolled back | {rolled} | rollback rate < {t['rollback_rate']:g}% |")
    criteria = ", ".join(m["rollback_criteria_met"]) or "none"
    incidents = f"post-deployment incidents < {t['incidents_per_release']:g}"
    out.append(f"| rollback criteria met | {criteria} | {incidents} |")
    out += [
        "",
        "## Steps",
        "",
        "| phase | step | result | attempts | took | budget | overrun |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in doc["steps"]:
        over = _d(s["overrun_s"]) if s["overrun_s"] else ""
        budget = _d(s["budget_s"]) if s["budget_s"] else "—"
        result = s["state"] + (f" ({s['reason']})" if s["reason"] and s["state"] != "done" else "")
        out.append(
            f"| {s['phase']} | {s['title']} | {result} | {s['attempts']} | {_d(s['duration_s'])} | "
            f"{budget} | {over} |"
        )
    runs = [(s, r) for s in doc["steps"] for r in s.get("workflow_runs") or []]
    if runs:
        out.append("")
        for s, r in runs:
            out.append(f"{s['title']}: workflow run {r['id']}: {r['url']}  ")
    if doc["out_of_order"]:
        out += ["", "## Run out of order", ""]
        for o in doc["out_of_order"]:
            out.append(
                f"- {o['title']} ({o['phase']}) by {o['by']} before {', '.join(o['earlier'])} "
                f"were done: {o['reason']}"
            )
    if doc["decisions"]:
        out += ["", "## Decisions", ""]
        for d in doc["decisions"]:
            out.append(
                f"- {d['ts'][:19].replace('T', ' ')} — **{d['choice']}**, decided by "
                f"{d['commander']}: "
                f"{d['rationale']}"
            )
    h = doc["health"]
    out += ["", "## Health", ""]
    if h["baseline"]:
        out.append(
            f"- {doc['metrics'].get('deploy_environment') or 'deploy'} baseline: "
            f"p50 {h['baseline']['p50_ms']:.0f}ms, p95 {h['baseline']['p95_ms']:.0f}ms"
        )
    worst, where = h["worst_p95_ms"], h.get("worst_p95_env")
    seen = "—" if worst is None else f"{worst:.0f}ms"
    out.append(f"- worst {where + ' ' if where else ''}p95 seen: {seen}")
    for env, seconds in sorted(h["down_s"].items()):
        out.append(f"- {env} DOWN for {_d(seconds)} in total")
    for c in h["changes"]:
        why = f" — {c['reason']}" if c.get("reason") else ""
        out.append(
            f"  - {c['ts'][11:19]} {c['env']} {c['previous'] or 'UNKNOWN'} → {c['state']}{why}"
        )
    out += ["", "## Checklists", ""]
    for p in doc["phases"]:
        if not p["ticked"] and not p["override"]:
            if p["unticked"]:
                out += [f"### {p['title']} — nothing ticked ({len(p['unticked'])} items)", ""]
            continue
        out.append(
            f"### {p['title']} — {p['done']}/{p['total']}{' (complete)' if p['complete'] else ''}"
        )
        if p["override"]:
            o = p["override"]
            out.append(
                f"- opened early by {o['by']} ({', '.join(o['waiting'])} not complete): {o['reason']}"
            )
        for item in p["ticked"]:
            note = f" — {item['note']}" if item["note"] else ""
            who = item["by"]
            if item.get("signed_by"):
                who = f"signed by {item['signed_by']} as {item['role']}, recorded by {who}"
            said = f" **{item['answer'].upper()}**" if item.get("answer") else ""
            out.append(f"- [x] {item['text']}{said} ({who}, {(item['at'] or '')[11:19]}){note}")
            if item.get("evidence"):
                out.append(f"  evidence: {evidence_words(item['evidence'])}")
        for item in p["unticked"]:
            note = f" — {item['note']}" if item["note"] else ""
            out.append(f"- [ ] {item['text']}{note}")
        out.append("")
    if doc["branches"]:
        out += ["## Branches", ""]
        out += [
            f"- {b['branch']} from {b['from_tag']} ({b['commit'][:8]})" for b in doc["branches"]
        ]
        out.append("")
    out += ["## Timeline", ""]
    out += [f"- {e['ts'][11:19]} {e['what']}" for e in doc["timeline"]]
    return "\n".join(out).rstrip() + "\n"
