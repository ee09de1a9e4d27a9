"""Shared benchmark helpers: event-loop lag probe, CPU of this process, a table printer."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from dataclasses import dataclass

import psutil


class LagProbe:
    """Measures how late the event loop wakes a 5 ms sleeper: the worst lag is the figure."""

    def __init__(self, period: float = 0.005):
        self.period = period
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(self.period)
            self.worst = max(self.worst, time.perf_counter() - start - self.period)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self._task:
            self._task.cancel()


class CpuMeter:
    """CPU time of this process between ``start`` and ``stop``, as % of one core."""

    def start(self) -> None:
        self.proc = psutil.Process()
        t = self.proc.cpu_times()
        self.cpu0, self.wall0 = t.user + t.system, time.perf_counter()

    def stop(self) -> float:
        t = self.proc.cpu_times()
        return 100 * (t.user + t.system - self.cpu0) / (time.perf_counter() - self.wall0)


SERVER = """
import sys, time
from cockpit.simservice import SimService
svc = SimService(envs=tuple(f"env{i}" for i in range(int(sys.argv[1]))), latency_s=0.02).start()
print(svc.port, flush=True)
sys.stdin.read()
svc.stop()
"""


class ServerProcess:
    """The simulated service with N environments, in its own process (its CPU is not ours)."""

    def __init__(self, envs: int):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(envs)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())
        self.envs = {f"env{i}": f"http://127.0.0.1:{self.port}/env{i}" for i in range(envs)}

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


@dataclass
class Row:
    benchmark: str
    figure: str
    target: str
    met: bool | None

    @property
    def verdict(self) -> str:
        return "—" if self.met is None else ("met" if self.met else "MISSED")


def print_table(rows: list[Row]) -> None:
    width = max(len(r.benchmark) for r in rows)
    fig = max(len(r.figure) for r in rows)
    tgt = max(len(r.target) for r in rows)
    print(f"{'benchmark':<{width}}  {'figure':>{fig}}  {'target':<{tgt}}  verdict")
    print(f"{'-' * width}  {'-' * fig}  {'-' * tgt}  -------")
    for r in rows:
        print(f"{r.benchmark:<{width}}  {r.figure:>{fig}}  {r.target:<{tgt}}  {r.verdict}")


def machine() -> str:
    return f"{psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB, Python {sys.version.split()[0]}"
