"""`cockpit serve`: the read-only watch served to browsers — a real server on loopback,
real HTTP (httpx) and real websockets (aiohttp's client), each viewer a real `cockpit
watch` process under Textual's web driver; the command itself as a real process."""

from __future__ import annotations

import asyncio
import re
import selectors
import signal
import subprocess
import time
from pathlib import Path

import aiohttp
import httpx
import psutil
import pytest

from cockpit.errors import CockpitError
from screens.serve import WatchServer, check_host
from tests.helpers import cockpit_cmd, run_cli, subprocess_env


def watch_processes() -> list[psutil.Process]:
    """The `cockpit watch` processes in this test's tree (the viewers)."""
    out = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if "watch" in proc.cmdline():
                out.append(proc)
        except psutil.Error:
            pass
    return out


async def until(condition, what: str, attempts: int = 600) -> None:
    """Bounded wait on a condition (async; never a fixed sleep)."""
    for _ in range(attempts):
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def first_bytes(ws: aiohttp.ClientWebSocketResponse) -> bytes:
    """The first screen bytes the viewer's watch sent (it started under the web driver)."""
    async with asyncio.timeout(60):
        while True:
            message = await ws.receive()
            if message.type == aiohttp.WSMsgType.BINARY:
                return message.data
            assert message.type == aiohttp.WSMsgType.TEXT, message


@pytest.fixture
async def serve(workspace_dir: Path):
    servers: list[WatchServer] = []

    async def start(**options) -> WatchServer:
        server = WatchServer(workspace_dir, host="127.0.0.1", port=0, **options)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


async def test_every_request_but_health_needs_the_token(serve):
    server = await serve()
    base = f"http://127.0.0.1:{server.port}"
    async with httpx.AsyncClient(base_url=base) as browser:
        none = await browser.get("/")
        assert none.status_code == 401
        assert "needs its token" in none.text
        wrong = await browser.get("/", params={"token": "not-it"})
        assert wrong.status_code == 403
        assert "wrong token" in wrong.text
        for refused in (none, wrong):
            assert server.token not in refused.text
            assert "set-cookie" not in refused.headers
        for path in ("/static/js/textual.js", "/ws", "/download/x"):
            assert (await browser.get(path)).status_code == 401, path
        health = await browser.get("/health")
        assert (health.status_code, health.text) == (200, "ok\n")

        page = await browser.get("/", params={"token": server.token})
        assert page.status_code == 200
        cookie = page.headers["set-cookie"]
        assert cookie.startswith(f"{server.cookie_name}={server.token};")
        for attribute in ("HttpOnly", "SameSite=Strict", "Path=/"):
            assert attribute in cookie
        # the cookie alone, as the page's own requests carry it
        assert (await browser.get("/")).status_code == 200
        assert (await browser.get("/static/js/textual.js")).status_code == 200
        browser.cookies.set(server.cookie_name, "not-it")
        assert (await browser.get("/static/css/xterm.css")).status_code == 403


async def test_one_viewer_more_than_the_limit_is_refused_until_one_leaves(serve):
    server = await serve(max_viewers=1)
    base = f"http://127.0.0.1:{server.port}"
    ws_url = f"ws://127.0.0.1:{server.port}/ws?token={server.token}&width=100&height=30"
    words = "1 viewer is watching already (cockpit serve --max-viewers 1); try again later"
    async with (
        httpx.AsyncClient(base_url=base, params={"token": server.token}) as browser,
        aiohttp.ClientSession() as client,
    ):
        first = await client.ws_connect(ws_url)
        assert await first_bytes(first)  # the watch drew under the web driver
        [viewer] = watch_processes()
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect(ws_url)
        assert refused.value.status == 503
        full = await browser.get("/")
        assert full.status_code == 503
        assert words in full.text

        await first.close()
        await asyncio.to_thread(viewer.wait, 30)  # its process stopped: no longer counted

        async def room() -> bool:
            return (await browser.get("/")).status_code == 200

        await until(room, "the page served again once the viewer left")
        second = await client.ws_connect(ws_url)
        assert await first_bytes(second)
        [viewer] = watch_processes()
        await server.close()  # the server stops: its viewers' watch with it
        assert not viewer.is_running()
        await second.close()
    assert not watch_processes()


async def test_a_port_in_use_is_said_in_words(serve):
    server = await serve()
    with pytest.raises(CockpitError, match=rf"^port {server.port} is in use: choose another"):
        await WatchServer(server.root, port=server.port).start()


def test_what_is_refused_before_serving(workspace_dir: Path):
    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        assert check_host(host, public=False) is None
    assert "put it behind TLS" in check_host("0.0.0.0", public=True)
    with pytest.raises(CockpitError, match="give 1 or more"):
        WatchServer(workspace_dir, max_viewers=0)
    with pytest.raises(CockpitError, match="https://"):
        WatchServer(workspace_dir, public_url="cockpit.example.com")

    done = subprocess.run(
        cockpit_cmd("--workspace", str(workspace_dir), "serve", "--host", "0.0.0.0"),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert "--host 0.0.0.0 is not a loopback address" in done.stderr
    assert "add --public" in done.stderr
    assert "Traceback" not in done.stderr

    # Textual's web driver lets the read-only watch start without a terminal, never the
    # driving cockpit
    driving = run_cli(
        workspace_dir, env=subprocess_env(TEXTUAL_DRIVER="textual.drivers.web_driver:WebDriver")
    )
    assert driving.returncode == 2
    assert "needs a terminal" in driving.stderr


def read_until(proc: subprocess.Popen, pattern: str, seconds: float = 60) -> re.Match:
    """Read the process's stdout (bounded) until a line matches ``pattern``."""
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if selector.select(timeout=deadline - time.monotonic()):
            line = proc.stdout.readline().decode()  # unbuffered: select sees what is left
            if not line:
                break
            seen.append(line)
            if match := re.search(pattern, line):
                return match
    raise AssertionError(f"never printed {pattern!r}; printed: {seen}")


async def test_the_printed_url_serves_a_page_of_this_server_only(workspace_dir: Path):
    proc = subprocess.Popen(
        cockpit_cmd("--workspace", str(workspace_dir), "serve", "--port", "0"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )
    try:
        url = read_until(proc, r"^open (http://127\.0\.0\.1:(\d+)/\?token=(\S+))$")
        base, port, token = f"http://127.0.0.1:{url[2]}", url[2], url[3]
        assert len(token) >= 32
        async with httpx.AsyncClient() as browser:
            page = await browser.get(url[1])
        assert page.status_code == 200
        html = page.text
        assert "googleapis" not in html
        for address in re.findall(r"\w+://[^\s\"'<>)]+", html):
            assert address.startswith(base), address  # no other host
        for link in re.findall(r'(?:src|href)="([^"]*)"', html):
            assert link.startswith(("/static/", "data:")), link

        async with aiohttp.ClientSession() as client:
            ws = await client.ws_connect(f"ws://127.0.0.1:{port}/ws?token={token}")
            assert await first_bytes(ws)
            [viewer] = watch_processes()
            assert "watch" in viewer.cmdline()
            assert token not in " ".join(viewer.cmdline())
            assert token not in " ".join(f"{k}={v}" for k, v in viewer.environ().items())
            await ws.close()
            await asyncio.to_thread(viewer.wait, 30)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = (text.decode() for text in proc.communicate(timeout=60))
    assert proc.returncode == 0, err
    assert "read-only" in out and "Ctrl-C stops" in out and "cockpit serve stopped" in out
    assert "GET / 200" in err  # the requests are logged, by their path only
    assert token not in err
    assert "Traceback" not in out + err


async def test_behind_a_proxy_the_page_uses_the_public_url(serve):
    server = await serve(public_url="https://cockpit.example.com/")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as browser:
        page = await browser.get("/", params={"token": server.token})
    assert 'data-session-websocket-url="wss://cockpit.example.com/ws"' in page.text
    assert 'href="https://cockpit.example.com/static/css/xterm.css"' in page.text
    assert "Secure" in page.headers["set-cookie"]
    assert server.url_to_open() == f"https://cockpit.example.com/?token={server.token}"
