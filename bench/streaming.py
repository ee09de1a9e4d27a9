"""Log streaming: what capturing a step's output costs, and the app's lag and memory meanwhile.

Headless: ``cockpit run --headless`` of a step printing 1,000,000 lines as fast as it
can, against the same run of a no-op step; the difference is the capture cost (target
≤ 0.5 s per million lines), with ``cmd | tee file`` beside it as the floor. Every
line must be in the step log. In the app (Pilot, headless): the event loop's worst
lag while streaming (target < 50 ms), the app's memory growth (target < 100 MB), and
the log widget's bounded tail against the file's full count.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import yaml

from bench.common import LagProbe, Row

LINES = 1_000_000
FLOOD = f"yes 'INFO deploy-production: uploading artifact chunk ok' | head -n {LINES}"
PHASE = f"""\
id: bench
title: Bench
steps:
  - id: flood
    title: Flood
    commands:
      - run: "{FLOOD}"
"""
# what deploy tools print to a terminal: colour codes and a \r progress line, every line
COLOURED = (
    "line=$(printf '\\033[32mINFO\\033[0m upload 10%%\\r\\033[1mupload 100%%\\033[0m ok')\n"
    f'yes "$line" | head -n {LINES}\n'
)
COLOUR_PHASE = """\
id: colour
title: Coloured
steps:
  - id: flood
    title: Coloured flood
    commands:
      - run: sh coloured.sh
"""
NOOP = """\
id: noop
title: Noop
steps:
  - id: noop
    title: Noop
    commands:
      - run: "true"
"""


def workspace() -> Path:
    root = Path(tempfile.mkdtemp(prefix="bench-stream-"))
    (root / "runbook").mkdir()
    (root / "runbook" / "bench.yaml").write_text(PHASE)
    (root / "runbook" / "noop.yaml").write_text(NOOP)
    (root / "runbook" / "colour.yaml").write_text(COLOUR_PHASE)
    (root / "coloured.sh").write_text(COLOURED)
    (root / "cockpit.yaml").write_text(yaml.safe_dump({"runbook": "runbook", "environments": {}}))
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def cockpit(root: Path, *args: str) -> float:
    env = {**os.environ, "COCKPIT_OPERATOR": "bench"}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "cockpit.cli", "--workspace", str(root), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
        env=env,
    )
    return time.perf_counter() - started


def headless(phase: str = "bench", repeats: int = 3) -> tuple[float, float, float, int, float]:
    flood, noop, floor, supervised = [], [], [], []
    lines = 0
    for _ in range(repeats):
        root = workspace()
        cockpit(root, "start", "--type", "standard", "--version", "1.0.0")
        noop.append(cockpit(root, "run", "noop", "--headless", "--yes"))
        flood.append(cockpit(root, "run", phase, "--headless", "--yes"))
        status = json.loads(
            next(root.glob(f".cockpit/runs/*/logs/{phase}/flood.status")).read_text()
        )
        supervised.append(status["duration_s"])  # the supervisor's own time for the step
        log = next(root.glob(f".cockpit/runs/*/logs/{phase}/flood.log"))
        with open(log, "rb") as fh:
            lines = sum(1 for raw in fh if b" O " in raw[:30])
        target = root / "tee.out"
        started = time.perf_counter()
        subprocess.run(f"{FLOOD} | tee {target} > /dev/null", shell=True, check=True)
        floor.append(time.perf_counter() - started)
        shutil.rmtree(root, ignore_errors=True)  # a million-line log each: ~130 MB
    return (
        statistics.median(flood),
        statistics.median(noop),
        statistics.median(floor),
        lines,
        statistics.median(supervised),
    )


async def in_app(phase: str = "bench") -> tuple[float, float, int, int, str, float]:
    from cockpit.session import RunSession
    from cockpit.workspace import Workspace
    from screens.app import CockpitApp
    from screens.deploy import DeployScreen
    from screens.steplog import StepLogView

    root = workspace()
    ws = Workspace.open(root)
    session = RunSession.start(ws, "standard", "1.0.0", operator="bench")
    app = CockpitApp(ws, session, poll_health=False)
    proc = psutil.Process()
    async with app.run_test(size=(160, 48)) as pilot:
        app.open_phase(phase)
        while not isinstance(app.screen, DeployScreen):
            await pilot.pause(0.02)
        await pilot.pause(0.5)
        view = app.screen.query_one(StepLogView)
        reads = 0
        read_new = view._read_new

        def counted():  # each read of new lines is one draw of the log
            nonlocal reads
            reads += 1
            return read_new()

        view._read_new = counted  # type: ignore[method-assign]
        rss_before = proc.memory_info().rss
        lag = LagProbe()
        lag.start()
        began = time.perf_counter()
        await pilot.press("r")
        while session.state.step(phase, "flood").state != "done":
            await pilot.pause(0.05)
        took = time.perf_counter() - began
        await pilot.pause(0.3)
        lag.stop()
        rss_after = proc.memory_info().rss
        shown = len(app.screen.query_one("#step-log").lines)
        state = session.state.step(phase, "flood").state
    with open(session.log_path(phase, "flood"), "rb") as fh:
        in_file = sum(1 for raw in fh if b" O " in raw[:30])
    session.close()
    shutil.rmtree(root, ignore_errors=True)
    grew = (rss_after - rss_before) / 2**20
    return lag.worst * 1000, grew, shown, in_file, state, reads / took


def run() -> list[Row]:
    flood, noop, floor, lines, supervised = headless()
    cost = flood - noop
    rows = [
        Row(
            "streaming: headless 1M-line step, capture cost (flood − no-op run)",
            f"{cost:.2f} s per 1M lines",
            "≤ 0.5 s",
            cost <= 0.5,
        ),
        Row(
            "streaming: headless runs, flood / no-op (median of 3)",
            f"{flood:.2f} s / {noop:.2f} s",
            "—",
            None,
        ),
        Row(
            "streaming: the step under its supervisor (its own clock, median of 3)",
            f"{supervised:.2f} s",
            "—",
            None,
        ),
        Row("streaming: floor, `cmd | tee file`", f"{floor:.2f} s", "—", None),
        Row("streaming: lines in the step log", f"{lines:,} of {LINES:,}", "all", lines == LINES),
    ]
    lag, grew, shown, in_file, state, draws = asyncio.run(in_app())
    rows += [
        Row(
            "streaming: app, worst event-loop lag during 1M lines",
            f"{lag:.1f} ms",
            "< 50 ms",
            lag < 50,
        ),
        Row(
            "streaming: app, log view draws per second during 1M lines",
            f"{draws:.1f} /s",
            "≤ 20 /s",
            draws <= 20.5,
        ),
        Row(
            "streaming: app, memory growth during 1M lines",
            f"{grew:.0f} MB",
            "< 100 MB",
            grew < 100,
        ),
        Row(
            "streaming: app, log widget lines vs step log file",
            f"{shown:,} vs {in_file:,} ({state})",
            "bounded; file has all",
            shown <= 2000 and in_file == LINES,
        ),
    ]
    c_flood, c_noop, _, c_lines, _ = headless("colour")
    c_cost = c_flood - c_noop
    c_lag, c_grew, _, c_in_file, c_state, _ = asyncio.run(in_app("colour"))
    rows += [
        Row(
            "streaming: headless 1M coloured `\\r` progress lines, capture cost",
            f"{c_cost:.2f} s per 1M lines",
            "≤ 0.5 s",
            c_cost <= 0.5,
        ),
        Row(
            "streaming: app, worst lag during 1M coloured `\\r` lines",
            f"{c_lag:.1f} ms ({c_in_file:,} lines kept, {c_state})",
            "< 50 ms",
            c_lag < 50 and c_in_file == LINES == c_lines,
        ),
        Row(
            "streaming: app, memory growth during 1M coloured lines",
            f"{c_grew:.0f} MB",
            "< 100 MB",
            c_grew < 100,
        ),
    ]
    return rows


if __name__ == "__main__":
    from bench.common import print_table

    print_table(run())
