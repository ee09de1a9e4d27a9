"""Start-up: ``cockpit --version`` (target < 0.25 s) and the app's first paint (< 0.6 s), median of 5.

First paint is measured headless from the process's creation to the dashboard on screen.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Row

PAINT = """
import asyncio, sys, time, psutil
from pathlib import Path
from cockpit.session import RunSession
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.dashboard import DashboardScreen

async def main():
    ws = Workspace.open(Path(sys.argv[1]))
    app = CockpitApp(ws, RunSession(ws, ws.active_run_id()), poll_health=False)
    async with app.run_test(size=(160, 48)) as pilot:
        while not isinstance(app.screen, DashboardScreen):
            await pilot.pause(0.001)
        await pilot.pause(0)
        print(time.time() - psutil.Process().create_time())
asyncio.run(main())
"""


def run(repeats: int = 5) -> list[Row]:
    version = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "cockpit.cli", "--version"], check=True, capture_output=True
        )
        version.append(time.perf_counter() - started)
    root = Path(tempfile.mkdtemp(prefix="bench-paint-"))
    from cockpit.demo_sandbox import make_repo, write_config

    make_repo(root)
    write_config(root, "http://127.0.0.1:9", "http://127.0.0.1:10", demo_tools=False)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "cockpit.cli",
            "--workspace",
            str(root),
            "start",
            "--type",
            "standard",
        ],
        check=True,
        capture_output=True,
    )
    paint = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", PAINT, str(root)], check=True, capture_output=True, text=True
        )
        paint.append(float(out.stdout.strip().splitlines()[-1]))
    v, p = statistics.median(version), statistics.median(paint)
    return [
        Row(
            "start-up: `cockpit --version` (median of 5)",
            f"{v * 1000:.0f} ms",
            "< 250 ms",
            v < 0.25,
        ),
        Row(
            "start-up: app first paint, headless (median of 5)",
            f"{p * 1000:.0f} ms",
            "< 600 ms",
            p < 0.6,
        ),
    ]
