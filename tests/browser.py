"""A real browser for the tests: headless Chromium from the system, driven over the DevTools
protocol on a websocket (aiohttp's client; no Playwright, no Selenium).

``Browser`` starts ``chromium --headless=new`` with its own throwaway profile, attaches to
its page, enables the Network and Page domains and records, from the browser's own events,
every URL the page requested (``requests``: ``Network.requestWillBeSent`` plus the
websockets it opened) and every websocket frame it received (``frames``, binary: the
terminal's output; ``messages``, text: textual-serve's JSON such as pongs). ``goto`` answers
the HTTP status of the document, ``text`` what the page's DOM shows, ``screen`` what the
terminal in a textual-serve page shows, ``close`` kills the browser's process group.

How the terminal's text is read. textual-serve's page (textual.js) draws the app with
xterm.js and loads its WebGL addon, then its Canvas addon: the cells are painted on a
``<canvas>``. Checked in Chromium 156 headless: there are no ``.xterm-rows`` in the DOM (the
DOM renderer is not used), ``screenReaderMode`` is off so there is no accessibility tree of
the rows either, and the ``Terminal`` object is a local inside textual.js's closure, so its
buffer cannot be read from the page. ``document.body.innerText`` is at most the page's own
dialogs (the title while it starts, "the watch ended"), empty once the app has drawn. So ``screen`` replays the
binary frames the page's websocket received — exactly the bytes textual.js hands to
``terminal.write`` — through a small terminal emulator (cursor moves, erases, wide cells;
styles dropped) and returns the rows as text: the screen xterm.js drew, not the history of
everything ever written.
"""

from __future__ import annotations

import asyncio
import base64
import codecs
import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from rich.cells import get_character_cell_size

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_binary() -> str | None:
    """The system's Chromium (or Chrome), or None."""
    for name in CANDIDATES:
        if found := shutil.which(name):
            return found
    return None


def require_chromium() -> str:
    """The Chromium binary, or skip the test saying how to get one."""
    import pytest

    binary = chromium_binary()
    if binary is None:
        pytest.skip("no Chromium: apt-get install chromium")
    return binary


class Browser:
    """One headless Chromium with one page, driven over the DevTools protocol."""

    def __init__(self, binary: str | None = None, *, size: tuple[int, int] = (1280, 900)):
        self.binary = binary or require_chromium()
        self.size = size
        self.requests: list[str] = []
        """Every URL the page requested (documents, scripts, styles, fonts, images, XHR,
        websockets), in order, as the browser reported them."""
        self.frames: list[bytes] = []
        """The payload of every binary websocket frame the page received."""
        self.messages: list[str] = []
        """Every text websocket frame the page received."""
        self.console: list[str] = []
        self._profile = tempfile.TemporaryDirectory(prefix="cockpit-chromium-")
        self._proc: subprocess.Popen[bytes] | None = None
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._documents: dict[str, int] = {}
        """The HTTP status of every document response, by loader id."""
        self._changed = asyncio.Event()
        self._loads = 0
        self._screen_from = 0

    async def __aenter__(self) -> Browser:
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self, timeout: float = 30) -> None:
        profile = Path(self._profile.name)
        width, height = self.size
        said = (profile / "chromium.log").open("wb")  # read back when it cannot start
        self._proc = subprocess.Popen(
            [
                self.binary,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "--no-first-run",
                "--no-default-browser-check",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=said,
            start_new_session=True,  # its own process group: close() kills all of it
        )
        said.close()
        port_file = profile / "DevToolsActivePort"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (port_file.exists() and port_file.read_text().strip()):
            if self._proc.poll() is not None:
                words = (profile / "chromium.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"chromium exited with {self._proc.returncode}: {words}")
            if loop.time() > deadline:
                raise TimeoutError("chromium wrote no DevToolsActivePort")
            await asyncio.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        self._http = aiohttp.ClientSession()
        page = None
        while page is None:
            async with self._http.get(f"http://127.0.0.1:{port}/json/list") as response:
                targets = await response.json()
            page = next((t for t in targets if t.get("type") == "page"), None)
            if page is None:
                if loop.time() > deadline:
                    raise TimeoutError("chromium shows no page target")
                await asyncio.sleep(0.05)
        self._ws = await self._http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        self._reader = asyncio.create_task(self._read())
        await self.send("Network.enable")
        await self.send("Page.enable")
        await self.send("Runtime.enable")

    async def send(self, method: str, timeout: float = 30, **params: Any) -> dict[str, Any]:
        """One DevTools command; its result (raises on a protocol error)."""
        assert self._ws is not None, "start() the browser first"
        ident = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        await self._ws.send_str(json.dumps({"id": ident, "method": method, "params": params}))
        return await asyncio.wait_for(future, timeout)

    async def _read(self) -> None:
        assert self._ws is not None
        async for message in self._ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            doc = json.loads(message.data)
            if "id" in doc:
                future = self._pending.pop(doc["id"], None)
                if future is not None and not future.done():
                    if "error" in doc:
                        future.set_exception(RuntimeError(f"DevTools: {doc['error']}"))
                    else:
                        future.set_result(doc.get("result", {}))
            else:
                self._event(doc["method"], doc.get("params", {}))
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("DevTools connection closed"))

    def _event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        elif method == "Network.webSocketCreated":
            self.requests.append(params["url"])
        elif method == "Network.webSocketFrameReceived":
            response = params["response"]
            if response["opcode"] == 2:  # binary: the payload comes base64-encoded
                self.frames.append(base64.b64decode(response["payloadData"]))
            else:
                self.messages.append(response["payloadData"])
        elif method == "Network.responseReceived" and params.get("type") == "Document":
            self._documents[params["loaderId"]] = params["response"]["status"]
            self._changed.set()
        elif method == "Page.loadEventFired":
            self._loads += 1
            self._changed.set()
        elif method == "Runtime.consoleAPICalled":
            self.console.append(" ".join(str(a.get("value", "")) for a in params["args"]))

    async def goto(self, url: str, timeout: float = 30) -> int:
        """Open ``url`` in the page; the HTTP status of the document, once it has loaded."""
        loads = self._loads
        self._screen_from = len(self.frames)
        result = await self.send("Page.navigate", url=url, timeout=timeout)
        if result.get("errorText"):
            raise ConnectionError(f"{url}: {result['errorText']}")
        loader = result["loaderId"]
        await self._until(lambda: loader in self._documents and self._loads > loads, timeout)
        return self._documents[loader]

    async def _until(self, condition: Callable[[], bool], timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                self._changed.clear()
                await self._changed.wait()

    async def clear_cookies(self) -> None:
        """Forget every cookie: the next request is a browser's that never had one."""
        await self.send("Network.clearBrowserCookies")

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    async def text(self) -> str:
        """What the page's DOM shows (``document.body.innerText``): for a textual-serve page
        only its own chrome; the terminal is a canvas (see ``screen``)."""
        return await self.evaluate("document.body ? document.body.innerText : ''") or ""

    def screen(self) -> str:
        """What the terminal on the page shows now: the frames received since the last
        ``goto``, replayed."""
        terminal = Terminal()
        for frame in self.frames[self._screen_from :]:
            terminal.feed(frame)
        return terminal.text()

    async def close(self) -> None:
        """Kill the browser and every process of its group; remove its profile."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._ws is not None:
            await self._ws.close()
        if self._http is not None:
            await self._http.close()
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait(timeout=30)
        self._profile.cleanup()


# --- a small terminal: enough of xterm to replay what Textual writes -------------------

_CSI = re.compile(r"\x1b\[([0-?]*)([ -/]*)([@-~])")
_OSC = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
_OTHER_ESC = re.compile(r"\x1b[()][0-9A-Za-z]|\x1b[=>78DEHMNOZc]")


def _complete(text: str, at: int) -> bool:
    return any(pattern.match(text, at) for pattern in (_CSI, _OSC, _OTHER_ESC))


class Terminal:
    """A grid of cells fed with terminal output: printable text lands at the cursor;
    cursor positioning, erase in line/display and line feeds move or clear it; colours,
    modes and everything else are ignored. Grows to the largest row/column addressed."""

    def __init__(self, width: int = 400, height: int = 200):
        self.width, self.height = width, height
        self.rows = [[" "] * width for _ in range(height)]
        self.x = self.y = 0
        self.used_w = self.used_h = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        """An escape sequence cut at the end of a frame: the next frame finishes it."""

    def feed(self, data: bytes) -> None:
        text = self._pending + self._decoder.decode(data)
        self._pending = ""
        cut = text.rfind("\x1b")
        if cut != -1 and len(text) - cut < 64 and not _complete(text, cut):
            text, self._pending = text[:cut], text[cut:]
        i = 0
        while i < len(text):
            char = text[i]
            if char == "\x1b":
                if m := _CSI.match(text, i):
                    self._csi(m.group(1), m.group(3))
                    i = m.end()
                    continue
                if m := (_OSC.match(text, i) or _OTHER_ESC.match(text, i)):
                    i = m.end()
                    continue
                i += 1
                continue
            if char == "\n":
                self.y = min(self.y + 1, self.height - 1)
            elif char == "\r":
                self.x = 0
            elif char == "\b":
                self.x = max(0, self.x - 1)
            elif char >= " ":
                self._put(char)
            i += 1

    def _put(self, char: str) -> None:
        cells = get_character_cell_size(char)
        if cells == 0:
            return
        if self.x < self.width and self.y < self.height:
            self.rows[self.y][self.x] = char
            if cells == 2 and self.x + 1 < self.width:
                self.rows[self.y][self.x + 1] = ""
            self.used_w = max(self.used_w, self.x + cells)
            self.used_h = max(self.used_h, self.y + 1)
        self.x += cells

    def _csi(self, params: str, final: str) -> None:
        if params.startswith("?") or params.startswith(">"):
            return  # private modes (alternate screen, mouse, sync output): no drawing
        args = [int(p) if p.isdigit() else 0 for p in params.split(";")] if params else []

        def arg(n: int, default: int = 1) -> int:
            return args[n] if len(args) > n and args[n] else default

        if final in "Hf":
            self.y = min(arg(0) - 1, self.height - 1)
            self.x = min(arg(1) - 1, self.width - 1)
        elif final == "A":
            self.y = max(0, self.y - arg(0))
        elif final == "B":
            self.y = min(self.height - 1, self.y + arg(0))
        elif final == "C":
            self.x = min(self.width - 1, self.x + arg(0))
        elif final == "D":
            self.x = max(0, self.x - arg(0))
        elif final == "G":
            self.x = min(arg(0) - 1, self.width - 1)
        elif final == "K":
            row, mode = self.rows[self.y], arg(0, 0)
            start, end = {0: (self.x, self.width), 1: (0, self.x + 1)}.get(mode, (0, self.width))
            row[start:end] = [" "] * (end - start)
        elif final == "J":
            mode = arg(0, 0)
            if mode in (2, 3):
                self.rows = [[" "] * self.width for _ in range(self.height)]
            elif mode == 0:
                self.rows[self.y][self.x :] = [" "] * (self.width - self.x)
                for row in self.rows[self.y + 1 :]:
                    row[:] = [" "] * self.width
            elif mode == 1:
                for row in self.rows[: self.y]:
                    row[:] = [" "] * self.width
                self.rows[self.y][: self.x + 1] = [" "] * (self.x + 1)

    def text(self) -> str:
        """The rows drawn so far, right-trimmed, one per line."""
        lines = ["".join(row[: self.used_w]).rstrip() for row in self.rows[: self.used_h]]
        return "\n".join(lines).rstrip("\n")
