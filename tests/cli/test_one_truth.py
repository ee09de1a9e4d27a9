"""One truth on every surface: `cockpit status` (text and --json) and the report state the
same deployment time, the same step states as the screens, and the decision, the driver,
health and the rollback criteria — real `cockpit` processes, a real SimService."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest

from cockpit.clock import parse_iso
from cockpit.demo_sandbox import write_config
from cockpit.driver import RunDriver
from cockpit.journal import read_journal
from cockpit.monitor import baseline_of
from cockpit.probe import READY, probe_once
from cockpit.probe_cli import probe_all
from cockpit.progress import step_state
from cockpit.session import RunSession
from cockpit.simservice import SimService
from cockpit.workspace import Workspace
from tests.helpers import cockpit_cmd, phase_workspace, run_cli, subprocess_env

SHIP = """\
id: ship
title: Ship
kind: deploy
environment: production
steps:
  - id: migrate
    title: Migrate
    budget: 15m
    commands:
      - run: "echo migrated"
  - id: roll
    title: Roll out
    budget: 20m
    commands:
      - run: "test -f {marker} && echo rolled"
"""

VERIFY = """\
id: verify
title: Verify production
sections:
  - title: Health
    items:
      - {text: Production answers within budget, id: production-ok, auto: {health: production}}
"""


@pytest.fixture
def service():
    with SimService(latency_s=0.02) as svc:
        yield svc


def journal(root) -> list[dict]:
    return read_journal(next(root.glob(".cockpit/runs/*/journal.jsonl"))).events


def status_json(root) -> dict:
    out = run_cli(root, "status", "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def step_of(doc: dict, step_id: str) -> dict:
    return next(s for p in doc["phases"] for s in p["steps"] if s["id"] == step_id)


def test_status_and_report_state_one_deployment_time(tmp_path, service):
    """Two deploy steps, the second failing once and retried after a pause: status --json,
    status, the report and its JSON carry the same wall clock and the same pause, and both
    are what the journal says (first start to last end; the time no step ran)."""
    marker = tmp_path / "marker"
    root = phase_workspace(
        tmp_path / "ws",
        {"ship.yaml": SHIP},
        environments={"production": {"url": service.url("production")}},
        vars={"marker": str(marker)},
    )
    assert run_cli(root, "start", "--type", "standard", "--version", "1.0.0").returncode == 0
    first = run_cli(root, "run", "ship", "--headless", "--yes")
    assert first.returncode == 1, first.stdout + first.stderr  # roll out failed: a pause
    marker.touch()
    second = run_cli(root, "run", "ship", "--headless", "--yes")
    assert second.returncode == 0, second.stdout + second.stderr

    deployment = status_json(root)["deployment"]
    report = json.loads(run_cli(root, "report", "--format", "json").stdout)
    metrics = report["metrics"]
    assert metrics["deployment"] == deployment
    assert metrics["deployment_time_s"] == deployment["wall_clock_s"]
    assert metrics["deployment_paused_s"] == deployment["paused_s"]
    assert deployment["finished"] and not deployment["running"]
    assert deployment["budget_s"] == 35 * 60

    events = journal(root)
    starts = [parse_iso(e["ts"]) for e in events if e["type"] == "step.started"]
    ends = [parse_iso(e["ts"]) for e in events if e["type"] == "step.finished"]
    assert len(starts) == len(ends) == 3  # migrate, roll out (failed), roll out again
    wall = (max(ends) - min(starts)).total_seconds()
    busy = sum((end - start).total_seconds() for start, end in zip(starts, ends, strict=True))
    assert deployment["wall_clock_s"] == pytest.approx(wall, abs=0.002)
    assert deployment["paused_s"] == pytest.approx(wall - busy, abs=0.002)
    assert deployment["paused_s"] > 0  # between the two runs no step ran

    words = deployment["words"]
    assert words.startswith("deployment ") and "wall clock" in words and "budget 35m" in words
    assert words in run_cli(root, "status").stdout
    assert words in run_cli(root, "report").stdout
    assert words in second.stdout  # headless's closing table


def test_status_judges_a_ticked_window_done_as_the_screens_do(workspace_dir):
    """`assess-impact` (a timed window) whose checks are all ticked from scripts, with no
    driver to journal its end: status says done, as every screen judges it (the journal
    alone still says running)."""
    assert run_cli(workspace_dir, "start", "--type", "standard").returncode == 0
    ws = Workspace.open(workspace_dir)
    run_id = next(workspace_dir.glob(".cockpit/runs/*")).name
    session = RunSession(ws, run_id)
    asyncio.run(RunDriver(session).start_step("rollback-decision", "assess-impact"))
    phase = session.runbook.phase("rollback-decision")
    step = next(s for s in phase.steps if s.id == "assess-impact")
    session.close()
    for check in step.checks:
        ticked = run_cli(workspace_dir, "check", "rollback-decision", check.id)
        assert ticked.returncode == 0, ticked.stderr

    reader = RunSession(ws, run_id)
    assert reader.state.step("rollback-decision", "assess-impact").state == "running"
    judged = step_state(phase, step, reader.state)
    assert judged == "done"
    last_tick = max(reader.state.item("rollback-decision", c.id).at for c in step.checks)
    reader.close()

    shown = step_of(status_json(workspace_dir), "assess-impact")
    assert shown["state"] == judged
    assert shown["finished_at"] == last_tick
    text = run_cli(workspace_dir, "status").stdout
    line = next(ln for ln in text.splitlines() if "step assess-impact" in ln)
    assert line.split()[-1] == "done"


def test_status_json_carries_decision_driver_health_and_criteria(workspace_dir, service):
    write_config(workspace_dir, service.url("staging"), service.url("production"), False)
    assert run_cli(workspace_dir, "start", "--type", "standard").returncode == 0
    empty = status_json(workspace_dir)
    assert empty["decision"] is None and empty["driver"] is None
    assert empty["health"]["production"]["state"] is None
    assert {c["id"] for c in empty["rollback_criteria"]} == {
        "sev1-incident",
        "critical-broken",
        "data-corruption",
        "security-vulnerability",
        "performance-10x",
    }
    assert not any(c["met"] for c in empty["rollback_criteria"])

    ws = Workspace.open(workspace_dir)
    run_id = next(workspace_dir.glob(".cockpit/runs/*")).name
    driver = RunSession(ws, run_id, operator="ana")
    driver.take_lock()
    urls = {name: ws.config.ready_url(name) for name in ("staging", "production")}
    for health in asyncio.run(probe_all(urls, ws.config, 3)):
        driver.write(driver.plan_health_change(health.summary(), None))
        if health.name == "production":
            driver.write(driver.plan_baseline(baseline_of(health)))
            production = health
    signal = {"signal": "production DOWN", "error": "HTTP 503"}
    driver.write(driver.plan_flag("rollback-decision", "critical-broken", signal))
    driver.refresh()
    driver.write(driver.plan_decision("rollback", "checkout is down", "dana"))

    doc = status_json(workspace_dir)
    decision = doc["decision"]
    assert (decision["choice"], decision["rationale"], decision["commander"]) == (
        "rollback",
        "checkout is down",
        "dana",
    )
    assert decision["ts"] and decision["criteria"] == ["critical-broken"]
    assert doc["driver"]["operator"] == "ana" and doc["driver"]["pid"] == os.getpid()
    assert doc["driver"]["alive"] is True and doc["driver"]["since"]
    assert doc["driver"]["host"]
    prod = doc["health"]["production"]
    assert prod["state"] == READY and prod["p95_ms"] == production.p95
    assert prod["baseline_p95_ms"] == production.p95
    assert doc["health"]["staging"]["state"] == READY
    criteria = {c["id"]: c for c in doc["rollback_criteria"]}
    assert criteria["critical-broken"]["met"] is True
    assert criteria["critical-broken"]["evidence"] == signal
    assert criteria["sev1-incident"]["met"] is False
    assert criteria["sev1-incident"]["evidence"] is None
    text = run_cli(workspace_dir, "status").stdout
    assert "driven by ana" in text and "DECISION: ROLL BACK by dana" in text
    assert "production READY" in text

    driver.close()  # stops driving: nobody holds the lock
    assert status_json(workspace_dir)["driver"] is None

    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, signal, sys\n"
            "from pathlib import Path\n"
            "from cockpit.session import RunSession\n"
            "from cockpit.workspace import Workspace\n"
            "s = RunSession(Workspace.open(Path(sys.argv[1])), sys.argv[2])\n"
            "s.take_lock()\n"
            "print(os.getpid(), flush=True)\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n",
            str(workspace_dir),
            run_id,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=subprocess_env(COCKPIT_OPERATOR="bo"),
    )
    assert killed.returncode == -9, killed.stderr
    gone = status_json(workspace_dir)["driver"]
    assert gone["operator"] == "bo" and gone["pid"] == int(killed.stdout)
    assert gone["alive"] is False and gone["state"] == "gone" and gone["why"]
    assert "not driven: bo" in run_cli(workspace_dir, "status").stdout


def test_a_slow_production_is_refused_with_its_p95_though_one_probe_says_ready(tmp_path, service):
    """The reported case: one probe of a slow production answers READY (what the item
    used to judge) while its p95 is over the budget: the item refuses with the figures,
    as the health panel would; a fast production ticks it with the figures in words."""
    root = phase_workspace(
        tmp_path / "ws",
        {"verify.yaml": VERIFY},
        environments={"production": {"url": service.url("production")}},
        health={"p95_budget": "300ms", "timeout": "5s"},
    )
    assert run_cli(root, "start", "--type", "standard", "--version", "1.0.0").returncode == 0
    service.set_mode("production", "slow")  # 480-800 ms, every answer READY
    url = Workspace.open(root).config.ready_url("production")
    one = asyncio.run(probe_once("production", url, 5.0))
    assert one.state == READY and one.http_status == 200  # one probe alone would tick

    refused = run_cli(root, "check", "verify", "production-ok")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "Traceback" not in refused.stderr
    assert "not verified: production DEGRADED: p95 " in refused.stderr
    assert " ms over the 300 ms budget" in refused.stderr
    failed = [e for e in journal(root) if e["type"] == "item.verification_failed"]
    assert len(failed) == 1
    evidence = failed[0]["evidence"]
    assert evidence["state"] == "DEGRADED" and evidence["p95_ms"] > 300
    assert evidence["budget"] == "300 ms" and evidence["reason"].startswith("production DEGRADED")
    assert f"p95 {evidence['p95_ms']:.0f} ms" in evidence["reason"]
    assert not any(e["type"] == "item.checked" for e in journal(root))

    service.set_mode("production", "healthy")
    ticked = run_cli(root, "check", "verify", "production-ok")
    assert ticked.returncode == 0, ticked.stderr
    said = ticked.stdout
    assert "verified and ticked verify/production-ok: production READY · p95 " in said
    assert "(budget 300 ms) · db ok · redis ok" in said
    assert "{" not in said  # words, never a Python dict
    item = status_json(root)["phases"][0]["items"][0]
    assert item["checked"] and item["evidence"]["state"] == READY
    assert item["evidence"]["p95_ms"] <= 300 and item["evidence"]["window"] == "5 probes now"


def test_status_text_names_the_deployment_clock_while_nothing_ran(tmp_path):
    """Before the deploy phase starts, status --json says so (no wall clock), and the
    text shows no deployment line."""
    root = phase_workspace(
        tmp_path / "ws",
        {"ship.yaml": SHIP},
        environments={"production": {"url": "http://127.0.0.1:9"}},
        vars={"marker": str(tmp_path / "marker")},
    )
    subprocess.run(
        cockpit_cmd("--workspace", str(root), "start", "--type", "standard"),
        check=True,
        capture_output=True,
    )
    deployment = status_json(root)["deployment"]
    assert deployment["wall_clock_s"] is None and deployment["paused_s"] is None
    assert deployment["words"] == "deployment not started · budget 35m"
    assert "wall clock" not in run_cli(root, "status").stdout


RESTORE = """\
id: restore
title: Restore
steps:
  - id: verify-restoration
    title: Verify service restoration
    commands:
      - health: production
"""


def test_a_steps_health_command_judges_as_the_panel_does(tmp_path, service):
    """A step's built-in ``health:`` command is judged like the panel, not on one probe: a
    slow production whose every answer is READY fails the step with its p95 figures."""
    root = phase_workspace(
        tmp_path / "ws",
        {"restore.yaml": RESTORE},
        environments={"production": {"url": service.url("production")}},
        health={"p95_budget": "300ms", "timeout": "5s"},
    )
    assert run_cli(root, "start", "--type", "standard", "--version", "1.0.0").returncode == 0
    service.set_mode("production", "slow")
    failed = run_cli(root, "run", "restore", "--headless", "--yes")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "production DEGRADED: p95 " in failed.stdout
    assert " ms over the 300 ms budget" in failed.stdout
    assert step_of(status_json(root), "verify-restoration")["state"] == "failed"
    service.set_mode("production", "healthy")
    done = run_cli(root, "run", "restore", "--headless", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "production READY · p95 " in done.stdout


def test_status_counts_a_procedure_by_its_steps_as_the_dashboard_does(tmp_path, service):
    marker = tmp_path / "marker"
    marker.write_text("")
    root = phase_workspace(
        tmp_path / "ws",
        {"ship.yaml": SHIP},
        environments={"production": {"url": service.url("production")}},
        vars={"marker": str(marker)},
    )
    assert run_cli(root, "start", "--type", "standard", "--version", "1.0.0").returncode == 0
    before = run_cli(root, "status")
    assert "ship" in before.stdout and "0/2   steps" in before.stdout, before.stdout
    ran = run_cli(root, "run", "ship", "--headless", "--yes")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    (phase,) = status_json(root)["phases"]
    assert phase["progress"] == {"done": 2, "total": 2, "of": "steps"}
    assert "2/2   steps" in run_cli(root, "status").stdout


def test_a_deployment_stopped_half_way_is_neither_met_nor_succeeded(tmp_path, service):
    """Only the first of the deploy phase's two steps ran (the second never started): the
    report never calls that a successful deployment within its target."""
    root = phase_workspace(
        tmp_path / "ws",
        {"ship.yaml": SHIP},
        environments={"production": {"url": service.url("production")}},
        vars={"marker": str(tmp_path / "absent")},
    )
    session = RunSession.start(Workspace.open(root), "standard", "1.0.0", operator="ana")
    try:
        session.write(session.plan_step_start("ship", "migrate", ["echo migrated"]))
        session.write(session.plan_step_finished("ship", "migrate", "done", 0, None, 1.0))
    finally:
        session.close()
    metrics = json.loads(run_cli(root, "report", "--format", "json").stdout)["metrics"]
    assert metrics["deployment_time_s"] is not None  # a clock, yet no success
    # under way (the run is open, nothing failed): not yet judged, never a success
    assert metrics["deployment_succeeded"] is None
    assert metrics["deployment_time_met"] is None
    session = RunSession(Workspace.open(root), session.run_id, operator="ana")
    try:
        session.write(session.plan_close("stopped half way"))
    finally:
        session.close()
    closed = run_cli(root, "report", "--run", session.run_id, "--format", "json")
    metrics = json.loads(closed.stdout)["metrics"]
    assert metrics["deployment_succeeded"] is False  # closed before it finished
    assert metrics["deployment_time_met"] is False
