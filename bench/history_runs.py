"""Release runs written as journals, for the history's tests and its benchmark.

A platform team's runbook (not the shipped one: its ids and kinds are its own) and
``write_run``, which writes one run's journal line by line as the driver would — the
run's start, each deploy step's start and end at given minutes, a decision, the
rollback, the close — with health samples and the driver's view in between as filler
(a long run's bulk). Times are exact, so the metrics over them are too.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

PLATFORM_RUNBOOK = {
    "10-ship.yaml": """\
id: ship
title: Ship to prod
kind: deploy
environment: prod
steps:
  - id: migrate
    title: Migrate the ledger
    budget: 10m
    commands: [{run: "echo migrate"}]
  - id: rollout
    title: Roll out the fleet
    budget: 20m
    commands: [{run: "echo rollout"}]
""",
    "20-call.yaml": """\
id: call
title: Go or no-go
kind: decision
sections:
  - title: Pull the release when
    kind: criteria
    items:
      - {text: Error budget burning 10x, id: burn}
steps:
  - id: weigh
    title: Weigh it
    budget: 5m
    checks: ["Owner decides"]
""",
    "30-revert.yaml": """\
id: revert
title: Revert the fleet
kind: rollback
after: [call]
steps:
  - id: revert-fleet
    title: Revert to the last good build
    budget: 15m
    commands: [{run: "echo revert"}]
  - id: confirm-revert
    title: Confirm the revert
    budget: 5m
    commands: [{run: "echo confirm"}]
""",
    "40-patch.yaml": """\
id: patch
title: Emergency patch
kind: hotfix
release_types: [hotfix]
sections:
  - title: Patch
    items: ["Patch reviewed"]
""",
}

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def platform_workspace(root: Path) -> Path:
    """A git workspace with the platform runbook, a prod environment, no runs yet."""
    (root / "runbook").mkdir(parents=True)
    for name, text in PLATFORM_RUNBOOK.items():
        (root / "runbook" / name).write_text(text)
    config = {"runbook": "runbook", "environments": {"prod": {"url": "http://127.0.0.1:9"}}}
    (root / "cockpit.yaml").write_text(yaml.safe_dump(config))
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


@dataclass
class Spec:
    """One run: its start (days after ``T0``), version, and what happened (minutes from the
    start). ``steps`` are (phase, step, start, end, state); ``decision`` is (minute, choice)."""

    day: float
    version: str
    type: str = "standard"
    previous: str | None = None
    steps: list[tuple[str, str, float, float, str]] = field(default_factory=list)
    decision: tuple[float, str] | None = None
    closed: float | None = None
    filler: int = 0
    checks: int = 0
    """Items ticked (``item.checked``) during the run, as checklists are."""
    since_commit: str | None = None

    @property
    def start(self) -> datetime:
        return T0 + timedelta(days=self.day)

    @property
    def run_id(self) -> str:
        return f"{self.start:%Y%m%d-%H%M%S}-{self.type}-{self.version}"


def _ts(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


SAMPLE = (
    '{{"v":1,"ts":"{ts}","type":"health.sample","by":"Dana","env":"prod","state":"READY",'
    '"latency_ms":41.5,"http_status":200,"p50_ms":40.2,"p95_ms":61.0}}\n'
)


def _line(ts: str, event: dict) -> str:
    line = {"v": 1, "ts": ts, "type": event.pop("type"), "by": "Dana"} | event
    return json.dumps(line, separators=(",", ":")) + "\n"


def write_run(state_dir: Path, spec: Spec) -> Path:
    """The run's journal in ``STATE/runs/ID/journal.jsonl``, as the driver writes it."""
    folder = state_dir / "runs" / spec.run_id
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(state_dir, 0o700)
    os.chmod(state_dir / "runs", 0o700)
    at = spec.start
    lines: list[tuple[datetime, dict]] = []
    run = {
        "id": spec.run_id,
        "type": spec.type,
        "version": spec.version,
        "operator": "Dana",
        "started_at": _ts(at),
        "previous_version": spec.previous,
    }
    if spec.since_commit:
        run["since_commit"] = spec.since_commit
    lines.append((at, {"type": "run.started", "run": run, "runbook": "runbook", "config": "c"}))
    for phase, step, start, end, state in spec.steps:
        began, ended = at + timedelta(minutes=start), at + timedelta(minutes=end)
        lines.append((began, {"type": "step.started", "phase": phase, "step": step, "attempt": 1}))
        finished = {"type": "step.finished", "phase": phase, "step": step, "state": state}
        finished |= {"exit_code": 0 if state == "done" else 1, "duration_s": (end - start) * 60}
        lines.append((ended, finished))
    if spec.decision:
        minute, choice = spec.decision
        lines.append(
            (
                at + timedelta(minutes=minute),
                {"type": "decision.recorded", "choice": choice, "rationale": "burn 12x"}
                | {"commander": "Ines", "criteria": ["burn"]},
            )
        )
    for n in range(spec.checks):
        tick = {"type": "item.checked", "phase": "call", "item": f"item-{n}", "note": "ok"}
        lines.append((at + timedelta(seconds=n), tick))
    last = max((t for t, _ in lines), default=at)
    rendered = [(_ts(t), _line(_ts(t), e)) for t, e in lines]
    step = (last - at) / (spec.filler + 1)
    for n in range(spec.filler):  # health samples and the view, between start and the end
        ts = _ts(at + step * (n + 1))
        if n % 20 == 0:
            rendered.append((ts, _line(ts, {"type": "view.opened", "phase": "ship"})))
        else:
            rendered.append((ts, SAMPLE.format(ts=ts)))
    if spec.closed is not None:
        closed = _ts(at + timedelta(minutes=spec.closed))
        rendered.append((closed, _line(closed, {"type": "run.closed"})))
    rendered.sort(key=lambda pair: pair[0])
    path = folder / "journal.jsonl"
    path.write_text("".join(line for _, line in rendered))
    return path


def deployed(day: float, version: str, previous: str | None, minutes: float = 25, **kw) -> Spec:
    """A release whose two deploy steps took ``minutes`` in all, then closed."""
    half = minutes / 2
    steps = [
        ("ship", "migrate", 5, 5 + half, "done"),
        ("ship", "rollout", 5 + half, 5 + minutes, "done"),
    ]
    return Spec(day, version, previous=previous, steps=steps, closed=minutes + 30, **kw)
