"""History: ``cockpit history --json`` over 500 runs of 10,000 events each (target < 2 s).

Each run is a release of the platform team's runbook (``bench.history_runs``): its
deploy steps, 150 checklist ticks, a decision and a rollback in every tenth, and
health samples and the driver's view filling it to 10,000 lines, as a long run's
journal is. The command runs as a real process twice: the first time reads every
journal (and writes the records' cache), the second reads the cache. The peak memory
(max RSS) of each says whether journals are streamed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Row
from bench.history_runs import Spec, deployed, platform_workspace, write_run

RUNS = 500
EVENTS = 10_000


def _specs() -> list[Spec]:
    specs = []
    for n in range(RUNS):
        version, previous = f"1.{n + 1}.0", f"1.{n}.0"
        spec = deployed(n * 0.5, version, previous, 20 + n % 30)
        if n % 10 == 9:
            spec.decision = (60, "rollback")
            spec.steps += [
                ("revert", "revert-fleet", 62, 70, "done"),
                ("revert", "confirm-revert", 70, 75, "done"),
            ]
            spec.closed = 90
        spec.checks = 150
        spec.filler = EVENTS - 150 - len(spec.steps) * 2 - 3
        specs.append(spec)
    return specs


def _timed(root: Path) -> tuple[float, float]:
    """Seconds and max RSS (MB) of one ``cockpit history --json`` as its own process."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cockpit.cli", "--workspace", str(root), "history", "--json"],
        stdout=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - started
    assert os.waitstatus_to_exitcode(status) == 0
    return took, usage.ru_maxrss / 1024


def run() -> list[Row]:
    folder = Path(tempfile.mkdtemp(prefix="bench-history-"))
    try:
        root = platform_workspace(folder / "ws")
        state = root / ".cockpit"
        state.mkdir(mode=0o700)
        for spec in _specs():
            write_run(state, spec)
        size = sum(p.stat().st_size for p in state.glob("runs/*/journal.jsonl"))
        cold, cold_rss = _timed(root)
        warm, warm_rss = _timed(root)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    what = f"history: {RUNS} runs × {EVENTS:,} events ({size / 2**20:.0f} MB)"
    return [
        Row(f"{what}, journals read", f"{cold:.2f} s", "< 2 s", cold < 2.0),
        Row(f"{what}, from the cache", f"{warm:.2f} s", "< 2 s", warm < 2.0),
        Row(
            "history: max RSS, journals read / cache",
            f"{cold_rss:.0f} / {warm_rss:.0f} MB",
            "—",
            None,
        ),
    ]


if __name__ == "__main__":
    from bench.common import print_table

    print_table(run())
