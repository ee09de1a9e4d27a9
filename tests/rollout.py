"""Another team's runbook (a platform team's canary rollout, not the shipped one) and the
small readers the recovery tests share: the journal, `cockpit status --json`, a step log."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from cockpit.journal import read_journal
from tests.helpers import cockpit_cmd, phase_workspace

ROLLOUT = """\
id: rollout
title: Canary rollout (payments-api)
steps:
  - id: schema
    title: Apply schema change
    budget: 2m
    commands:
      - run: "for i in $(seq 1 30); do echo applied row $i; sleep 0.05; done; touch {marker}"
  - id: canary
    title: Shift 10% traffic to canary
    commands:
      - run: "echo canary at 10%"
  - id: soak
    title: Soak the canary
    budget: 15m
    checks:
      - Error budget burn below 2x
      - p99 latency within SLO
"""
ROWS = [f"applied row {i}" for i in range(1, 31)]


def make_rollout(tmp_path: Path) -> Path:
    marker = tmp_path / "marker"
    root = phase_workspace(tmp_path / "ws", {"rollout.yaml": ROLLOUT}, vars={"marker": str(marker)})
    subprocess.run(
        cockpit_cmd("--workspace", str(root), "start", "--type", "standard", "--version", "2.4.0"),
        check=True,
        capture_output=True,
    )
    return root


def journal_of(root: Path) -> Path:
    return next(root.glob(".cockpit/runs/*/journal.jsonl"))


def started(root: Path, step: str) -> bool:
    events = read_journal(journal_of(root)).events
    return any(e["type"] == "command.started" and e.get("step") == step for e in events)


def status_json(root: Path) -> dict:
    out = subprocess.run(
        cockpit_cmd("--workspace", str(root), "status", "--json"),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def step_of(doc: dict, step_id: str) -> dict:
    return next(s for p in doc["phases"] for s in p["steps"] if s["id"] == step_id)


def printed(root: Path, step: str) -> list[str]:
    log = next(root.glob(f".cockpit/runs/*/logs/rollout/{step}.log")).read_text()
    return [line.split(" ", 2)[2] for line in log.splitlines() if line.split(" ")[1] == "O"]


def headless(root: Path, *extra: str, stdout=subprocess.DEVNULL) -> subprocess.Popen:
    return subprocess.Popen(
        cockpit_cmd("--workspace", str(root), "run", "rollout", "--headless", "--yes", *extra),
        stdout=stdout,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
