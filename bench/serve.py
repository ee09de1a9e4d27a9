"""`cockpit serve` with 10 viewers while a step streams: what each viewer costs.

A real headless driver (``cockpit run stream --headless --yes``) runs a step printing a
line every 50 ms for about 30 s; ``cockpit serve --port 0 --run ID`` serves the read-only
watch; 10 viewers connect. Real browser tabs are heavy, so each viewer is an aiohttp
websocket client speaking textual.js's side of textual-serve's protocol: it loads the page
with the token (the cookie it sets kept, as a browser does), connects to the websocket URL
the page names (or, when it names none, its own origin's ``/ws``, as its script does) with
``?width=&height=``, sends ``["resize", {"width", "height"}]`` on open and a
``["ping", …]`` as textual.js does, then reads every frame (the app's screen output). Once
the dashboard shows, each viewer presses Enter (``["stdin", "\\r"]``) to open the phase:
on its deploy screen the step's log streams to every viewer (on the dashboard it would not).
Each viewer is the process tree the server starts for it (its ``cockpit watch``).

Measured once every viewer shows the step's lines: the viewer processes (count); each
viewer's RSS (its process tree; median and max at the end of the window, and its growth
over the window; the issue's target: one viewer < 80 MB) and USS (the memory that is its
own, not shared with the others); the total RSS of the viewers; CPU (% of one core) of
all viewers together and of the server over a window of ``WINDOW_S`` while the step
prints. The machine is shared with the driver, its step and the server: on few cores the
viewers' CPU is what they got, not what they would have taken.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import psutil
import yaml

from bench.common import Row, ServerProcess, print_table

VIEWERS = 10
WINDOW_S = 20.0
"""Seconds of streaming over which CPU is measured."""
TARGET_MB = 80
VERSION = "3.1.0"
WIDTH, HEIGHT = 160, 48
PHASE = """\
id: stream
title: Stream
steps:
  - id: deploy
    title: Deploy, chattily
    commands:
      - run: "for i in $(seq 1 600); do echo \\"INFO deploying chunk $i of 600 ok\\"; sleep 0.05; done"
"""
URL = re.compile(r"http://127\.0\.0\.1:\d+/\?token=[\w-]+")
LINE = re.compile(rb"deploying chunk \d+ of 600 ok")
SOCKET = re.compile(r'data-session-websocket-url="([^"]*)"')


def workspace(env_url: str) -> Path:
    root = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    (root / "runbook").mkdir()
    (root / "runbook" / "stream.yaml").write_text(PHASE)
    config = {
        "runbook": "runbook",
        "environments": {"production": {"url": env_url}},
        "health": {"interval": "1s"},
    }
    (root / "cockpit.yaml").write_text(yaml.safe_dump(config))
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def cockpit(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "cockpit.cli", "--workspace", str(root), *args]


ENV = {**os.environ, "COCKPIT_OPERATOR": "bench"}


class Serve:
    """``cockpit serve --port 0`` as a process; its URL once printed (its output drained)."""

    def __init__(self, root: Path, run_id: str):
        self.proc = subprocess.Popen(
            cockpit(root, "serve", "--port", "0", "--run", run_id, "--max-viewers", "20"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=ENV,
        )
        self.url = ""
        self.output: list[str] = []
        self._found = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self._found.wait(30) or not self.url:
            self.stop()
            raise RuntimeError(f"cockpit serve printed no URL: {''.join(self.output)!r}")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            if not self.url and (m := URL.search(line)):
                self.url = m.group(0)
                self._found.set()
        self._found.set()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Viewer:
    """One browser's worth of textual-serve protocol, without the browser."""

    def __init__(self, http: aiohttp.ClientSession, url: str):
        self.http, self.url = http, url
        self.received = bytearray()
        self.closed = False
        self._task: asyncio.Task[None] | None = None
        self._socket: aiohttp.ClientWebSocketResponse | None = None

    async def open(self) -> None:
        async with self.http.get(self.url) as response:
            response.raise_for_status()
            page = await response.text()
        found = SOCKET.search(page)
        if found is None:
            raise RuntimeError("the page has no terminal")
        socket_url = found.group(1).replace("&amp;", "&")
        if not socket_url:  # the page's script makes it: ws:// of its own origin
            parts = urlsplit(self.url)
            socket_url = f"ws://{parts.netloc}/ws"
        joiner = "&" if "?" in socket_url else "?"
        socket = await self.http.ws_connect(
            f"{socket_url}{joiner}width={WIDTH}&height={HEIGHT}", max_msg_size=0
        )
        # textual.js on open: fit, send the size, then a ping
        await socket.send_str(json.dumps(["resize", {"width": WIDTH, "height": HEIGHT}]))
        await socket.send_str(json.dumps(["ping", str(int(time.time() * 1000))]))
        self._socket = socket
        self._task = asyncio.create_task(self._read(socket))

    async def _read(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        try:
            async for message in socket:
                if message.type == aiohttp.WSMsgType.BINARY:
                    self.received += message.data
                    del self.received[:-200_000]  # keep the tail: enough to find words
        finally:
            self.closed = True
            await socket.close()

    def shows(self, word: str) -> bool:
        return word.encode() in self.received

    def shows_line(self) -> bool:
        """A line the step printed (not its command, which the activity log shows)."""
        return LINE.search(self.received) is not None

    async def press(self, keys: str) -> None:
        """Keys as xterm.js sends them (``onData``: Enter is ``\\r``)."""
        assert self._socket is not None
        await self._socket.send_str(json.dumps(["stdin", keys]))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def viewer_trees(server: psutil.Process) -> list[list[psutil.Process]]:
    """One list per viewer: the app process the server started and its descendants."""
    return [[child, *child.children(recursive=True)] for child in server.children()]


def memory(tree: list[psutil.Process]) -> tuple[float, float]:
    """RSS and USS of one viewer's process tree, in MB."""
    rss = uss = 0
    for proc in tree:
        try:
            info = proc.memory_full_info()
        except psutil.Error:
            continue
        rss += info.rss
        uss += info.uss
    return rss / 2**20, uss / 2**20


async def until(condition, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"never happened: {what}")
        await asyncio.sleep(0.1)


def started(journal: Path) -> bool:
    if not journal.exists():
        return False
    return any('"command.started"' in line for line in journal.read_text().splitlines())


async def measure() -> dict[str, float]:
    from cockpit.workspace import Workspace

    env = ServerProcess(1)
    root = workspace(env.envs["env0"])
    driver = serve = None
    viewers: list[Viewer] = []
    try:
        subprocess.run(
            cockpit(root, "start", "--type", "standard", "--version", VERSION),
            check=True,
            capture_output=True,
            env=ENV,
        )
        run_id = Workspace.open(root).active_run_id()
        assert run_id is not None
        journal = Workspace.open(root).run_dir(run_id) / "journal.jsonl"
        serve = Serve(root, run_id)
        server = psutil.Process(serve.proc.pid)
        jar = aiohttp.CookieJar(unsafe=True)  # keep cookies set by 127.0.0.1
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            viewers = [Viewer(http, serve.url) for _ in range(VIEWERS)]
            await asyncio.gather(*(v.open() for v in viewers))
            await until(
                lambda: all(v.shows(VERSION) for v in viewers), "every viewer shows the run", 120
            )
            # Enter on the dashboard's only phase: its deploy screen, where the log streams
            await asyncio.gather(*(v.press("\r") for v in viewers))
            driver = subprocess.Popen(
                cockpit(root, "run", "stream", "--headless", "--yes"),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=ENV,
            )
            await until(lambda: started(journal), "the step started", 60)
            await until(
                lambda: all(v.shows_line() for v in viewers),
                "every viewer shows the step's log lines",
                60,
            )
            trees = viewer_trees(server)
            procs = [p for tree in trees for p in tree]
            before = [memory(tree)[0] for tree in trees]
            viewer_cpu0, server_cpu0 = cpu_seconds(procs), cpu_seconds([server])
            wall0 = time.perf_counter()
            await asyncio.sleep(WINDOW_S)
            wall = time.perf_counter() - wall0
            viewer_cpu = 100 * (cpu_seconds(procs) - viewer_cpu0) / wall
            server_cpu = 100 * (cpu_seconds([server]) - server_cpu0) / wall
            streaming = driver.poll() is None
            mems = [memory(tree) for tree in trees]
            alive = sum(not v.closed for v in viewers)
            await asyncio.gather(*(v.close() for v in viewers))
    finally:
        if driver is not None and driver.poll() is None:
            driver.send_signal(signal.SIGINT)  # Ctrl-C: the step aborted, not left running
            try:
                driver.wait(timeout=30)
            except subprocess.TimeoutExpired:
                driver.kill()
                driver.wait()
        if serve is not None:
            serve.stop()
        env.close()
        shutil.rmtree(root, ignore_errors=True)
    rss = [m[0] for m in mems]
    uss = [m[1] for m in mems]
    return {
        "viewers": alive,
        "processes": len(procs),
        "trees": len(trees),
        "rss_median": statistics.median(rss),
        "rss_max": max(rss),
        "rss_growth": statistics.median(
            after - was for after, was in zip(rss, before, strict=True)
        ),
        "uss_median": statistics.median(uss),
        "rss_total": sum(rss),
        "viewer_cpu": viewer_cpu,
        "server_cpu": server_cpu,
        "streaming": streaming,
    }


def run() -> list[Row]:
    m = asyncio.run(measure())
    n = int(m["trees"])
    during = "" if m["streaming"] else " (the step ended early)"
    return [
        Row(
            f"serve: viewer processes ({VIEWERS} viewers connected)",
            f"{n} ({int(m['processes'])} procs)",
            f"{VIEWERS}",
            n == VIEWERS and m["viewers"] == VIEWERS,
        ),
        Row("serve: RSS per viewer, median", f"{m['rss_median']:.1f} MB", "", None),
        Row(
            "serve: RSS per viewer, max",
            f"{m['rss_max']:.1f} MB",
            f"< {TARGET_MB} MB",
            m["rss_max"] < TARGET_MB,
        ),
        Row(
            f"serve: RSS growth per viewer over {WINDOW_S:.0f} s of streaming, median",
            f"{m['rss_growth']:+.1f} MB",
            "",
            None,
        ),
        Row("serve: USS per viewer, median (its own)", f"{m['uss_median']:.1f} MB", "", None),
        Row(f"serve: RSS of all {n} viewers", f"{m['rss_total']:.0f} MB", "", None),
        Row(
            f"serve: CPU of all viewers while streaming{during}",
            f"{m['viewer_cpu']:.0f}% ({m['viewer_cpu'] / max(n, 1):.0f}% each)",
            "",
            None,
        ),
        Row(
            f"serve: CPU of the server while streaming{during}", f"{m['server_cpu']:.0f}%", "", None
        ),
    ]


if __name__ == "__main__":
    print_table(run())
