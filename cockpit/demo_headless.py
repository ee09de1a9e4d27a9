"""``cockpit demo --headless``: a whole standard release, end to end, without a terminal UI.

Owns the scripted walk a newcomer (or CI) can watch in plain text: the simulated
service and sandbox come up, a standard run starts, every gate and checklist before
the deploy is ticked (self-verifying items really probe the service), every deploy
step runs its commands under its supervisor against the simulated service (the
driver takes production's baseline as the deploy starts), the monitoring window's
checks are ticked as the demo operator, the post-deploy checks follow, and a summary
closes it. Everything goes through the same ``RunDriver`` the TUI and headless use.
Exit 0 when the release went through.
"""

from __future__ import annotations

import asyncio
import sys

from cockpit.driver import RunDriver
from cockpit.durations import format_duration
from cockpit.errors import CockpitError
from cockpit.headless import EXIT_DONE, Headless
from cockpit.progress import step_seconds, step_state, tasks
from cockpit.report import build
from cockpit.runbook import Phase, Runbook, Step
from cockpit.session import RunSession
from cockpit.verify import auto_of


def around_deploy(runbook: Runbook) -> tuple[list[str], Phase, list[str]]:
    """The phases the deploy phase comes after (its ``after``, transitively, in display
    order), the ``kind: deploy`` phase, and the checklists right after it."""
    deploy = runbook.of_kind("deploy")
    if deploy is None:
        raise CockpitError("the demo's runbook has no 'kind: deploy' phase")
    before: set[str] = set()
    todo = list(deploy.after)
    while todo:
        phase_id = todo.pop()
        if phase_id not in before:
            before.add(phase_id)
            todo += runbook.phase(phase_id).after
    after = [
        p.id for p in runbook.phases.values() if deploy.id in p.after and p.kind == "checklist"
    ]
    return [p for p in runbook.phases if p in before], deploy, after


async def tick_phase(driver: RunDriver, phase_id: str, out) -> None:
    session = driver.session
    phase = session.runbook.phase(phase_id)
    for entry in tasks(phase, session.release_type):
        item = entry.item
        if session.state.item(phase_id, item.id).checked:
            continue
        if auto_of(session, phase_id, item.id):  # a probe, or CI on the simulated GitHub
            result = await driver.verify_item(phase_id, item.id)
            out.write(f"  [{'x' if result.ok else ' '}] {item.text} — verified: {result.reason}\n")
            continue
        note = "demo: done" if item.note_required else None
        await driver.send(lambda item=item, note=note: session.plan_check(phase_id, item.id, note))
        out.write(f"  [x] {item.text}\n")


async def tick_window(driver: RunDriver, phase_id: str, step: Step) -> None:
    """The demo operator ticks a timed window's checks (which ends it)."""
    for check in step.checks:
        if not driver.session.state.item(phase_id, check.id).checked:
            await driver.send(lambda c=check: driver.session.plan_check(phase_id, c.id, "demo"))


async def drive(session: RunSession, out) -> int:
    driver = RunDriver(session)

    async def run_phase(phase_id: str) -> int:
        headless = Headless(
            session, phase_id, yes=True, out=out, on_window=tick_window, driver=driver
        )
        return await headless.run()

    before, deploy, after = around_deploy(session.runbook)
    for phase_id in (*before, deploy.id):
        phase = session.runbook.phase(phase_id)
        if not phase.applies_to(session.release_type):
            continue
        out.write(f"\n## {phase.title}\n")
        if phase.steps_for(session.release_type):
            code = await run_phase(phase_id)
            if code != EXIT_DONE:
                return code
        await tick_phase(driver, phase_id, out)
    baseline = session.state.baselines.get(deploy.environment or "")
    if baseline:
        out.write(
            f"{deploy.environment} baseline: p50 {baseline.p50_ms or 0:.0f}ms, "
            f"p95 {baseline.p95_ms or 0:.0f}ms (taken as the deploy started)\n"
        )
    for phase_id in after:
        out.write(f"\n## {session.runbook.phase(phase_id).title}\n")
        await tick_phase(driver, phase_id, out)
    return EXIT_DONE


def summary(session: RunSession, out) -> None:
    run = session.state.run
    assert run is not None
    out.write(
        f"\nrun {run.id}: {run.type} release {run.version} (production was {run.previous_version})\n"
    )
    _, phase, _ = around_deploy(session.runbook)
    for step in phase.steps_for(run.type):
        took = step_seconds(phase, step, session.state)
        shown = format_duration(took) if took is not None else ""
        state = step_state(phase, step, session.state)
        out.write(f"  {step.title:<32} {state:<8} {shown:>6}  budget {step.budget}\n")
    clock = build(session)["metrics"]["deployment"]
    if clock is not None and clock["wall_clock_s"] is not None:
        target = format_duration(session.ws.config.targets.deployment_time)
        out.write(f"{clock['words']} (runbook target < {target})\n")
    for p in session.phases():
        progress = session.progress(p.id)
        mark = "complete" if progress.complete else f"{progress.done}/{progress.total}"
        out.write(f"  {p.title:<40} {mark}\n")


def run_demo_headless(session: RunSession) -> int:
    session.take_lock()
    try:
        code = asyncio.run(drive(session, sys.stdout))
        summary(session, sys.stdout)
        return code
    finally:
        session.release()
