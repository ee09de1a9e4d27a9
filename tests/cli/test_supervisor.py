"""A command outlives the cockpit: the driver killed (SIGKILL), its terminal closed (SIGHUP)
or stopped (SIGTERM) mid-step; headless resume; recovery from the status file; order.

Real cockpit processes, real supervisors, real commands, another team's runbook.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from cockpit.driver import RunDriver
from cockpit.journal import read_journal
from cockpit.report import build
from cockpit.session import RunSession
from cockpit.supervisor import read_status
from cockpit.workspace import Workspace
from tests.helpers import cockpit_cmd, phase_workspace, wait_for
from tests.rollout import (
    ROWS,
    headless,
    journal_of,
    printed,
    started,
    status_json,
    step_of,
)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGHUP, signal.SIGTERM])
def test_the_command_outlives_its_cockpit(rollout, sig):
    proc = headless(rollout)
    wait_for(lambda: started(rollout, "schema"), "the schema step runs")
    # it has printed a few rows: its output pipe is in use
    wait_for(lambda: len(printed(rollout, "schema")) >= 3, "the step prints")
    os.kill(proc.pid, sig)
    expected = -sig if sig == signal.SIGKILL else 128 + sig
    assert proc.wait(timeout=20) == expected
    marker = rollout.parent / "marker"
    wait_for(marker.exists, "the command ran to its end")
    wait_for(
        lambda: step_of(status_json(rollout), "schema")["state"] != "running",
        "the supervisor recorded the outcome",
    )
    schema = step_of(status_json(rollout), "schema")
    assert (schema["state"], schema["exit_code"]) == ("done", 0)
    assert printed(rollout, "schema") == ROWS  # every line, once
    events = read_journal(journal_of(rollout)).events
    if sig != signal.SIGKILL:  # a signal the cockpit can hear: it says why it left
        released = [e for e in events if e["type"] == "lock.released"]
        assert released and signal.Signals(sig).name in released[-1]["reason"]
        assert "schema keeps running under its supervisor" in released[-1]["reason"]


def test_headless_resumes_a_step_left_running_then_goes_on(rollout):
    first = headless(rollout)
    wait_for(lambda: started(rollout, "schema"), "the schema step runs")
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    doc = status_json(rollout)
    assert step_of(doc, "schema")["state"] == "running"
    assert step_of(doc, "schema")["supervisor"]["alive"] is True
    second = headless(rollout, stdout=subprocess.PIPE)
    events = lambda: read_journal(journal_of(rollout)).events  # noqa: E731
    wait_for(lambda: any(e["type"] == "window.started" for e in events()), "the soak window opens")
    for item in ("error-budget-burn-below-2x", "p99-latency-within-slo"):
        subprocess.run(
            cockpit_cmd("--workspace", str(rollout), "check", "rollout", item, "--note", "graphs"),
            check=True,
            capture_output=True,
        )
    out, _ = second.communicate(timeout=30)
    assert second.returncode == 0, out
    assert "Apply schema change: still running (supervisor pid" in out
    assert "resuming Apply schema change" in out and "  applied row 30" in out
    assert "canary at 10%" in out
    doc = status_json(rollout)
    assert [(s["id"], s["state"]) for s in doc["phases"][0]["steps"]] == [
        ("schema", "done"),
        ("canary", "done"),
        ("soak", "done"),
    ]
    assert step_of(doc, "schema")["attempts"] == 1  # followed, not run again
    assert printed(rollout, "schema") == ROWS
    soak = [e for e in events() if e["type"] == "window.ended"]
    assert soak[-1]["how"] == "its checks are ticked"


def test_a_step_that_ended_while_no_cockpit_watched_is_recorded_from_its_status(rollout):
    """The supervisor itself was killed after it wrote the final status but before it
    journaled: the next driver records the real outcome from the status file."""
    ws = Workspace.open(rollout)
    session = RunSession(ws, journal_of(rollout).parent.name)
    session.write(session.plan_step_start("rollout", "canary", ["echo canary at 10%"]))
    session.refresh()
    status = session.log_path("rollout", "canary").with_suffix(".status")
    status.parent.mkdir(parents=True, exist_ok=True)
    status.write_text(
        json.dumps(
            {
                "attempt": 1,
                "state": "failed",
                "exit_code": 7,
                "signal": None,
                "reason": "`deploy` failed: exit 7",
                "duration_s": 3.2,
                "supervisor": {"pid": 999999, "create_time": 1.0},
                "token": "t-gone",
            }
        )
    )
    driver = RunDriver(session)
    import asyncio

    found = asyncio.run(driver.reconcile())
    assert [(f.step, f.what) for f in found] == [("canary", "recorded")]
    st = session.state.step("rollout", "canary")
    assert (st.state, st.exit_code, st.reason) == ("failed", 7, "`deploy` failed: exit 7")
    session.close()


def test_out_of_order_needs_a_reason_and_is_reported(rollout):
    refused = subprocess.run(
        [
            *cockpit_cmd("--workspace", str(rollout), "run", "rollout", "--headless", "--yes"),
            "--from",
            "canary",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode == 2
    assert "run out of order: Apply schema change (pending) is not done" in refused.stdout
    assert not started(rollout, "canary")
    ran = headless(
        rollout, "--from", "canary", "--out-of-order", "schema applied by the DBA by hand"
    )
    events = lambda: read_journal(journal_of(rollout)).events  # noqa: E731
    # the canary runs; then the soak window waits for its checks (no terminal here)
    wait_for(lambda: any(e["type"] == "window.started" for e in events()), "soak window opens")
    ran.send_signal(signal.SIGTERM)
    assert ran.wait(timeout=20) == 128 + signal.SIGTERM
    session = RunSession(Workspace.open(rollout), journal_of(rollout).parent.name)
    st = session.state.step("rollout", "canary")
    assert st.out_of_order == {
        "reason": "schema applied by the DBA by hand",
        "earlier": [{"step": "schema", "state": "pending"}],
    }
    report = build(session)
    assert report["out_of_order"][0] == {
        "phase": "rollout",
        "step": "canary",
        "title": "Shift 10% traffic to canary",
        "by": "ana",
        "reason": "schema applied by the DBA by hand",
        "earlier": ["schema (pending)"],
    }
    # the soak window after it was started out of order too (the schema is still pending)
    assert [o["step"] for o in report["out_of_order"]] == ["canary", "soak"]
    session.close()


def test_headless_never_ends_a_window_as_done_for_nobody(tmp_path):
    """No terminal: a window past its budget with checks open, or one with nothing to wait
    for, stops the run (exit 3) and its timer stays open; nothing is recorded as done."""
    watch = """\
id: watch
title: Watch the canary
steps:
  - id: dashboards
    title: Watch dashboards
    budget: 1s
    checks: [Error rate flat]
  - id: handover
    title: Hand over to on-call
"""
    root = phase_workspace(tmp_path / "ws", {"watch.yaml": watch})
    cli = cockpit_cmd("--workspace", str(root))
    subprocess.run([*cli, "start", "--type", "standard", "--version", "1.0.0"], check=True)
    run = [*cli, "run", "watch", "--headless", "--yes"]
    first = subprocess.run(
        run, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60
    )
    assert first.returncode == 3, first.stdout + first.stderr
    assert "over its budget 1s with checks open" in first.stdout
    doc = status_json(root)
    assert step_of(doc, "dashboards")["state"] == "running"  # the timer stays open
    subprocess.run([*cli, "check", "watch", "error-rate-flat"], check=True, capture_output=True)
    second = subprocess.run(
        run, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60
    )
    assert second.returncode == 3, second.stdout + second.stderr
    assert "a timed window with no checks, and no terminal here to end it" in second.stdout
    doc = status_json(root)
    assert step_of(doc, "dashboards")["state"] == "done"  # its check ended it
    assert step_of(doc, "handover")["state"] == "running"


def test_a_later_headless_run_waits_on_a_window_left_open(tmp_path):
    """A window opened earlier (by the TUI, or a run stopped while it waited) is waited on
    by the next headless run, never refused as "already running"."""
    watch = """\
id: watch
title: Watch the canary
steps:
  - id: dashboards
    title: Watch dashboards
    budget: 5m
    checks: [Error rate flat]
  - id: handover
    title: Hand over
    commands:
      - run: "echo handed over"
"""
    root = phase_workspace(tmp_path / "ws", {"watch.yaml": watch})
    cli = cockpit_cmd("--workspace", str(root))
    subprocess.run([*cli, "start", "--type", "standard", "--version", "1.0.0"], check=True)
    run = [*cli, "run", "watch", "--headless", "--yes"]

    def headless(out):
        # a pipe for stdin: not a terminal, and never at EOF while it waits
        return subprocess.Popen(run, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.PIPE)

    first_out, second_out = tmp_path / "first.out", tmp_path / "second.out"
    with first_out.open("w") as fh:
        first = headless(fh)
        wait_for(lambda: "tick its checks to end it" in first_out.read_text(), "the window opens")
        first.send_signal(signal.SIGTERM)  # stops driving; the window's timer stays open
        assert first.wait(timeout=60) == 128 + signal.SIGTERM
    assert step_of(status_json(root), "dashboards")["state"] == "running"
    with second_out.open("w") as fh:
        second = headless(fh)
        try:
            wait_for(
                lambda: (
                    "the window is already open: waiting on its checks" in second_out.read_text()
                ),
                "the second run waits on the open window",
            )
            subprocess.run([*cli, "check", "watch", "error-rate-flat"], check=True)
            assert second.wait(timeout=60) == 0, second_out.read_text()
        finally:
            second.kill()
            second.wait()
    said = second_out.read_text()
    assert "already running" not in said and "handed over" in said
    doc = status_json(root)
    assert step_of(doc, "dashboards")["state"] == "done"
    assert step_of(doc, "handover")["state"] == "done"


def test_a_step_whose_supervisor_vanished_is_not_started_again(tmp_path):
    """kill -9 of the headless driver and of the step's supervisor mid-step: the next
    headless run records the step as vanished and stops (exit 1) — a half-run command (a
    migration) is never started again unasked."""
    phase = """\
id: ship
title: Ship
steps:
  - id: migrate
    title: Migrate
    commands:
      - run: "echo attempt >> attempts.txt; for i in $(seq 1 50); do echo row $i; sleep 0.1; done"
  - id: deploy
    title: Deploy
    commands:
      - run: "echo deployed"
"""
    root = phase_workspace(tmp_path / "ws", {"ship.yaml": phase})
    cli = cockpit_cmd("--workspace", str(root))
    subprocess.run([*cli, "start", "--type", "standard", "--version", "1.0.0"], check=True)
    run = [*cli, "run", "ship", "--headless", "--yes"]
    first = subprocess.Popen(run, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    status = root / ".cockpit"
    wait_for(lambda: any(status.glob("runs/*/logs/ship/migrate.status")), "the step started")
    path = next(status.glob("runs/*/logs/ship/migrate.status"))
    # mid-step: the command runs (killed before the spec was handed over, nothing ran at all)
    wait_for(lambda: (read_status(path) or {}).get("commands"), "the command started")
    first.kill()  # kill -9 of the cockpit, then of the step's supervisor (pid in its status)
    first.wait()
    os.kill(json.loads(path.read_text())["supervisor"]["pid"], signal.SIGKILL)
    second = subprocess.run(
        run, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60
    )
    assert second.returncode == 1, second.stdout + second.stderr
    assert "it ended failed while no cockpit watched" in second.stdout
    assert (root / "attempts.txt").read_text() == "attempt\n"  # not run again
    assert step_of(status_json(root), "deploy")["state"] == "pending"


def test_a_step_whose_supervisor_never_got_it_is_started_again(tmp_path):
    """The driver died after writing the step's "starting" status and before handing the
    step to its supervisor (which then exited): nothing ran, so the next headless run
    records that and starts the step again instead of stopping on a "lost" step."""
    from cockpit.runner import build_spec, render_commands
    from cockpit.supervisor import new_status, write_status

    phase = """\
id: ship
title: Ship
steps:
  - id: migrate
    title: Migrate
    commands:
      - run: "echo attempt >> attempts.txt"
"""
    root = phase_workspace(tmp_path / "ws", {"ship.yaml": phase})
    cli = cockpit_cmd("--workspace", str(root))
    subprocess.run([*cli, "start", "--type", "standard"], check=True, capture_output=True)
    ws = Workspace.open(root)
    session = RunSession(ws, ws.active_run_id(), operator="ana")
    step = session.step_spec("ship", "migrate")
    rendered = render_commands(session, step)
    session.write(session.plan_step_start("ship", "migrate", rendered))
    gone = subprocess.Popen(["true"])  # a supervisor that exited without its step
    gone.wait()
    spec = build_spec(session, "ship", step, rendered, 1)
    session.log_path("ship", "migrate").parent.mkdir(parents=True, exist_ok=True)
    write_status(Path(spec.status), new_status(spec, gone.pid, None, "starting"))
    session.close()
    again = subprocess.run(
        [*cli, "run", "ship", "--headless", "--yes"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert "nothing ran" in again.stdout
    assert (root / "attempts.txt").read_text() == "attempt\n"  # run once, now
    assert step_of(status_json(root), "migrate")["state"] == "done"
