"""The core judgements every surface shares: the deploy phase's wall clock (pauses apart,
every attempt counted) and the health verdict a self-verifying item takes from the
health panel's own window — journals written through a session, a real SimService."""

from __future__ import annotations

import pytest

from cockpit.clock import FrozenClock
from cockpit.driver import RunDriver
from cockpit.monitor import HealthMonitor
from cockpit.phaseclock import deployment_clock
from cockpit.probe import DEGRADED, READY, make_client
from cockpit.session import RunSession
from cockpit.simservice import SimService
from cockpit.verdict import judge
from cockpit.workspace import Workspace
from tests.conftest import FROZEN
from tests.helpers import phase_workspace

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
      - run: "echo rolled"
"""

VERIFY = """\
id: verify
title: Verify production
sections:
  - title: Health
    items:
      - {text: Production answers within budget, id: production-ok, auto: {health: production}}
"""


def test_the_deployment_clock_counts_every_attempt_and_the_pauses_apart(tmp_path):
    """Migrate 1m, a 2m pause, roll out failing after 30s, a 1m30s pause, roll out again
    (45s): 5:45 on the wall clock, 3:30 of it paused; to now while a step runs."""
    root = phase_workspace(
        tmp_path / "ws", {"ship.yaml": SHIP}, environments={"production": {"url": "http://h"}}
    )
    clock = FrozenClock(FROZEN)
    session = RunSession.start(Workspace.open(root), "standard", "1.0.0", clock, "ana")
    runbook = session.runbook

    def step(step_id: str, seconds: float, state: str = "done") -> None:
        session.write(session.plan_step_start("ship", step_id, ["echo"]))
        clock.advance(seconds)
        session.write(session.plan_step_finished("ship", step_id, state, 0, None, seconds))
        session.refresh()

    assert deployment_clock(runbook, session.state, clock.now()).wall_s is None
    step("migrate", 60)
    clock.advance(120)
    step("roll", 30, "failed")
    clock.advance(90)
    session.write(session.plan_step_start("ship", "roll", ["echo"]))
    session.refresh()
    clock.advance(20)
    running = deployment_clock(runbook, session.state, clock.now())
    assert running.running and not running.finished and running.ended_at is None
    assert (running.wall_s, running.paused_s) == (320, 210)
    clock.advance(25)
    session.write(session.plan_step_finished("ship", "roll", "done", 0, None, 45))
    session.refresh()
    clock.advance(600)  # time after the last step is not the deployment's
    done = deployment_clock(runbook, session.state, clock.now())
    assert (done.wall_s, done.paused_s, done.budget_s) == (345, 210, 35 * 60)
    assert done.finished and not done.running
    assert done.words("deployment") == "deployment 5:45 wall clock (3:30 paused) of budget 35m"
    session.close()


@pytest.fixture
def service():
    with SimService(latency_s=0.02) as svc:
        yield svc


def verify_session(tmp_path, service) -> RunSession:
    root = phase_workspace(
        tmp_path / "ws",
        {"verify.yaml": VERIFY},
        environments={"production": {"url": service.url("production")}},
        health={"p95_budget": "300ms", "timeout": "5s"},
    )
    return RunSession.start(Workspace.open(root), "standard", "1.0.0", operator="ana")


async def poll(monitor: HealthMonitor, times: int) -> None:
    env = monitor.envs["production"]
    async with make_client(monitor.settings.timeout) as client:
        for _ in range(times):
            await monitor.poll_once(env, client)


async def test_the_item_takes_the_panels_window_not_its_last_fast_probe(tmp_path, service):
    """The panel's window holds slow answers, then a fast READY one: the panel says
    DEGRADED, and so does the item's verification (the last probe alone would pass)."""
    session = verify_session(tmp_path, service)
    monitor = HealthMonitor.from_config(session.ws.config, lambda *_: None)
    service.set_mode("production", "slow")
    await poll(monitor, 5)
    service.set_mode("production", "healthy")
    await poll(monitor, 1)
    env = monitor.envs["production"]
    assert env.last is not None and env.last.state == READY and env.last.latency_ms < 300
    assert env.state == DEGRADED  # what the panel shows

    result = await RunDriver(session, monitor).verify_item("verify", "production-ok")
    assert not result.ok
    assert result.reason == f"production DEGRADED: p95 {env.p95:.0f} ms over the 300 ms budget"
    evidence = session.state.item("verify", "production-ok").evidence
    assert evidence["window"] == "the health panel's window (6 samples)"
    assert evidence["state"] == DEGRADED and evidence["p95_ms"] == env.p95
    assert not session.state.item("verify", "production-ok").checked
    session.close()


async def test_past_ten_times_the_baseline_is_refused_though_within_budget(tmp_path, service):
    session = verify_session(tmp_path, service)
    session.write(
        session.plan_baseline({"env": "production", "p50_ms": 1.0, "p95_ms": 1.0, "samples": 5})
    )
    session.refresh()
    monitor = HealthMonitor.from_config(session.ws.config, lambda *_: None)
    await poll(monitor, 5)
    env = monitor.envs["production"]
    assert env.state == READY and env.p95 is not None and env.p95 > 10
    verdict = judge(env, 1.0)
    assert not verdict.healthy
    assert verdict.words.startswith(f"production READY but p95 {env.p95:.0f} ms is ×")
    assert verdict.words.endswith("the baseline 1 ms (the rollback signal past ×10)")

    result = await RunDriver(session, monitor).verify_item("verify", "production-ok")
    assert not result.ok and result.reason == verdict.words
    assert session.state.item("verify", "production-ok").evidence["baseline_p95_ms"] == 1.0
    session.close()


async def test_a_healthy_window_ticks_with_the_figures_in_words(tmp_path, service):
    session = verify_session(tmp_path, service)
    monitor = HealthMonitor.from_config(session.ws.config, lambda *_: None)
    await poll(monitor, 2)  # fewer than five: topped up with probes made now
    result = await RunDriver(session, monitor).verify_item("verify", "production-ok")
    env = result.sample
    assert result.ok, result.reason
    assert result.said.startswith("production READY · p95 ")
    assert result.said.endswith("(budget 300 ms) · db ok · redis ok · sms ok · email ok")
    st = session.state.item("verify", "production-ok")
    assert st.checked and st.evidence["state"] == READY and "reason" not in st.evidence
    assert st.evidence["window"] == "3 probes now after 2 of the panel's"
    assert env is not None and st.evidence["http_status"] == env.http_status == 200
    session.close()
