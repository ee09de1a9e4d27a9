"""Memory over a long session, accelerated: the app polls two environments every 10 ms (as
fast as the answers allow) while a step prints 200 lines every 50 ms, for 60 s after a
10 s warm-up — thousands of polls and a long deploy's worth of logs in a minute. The
figure is the RSS growth after warm-up (the poll count is printed): flat, not growing."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import psutil
import yaml

from bench.common import Row, ServerProcess

PHASE = """\
id: soak
title: Soak
steps:
  - id: chatter
    title: Chatter
    commands:
      - run: "while true; do yes 'INFO still deploying, all fine' | head -n 200; sleep 0.05; done"
"""


async def soak(seconds: float) -> tuple[float, float, float, int]:
    from cockpit.demo_sandbox import make_repo
    from cockpit.session import RunSession
    from cockpit.workspace import Workspace
    from screens.app import CockpitApp
    from screens.deploy import DeployScreen

    server = ServerProcess(2)
    try:
        root = Path(tempfile.mkdtemp(prefix="bench-soak-"))
        make_repo(root, [("init", "production-v1.0.0")])
        (root / "runbook").mkdir()
        (root / "runbook" / "soak.yaml").write_text(PHASE)
        config = {
            "runbook": "runbook",
            "environments": {n: {"url": u} for n, u in server.envs.items()},
            "health": {"interval": "10ms", "timeout": "2s"},
        }
        (root / "cockpit.yaml").write_text(yaml.safe_dump(config))
        ws = Workspace.open(root)
        session = RunSession.start(ws, "standard", "1.0.0", operator="bench")
        app = CockpitApp(ws, session)
        proc = psutil.Process()
        async with app.run_test(size=(160, 48)) as pilot:
            app.open_phase("soak")
            while not isinstance(app.screen, DeployScreen):
                await pilot.pause(0.02)
            await pilot.press("r")
            await asyncio.sleep(10)  # warm-up: caches, windows and widget buffers fill
            start = proc.memory_info().rss
            peak = start
            for _ in range(int(seconds / 5)):
                await asyncio.sleep(5)
                peak = max(peak, proc.memory_info().rss)
            end = proc.memory_info().rss
            polls = sum(env.probes for env in app.monitor.envs.values())
            running = app.running_step()
            if running is not None:
                await app.driver.abort_step(*running)
        session.close()
        return start / 2**20, end / 2**20, peak / 2**20, polls
    finally:
        server.close()


def run(seconds: float = 60.0) -> list[Row]:
    start, end, peak, polls = asyncio.run(soak(seconds))
    grew = end - start
    return [
        Row(
            f"long session ({seconds:.0f} s accelerated, {polls:,} polls): RSS after warm-up → end",
            f"{start:.0f} → {end:.0f} MB (+{grew:.0f}, peak {peak:.0f})",
            "flat (< 20 MB growth)",
            grew < 20,
        )
    ]
