"""A step without commands is a timed window: it runs until its checks are ticked."""

from __future__ import annotations

import pytest

from cockpit.driver import OutOfOrder, RunDriver
from cockpit.session import RunSession
from cockpit.workspace import Workspace
from tests.rollout import (
    journal_of,
    step_of,
)


async def test_a_step_without_commands_is_a_timed_window(rollout):
    session = RunSession(Workspace.open(rollout), journal_of(rollout).parent.name)
    driver = RunDriver(session)
    with pytest.raises(OutOfOrder):
        await driver.start_step("rollout", "soak")
    await driver.start_step("rollout", "soak", out_of_order="canary already at 10% from CD")
    st = session.state.step("rollout", "soak")
    assert (st.state, st.kind) == ("running", "window")  # not done 6 ms after it started
    assert step_of(session.status(), "soak")["kind"] == "window"
    await driver.send(lambda: session.plan_check("rollout", "error-budget-burn-below-2x"))
    assert session.state.step("rollout", "soak").state == "running"  # 1 of 2 checks
    await driver.send(lambda: session.plan_check("rollout", "p99-latency-within-slo"))
    st = session.state.step("rollout", "soak")
    assert (st.state, st.reason) == ("done", "its checks are ticked")
    session.close()
