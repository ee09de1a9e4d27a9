"""Polling 50 environments every second for 60 s: CPU % of one core and the loop's worst lag.

Two measurements: the core ``HealthMonitor`` alone, and the real app (headless, Pilot)
with all 50 environment panels redrawing. Targets (issue #3): under 10 % of a core and
under 20 ms of event-loop lag.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from bench.common import CpuMeter, LagProbe, Row, ServerProcess
from cockpit.config import HealthSettings

ENVS = 50


async def monitor_only(server: ServerProcess, seconds: float) -> tuple[float, float, int, float]:
    from cockpit.monitor import HealthMonitor

    polls = 0

    def counted(env, sample, changed):
        nonlocal polls
        polls += 1

    monitor = HealthMonitor(server.envs, HealthSettings(interval="1s", timeout="3s"), counted)
    lag, cpu = LagProbe(), CpuMeter()
    task = asyncio.create_task(monitor.run())
    await asyncio.sleep(2)  # connections warm
    lag.start()
    cpu.start()
    await asyncio.sleep(seconds)
    used = cpu.stop()
    lag.stop()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return used, lag.worst * 1000, polls, 0.0


async def in_app(server: ServerProcess, seconds: float) -> tuple[float, float, int, float]:
    import yaml

    from cockpit.demo_sandbox import make_repo
    from cockpit.session import RunSession
    from cockpit.workspace import Workspace
    from screens.app import CockpitApp
    from screens.panels import HealthPanel

    root = Path(tempfile.mkdtemp(prefix="bench-health-"))
    make_repo(root, [("init", "production-v1.0.0")])
    config = {
        "environments": {n: {"url": u} for n, u in server.envs.items()},
        "health": {"interval": "1s", "timeout": "3s"},
    }
    (root / "cockpit.yaml").write_text(yaml.safe_dump(config))
    runbook = root / "runbook"
    runbook.mkdir()
    (runbook / "phase.yaml").write_text(
        "id: p\ntitle: P\nsections:\n  - title: S\n    items: [one]\n"
    )
    config["runbook"] = "runbook"
    (root / "cockpit.yaml").write_text(yaml.safe_dump(config))
    ws = Workspace.open(root)
    session = RunSession.start(ws, "standard", operator="bench")
    app = CockpitApp(ws, session)
    lag, cpu = LagProbe(), CpuMeter()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(2)
        panel = app.screen.query_one(HealthPanel)
        draws = 0
        update_cards = panel.update_cards

        def counted() -> None:  # a pass over the cards because probes arrived
            nonlocal draws
            draws += 1
            update_cards()

        panel.update_cards = counted  # type: ignore[method-assign]
        lag.start()
        cpu.start()
        await asyncio.sleep(seconds)
        used = cpu.stop()
        lag.stop()
        polls = sum(env.probes for env in app.monitor.envs.values())
    session.close()
    return used, lag.worst * 1000, polls, draws / seconds


def run(seconds: float = 60.0) -> list[Row]:
    server = ServerProcess(ENVS)
    try:
        rows = []
        for label, bench in (("monitor", monitor_only), ("app, 50 panels", in_app)):
            cpu, lag, polls, draws = asyncio.run(bench(server, seconds))
            rows.append(
                Row(
                    f"health: {ENVS} envs @1s for {seconds:.0f}s, {label}: CPU",
                    f"{cpu:.1f} % of a core",
                    "< 10 %",
                    cpu < 10,
                )
            )
            rows.append(
                Row(
                    f"health: {ENVS} envs @1s for {seconds:.0f}s, {label}: worst loop lag",
                    f"{lag:.1f} ms ({polls} polls)",
                    "< 20 ms",
                    lag < 20,
                )
            )
            if label != "monitor":
                rows.append(
                    Row(
                        f"health: {ENVS} envs @1s, {label}: redraws for new probes",
                        f"{draws:.1f} /s",
                        "≤ 4 /s",
                        draws <= 4.05,
                    )
                )
        return rows
    finally:
        server.close()


if __name__ == "__main__":
    from bench.common import print_table

    print_table(run())
