"""``cockpit demo --headless``: a whole standard release, end to end, without a terminal UI.

Owns the scripted walk a newcomer (or CI) can watch in plain text: the simulated
service and sandbox come up, a standard run starts, every gate and checklist before
the deploy is ticked (self-verifying items really probe the service), production's
baseline is measured when the production deployment starts, every deploy step runs
its commands against the simulated service, the post-deploy checks are ticked, and
a summary closes it. Exit 0 when the release went through.
"""

from __future__ import annotations

import asyncio
import sys

from cockpit.durations import format_duration
from cockpit.headless import EXIT_DONE, Headless
from cockpit.healthwatch import measure_baseline
from cockpit.progress import tasks
from cockpit.runbook import DEPLOY_PHASE
from cockpit.session import RunSession
from cockpit.verify import health_target, verify_item

BEFORE_DEPLOY = (
    "pre-release-gates",
    "staging-deployment",
    "staging-validation",
    "staging-signoff",
    "pre-production",
)
AFTER_DEPLOY = ("post-deployment",)


async def tick_phase(session: RunSession, phase_id: str, out) -> None:
    phase = session.ws.runbook.phase(phase_id)
    for entry in tasks(phase, session.release_type):
        item = entry.item
        if session.state.item(phase_id, item.id).checked:
            continue
        if health_target(session, phase_id, item.id):
            result = await verify_item(session, phase_id, item.id)
            await asyncio.to_thread(session.write, result.intent)
            session.refresh()
            out.write(f"  [{'x' if result.ok else ' '}] {item.text} — verified: {result.reason}\n")
            continue
        note = "demo: done" if item.note_required else None
        await asyncio.to_thread(session.check, phase_id, item.id, note)
        out.write(f"  [x] {item.text}\n")


async def drive(session: RunSession, out) -> int:
    for phase_id in BEFORE_DEPLOY:
        if not session.ws.runbook.phase(phase_id).applies_to(session.release_type):
            continue
        out.write(f"\n## {session.ws.runbook.phase(phase_id).title}\n")
        if session.ws.runbook.phase(phase_id).steps_for(session.release_type):
            code = await Headless(session, phase_id, yes=True, out=out).run()
            if code != EXIT_DONE:
                return code
        await tick_phase(session, phase_id, out)
    config = session.ws.config
    out.write(f"\n## {session.ws.runbook.phase(DEPLOY_PHASE).title}\n")
    baseline = await measure_baseline(
        "production", config.environments["production"].url + config.health.path, config.health
    )
    if baseline:
        await asyncio.to_thread(session.write, session.plan_baseline(baseline))
        session.refresh()
        out.write(
            f"production baseline: p50 {baseline['p50_ms']:.0f}ms, p95 {baseline['p95_ms']:.0f}ms\n"
        )
    code = await Headless(session, DEPLOY_PHASE, yes=True, out=out).run()
    if code != EXIT_DONE:
        return code
    await tick_phase(session, DEPLOY_PHASE, out)
    for phase_id in AFTER_DEPLOY:
        out.write(f"\n## {session.ws.runbook.phase(phase_id).title}\n")
        await tick_phase(session, phase_id, out)
    return EXIT_DONE


def summary(session: RunSession, out) -> None:
    run = session.state.run
    assert run is not None
    out.write(
        f"\nrun {run.id}: {run.type} release {run.version} (production was {run.previous_version})\n"
    )
    total = 0.0
    for step in session.ws.runbook.phase(DEPLOY_PHASE).steps_for(run.type):
        st = session.state.step(DEPLOY_PHASE, step.id)
        took = ""
        if st.started_at and st.finished_at:
            from cockpit.clock import parse_iso

            seconds = (parse_iso(st.finished_at) - parse_iso(st.started_at)).total_seconds()
            total += seconds
            took = format_duration(seconds)
        out.write(f"  {step.title:<32} {st.state:<8} {took:>6}  budget {step.budget}\n")
    out.write(f"deployment time {format_duration(total)} (runbook target < 60m)\n")
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
