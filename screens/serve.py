"""``cockpit serve``: the read-only watch served to browsers, by textual-serve.

Owns the server: each browser viewer's websocket runs one ``cockpit watch`` process of
this workspace under Textual's web driver (counted from the websocket's start to its
process's end, at most ``max_viewers`` at once); the token every request needs but
``GET /health`` (``?token=`` or the cookie the page sets); a page whose every URL is this
server's (no web fonts from elsewhere); errors and log lines in words, never the token.

A front end, so it lives beside the screens, never in the UI-free core (the import
contract forbids ``textual_serve`` there); Textual itself is not imported here: each
watch runs in its own process.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hmac
import ipaddress
import logging
import os
import secrets
import shlex
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
import jinja2
from aiohttp import WSMsgType, web
from aiohttp.abc import AbstractAccessLogger
from textual_serve.app_service import AppService
from textual_serve.server import Server

from cockpit.errors import CockpitError, error_words

log = logging.getLogger("cockpit.serve")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_MAX_VIEWERS = 20
TEMPLATES = Path(__file__).resolve().parent / "serve_templates"
QUIT_WITHIN = 10.0
"""Seconds a viewer's watch has to quit when asked before its process group is killed."""
_WS_MESSAGE_LIMIT = 1 << 20


def is_loopback(host: str) -> bool:
    """Whether ``host`` only reaches this machine: ``localhost``, 127.0.0.0/8 or ::1."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_host(host: str, public: bool) -> str | None:
    """Refuse (in words) a host that is not loopback without ``--public``; with it, the
    warning line to print (None when there is nothing to warn about)."""
    if is_loopback(host):
        return None
    if not public:
        raise CockpitError(
            f"--host {host} is not a loopback address: anyone who can reach this machine "
            "there could watch the run; add --public to mean it (and put it behind TLS), "
            "or keep the default --host 127.0.0.1"
        )
    return (
        f"warning: serving on {host} shows the run to the network: put it behind TLS "
        "(a reverse proxy, see the README's `cockpit serve`)"
    )


def check_public_url(url: str) -> str:
    """``--public-url``: an http(s) URL with a host and no query, fragment or credentials;
    returned without its trailing slash."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CockpitError(
            f"--public-url {url!r} is not an http:// or https:// URL with a host "
            "(e.g. https://cockpit.example.com)"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise CockpitError(
            f"--public-url {url!r}: give the URL without a query, a fragment or credentials"
        )
    return url.rstrip("/")


def watch_command(
    root: Path,
    run_id: str | None,
    config: Path | None = None,
    runbook: Path | None = None,
) -> str:
    """The shell command of one viewer: ``cockpit watch`` of this installation and
    workspace (AppService runs it with ``create_subprocess_shell``: every word quoted, and
    ``exec`` so the viewer is one process, not a shell waiting on it)."""
    words = [sys.executable, "-m", "cockpit.cli", "--workspace", str(root)]
    if config is not None:
        words += ["--config", os.path.abspath(config)]
    if runbook is not None:
        words += ["--runbook", os.path.abspath(runbook)]
    words.append("watch")
    if run_id:
        words += ["--run", run_id]
    return "exec " + " ".join(shlex.quote(word) for word in words)


def viewers_words(n: int) -> str:
    return f"{n} viewer{'' if n == 1 else 's'}"


def _to_int(value: Any, default: int, low: int = 1, high: int = 1000) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return min(max(number, low), high)


class ViewerProcess(AppService):
    """One viewer's ``cockpit watch``: in a session of its own (a Ctrl-C at the server's
    terminal reaches the server, which stops its viewers), and stopped for sure — asked to
    quit, its process group killed if it has not within ``QUIT_WITHIN`` seconds. When it
    ends on its own (quit in the browser, an error), the viewer's websocket is closed so
    the page says the session ended."""

    async def _open_app_process(self, width: int = 80, height: int = 24):
        environment = self._build_environment(width=width, height=height)
        self._process = process = await asyncio.create_subprocess_shell(
            self.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=environment,
            start_new_session=True,
        )
        self._stdin = process.stdin
        return process

    async def run(self) -> None:
        await super().run()
        with contextlib.suppress(Exception):
            await self.remote_close()

    async def stop(self) -> None:
        grace = QUIT_WITHIN
        try:
            await asyncio.wait_for(super().stop(), QUIT_WITHIN)
        except TimeoutError:
            log.warning("a viewer's watch did not quit within %gs: killed", QUIT_WITHIN)
            grace = 0
        finally:
            await self._ended(grace)

    async def _ended(self, grace: float) -> None:
        """The process gone: waited for ``grace`` seconds, then its group killed."""
        process = self._process
        if process is None:
            return
        if grace and process.returncode is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), grace)
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()


class _AccessLog(AbstractAccessLogger):
    """One line per request: who, method, path (never the query: it may carry the
    token), status."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %s", request.remote, request.method, request.path, response.status
        )


class _Words(logging.Formatter):
    """A log line with an error as its words on the same line, never a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info and record.exc_info[1] is not None:
            record = logging.makeLogRecord(record.__dict__)
            record.msg = f"{record.getMessage()}: {error_words(record.exc_info[1])}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return super().format(record)


class WatchServer(Server):
    """textual-serve's server for ``cockpit watch``: one watch process per viewer, the
    token on every request but ``/health``, at most ``max_viewers`` at once."""

    def __init__(
        self,
        root: Path,
        *,
        run_id: str | None = None,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        max_viewers: int = DEFAULT_MAX_VIEWERS,
        public_url: str | None = None,
        config: Path | None = None,
        runbook: Path | None = None,
        token: str | None = None,
    ) -> None:
        if not 0 <= port <= 65535:
            raise CockpitError(f"--port {port} is not a port: give 1..65535, or 0 for a free one")
        if max_viewers < 1:
            raise CockpitError(f"--max-viewers {max_viewers}: give 1 or more")
        super().__init__(
            watch_command(root, run_id, config, runbook),
            host=host,
            port=port,
            title=f"cockpit watch — {root.name}",
            public_url=check_public_url(public_url) if public_url else None,
            templates_path=TEMPLATES,
        )
        self.fixed_public_url = public_url is not None
        self.root = root
        self.run_id = run_id
        self.max_viewers = max_viewers
        self.token = token or secrets.token_urlsafe(24)
        self.viewers: dict[ViewerProcess, web.WebSocketResponse] = {}
        """Every viewer counted: from its websocket's start to its process's end."""
        self._runner: web.AppRunner | None = None

    # -- the token -------------------------------------------------------------------

    @property
    def cookie_name(self) -> str:
        """Per port: two servers on one host (cookies ignore ports) keep their own."""
        return f"cockpit_serve_{self.port}"

    def _token_ok(self, given: str) -> bool:
        return hmac.compare_digest(given.encode("utf-8"), self.token.encode("utf-8"))

    @web.middleware
    async def _guard(self, request: web.Request, handler) -> web.StreamResponse:
        """Every request but ``GET /health`` needs the token: none is 401, a wrong one 403
        (plain words, never the token); a good one in the query makes the page set the
        cookie."""
        if request.path == "/health":
            return await handler(request)
        from_query = request.query.get("token")
        given = from_query or request.cookies.get(self.cookie_name)
        if not given:
            return web.Response(
                status=401,
                text="this cockpit serve needs its token: open the URL `cockpit serve` "
                "printed (it ends in ?token=…)\n",
            )
        if not self._token_ok(given):
            return web.Response(
                status=403,
                text="wrong token: open the URL `cockpit serve` printed, with its token\n",
            )
        response = await handler(request)
        if from_query and request.path == "/" and isinstance(response, web.Response):
            response.set_cookie(
                self.cookie_name,
                self.token,
                httponly=True,
                samesite="Strict",
                path="/",
                secure=self.public_url.startswith("https://"),
            )
        return response

    # -- the app ---------------------------------------------------------------------

    async def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard])
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(self.templates_path))
        app.add_routes(
            [
                web.get("/", self.handle_index, name="index"),
                web.get("/health", self.handle_health, name="health"),
                web.get("/ws", self.handle_websocket, name="websocket"),
                web.get("/download/{key}", self.handle_download, name="download"),
                web.static("/static", self.statics_path, name="static"),
            ]
        )
        app.on_shutdown.append(self.on_shutdown)
        return app

    async def handle_health(self, request: web.Request) -> web.Response:
        """For a proxy's health check: the server answers; nothing about the run."""
        return web.Response(text="ok\n")

    def full_words(self) -> str:
        n = self.max_viewers
        are = "is" if n == 1 else "are"
        return (
            f"{viewers_words(n)} {are} watching already (cockpit serve --max-viewers {n}); "
            "try again later"
        )

    def _full(self) -> bool:
        return len(self.viewers) >= self.max_viewers

    async def handle_index(self, request: web.Request) -> web.Response:  # type: ignore[override]
        """The page, every URL of it this server's (or ``--public-url``'s): fonts from the
        package's static folder, no Google Fonts; 503 in words when the viewers are many."""
        if self._full():
            response = aiohttp_jinja2.render_template(
                "serve_full.html", request, {"words": self.full_words()}, status=503
            )
        else:
            base = self.public_url if self.fixed_public_url else ""
            websocket_url = ""  # the page's own origin: set by the page's script
            if self.fixed_public_url:
                scheme, rest = self.public_url.split(":", 1)
                websocket_url = ("wss:" if scheme == "https" else "ws:") + rest + "/ws"
            context = {
                "font_size": _to_int(request.query.get("fontsize", "16"), 16, 6, 64),
                "static_url": f"{base}/static/",
                "websocket_url": websocket_url,
                "title": self.title,
            }
            response = aiohttp_jinja2.render_template("serve_index.html", request, context)
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = self._content_policy()
        return response

    def _content_policy(self) -> str:
        """What the page may load: this server only (the public URL's origin if given)."""
        origin = connect = "'self'"
        if self.fixed_public_url:
            parts = urlsplit(self.public_url)
            origin = f"{parts.scheme}://{parts.netloc}"
            connect = f"{origin} {'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}"
        return (
            f"default-src 'none'; script-src {origin} 'unsafe-inline'; "
            f"style-src {origin} 'unsafe-inline'; font-src {origin}; img-src {origin} data:; "
            f"connect-src {connect}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        )

    # -- viewers ---------------------------------------------------------------------

    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
        """One viewer: refused with 503 before the upgrade when ``max_viewers`` watch
        already; else its own ``cockpit watch`` until the websocket or the watch ends."""
        if self._full():
            return web.Response(status=503, text=self.full_words() + "\n")
        websocket = web.WebSocketResponse(heartbeat=15, max_msg_size=_WS_MESSAGE_LIMIT)
        if not websocket.can_prepare(request).ok:
            return web.Response(
                status=400, text="this is the viewers' websocket: open the page instead\n"
            )
        service = ViewerProcess(
            self.command,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
        )
        self.viewers[service] = websocket  # counted from here to its process's end
        try:
            await websocket.prepare(request)
            log.info(
                "a viewer joined from %s (%s of at most %d)",
                request.remote,
                viewers_words(len(self.viewers)),
                self.max_viewers,
            )
            width = _to_int(request.query.get("width"), 80)
            height = _to_int(request.query.get("height"), 24)
            await service.start(width, height)
            await self._process_messages(websocket, service)
        except (ConnectionError, asyncio.CancelledError):
            pass
        except Exception as exc:
            log.warning("a viewer's session ended on an error: %s", error_words(exc))
        finally:
            try:
                await service.stop()
            finally:
                del self.viewers[service]
                log.info("a viewer left (%s watching)", viewers_words(len(self.viewers)))
        return websocket

    async def _process_messages(
        self, websocket: web.WebSocketResponse, app_service: AppService
    ) -> None:
        """The browser's keys, size, focus and pings to the watch; a malformed message is
        ignored (the page never sends one)."""
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                envelope = message.json()
                kind = envelope[0]
                data = envelope[1] if len(envelope) > 1 else None
            except (ValueError, TypeError, IndexError, KeyError):
                continue
            if kind == "stdin" and isinstance(data, str):
                await app_service.send_bytes(data.encode("utf-8"))
            elif kind == "resize" and isinstance(data, dict):
                await app_service.set_terminal_size(
                    _to_int(data.get("width"), 80), _to_int(data.get("height"), 24)
                )
            elif kind == "ping" and isinstance(data, str):
                await websocket.send_json(["pong", data])
            elif kind == "blur":
                await app_service.blur()
            elif kind == "focus":
                await app_service.focus()

    async def on_shutdown(self, app: web.Application) -> None:
        """Each viewer's page told the server goes away; each handler then stops its watch."""
        for websocket in list(self.viewers.values()):
            with contextlib.suppress(Exception):
                await websocket.close(code=1001, message=b"cockpit serve stopped")

    # -- listening -------------------------------------------------------------------

    def _bind(self) -> socket.socket:
        """The listening socket, or why not in words (a port in use, a host not here)."""
        try:
            infos = socket.getaddrinfo(
                self.host, self.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )
        except socket.gaierror as exc:
            raise CockpitError(f"--host {self.host}: {exc.strerror or exc}") from None
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(128)
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE:
                raise CockpitError(
                    f"port {self.port} is in use: choose another with --port"
                ) from None
            if exc.errno == errno.EACCES:
                raise CockpitError(
                    f"port {self.port} needs privileges this user does not have: "
                    "choose another with --port (1024 or above)"
                ) from None
            if exc.errno == errno.EADDRNOTAVAIL:
                raise CockpitError(
                    f"--host {self.host} is not an address of this machine"
                ) from None
            raise CockpitError(
                f"cannot listen on {self.host} port {self.port}: {exc.strerror or exc}"
            ) from None
        sock.setblocking(False)
        return sock

    def local_url(self) -> str:
        host = self.host
        if host in ("0.0.0.0", "::", ""):
            host = socket.gethostname()
        elif ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def url_to_open(self) -> str:
        """The URL a viewer opens, with the token."""
        base = self.public_url if self.fixed_public_url else self.local_url()
        return f"{base}/?token={self.token}"

    async def start(self) -> None:
        """Listen (the real port in ``self.port`` after ``--port 0``) and serve."""
        sock = self._bind()
        self.port = sock.getsockname()[1]
        if not self.fixed_public_url:
            self.public_url = self.local_url()
        self._runner = web.AppRunner(
            await self._make_app(),
            access_log_class=_AccessLog,
            access_log=logging.getLogger("cockpit.serve.access"),
            shutdown_timeout=QUIT_WITHIN + 5,
        )
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    async def close(self) -> None:
        """Stop listening; every viewer's watch stopped."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- the command -----------------------------------------------------------------

    def initialize_logging(self) -> None:
        """Log lines on stderr in words: a time, what happened; never a traceback, never a
        query (the access log names the path only)."""
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_Words("%(asctime)s %(message)s", "%H:%M:%S"))
        for name in ("cockpit.serve", "textual-serve", "aiohttp"):
            logger = logging.getLogger(name)
            logger.handlers[:] = [handler]
            logger.setLevel(logging.INFO)
            logger.propagate = False
        logging.getLogger("aiohttp.access").setLevel(logging.INFO)

    def announce(self, lines: Sequence[str] = ()) -> None:
        for line in lines:
            print(line, flush=True)
        print(f"open {self.url_to_open()}", flush=True)
        print(
            f"read-only: each viewer (a browser tab) runs its own `cockpit watch`, which never "
            f"probes the environments; at most {viewers_words(self.max_viewers)} at once "
            "(--max-viewers)",
            flush=True,
        )
        print("Ctrl-C stops the server and its viewers", flush=True)

    def serve(  # type: ignore[override]
        self, debug: bool = False, lines: Sequence[str] = (), warning: str | None = None
    ) -> None:
        """Serve until SIGINT or SIGTERM (``lines`` and the ``warning`` said once it
        listens); every viewer's watch stopped on the way out."""
        self.initialize_logging()
        asyncio.run(self._serve_until_stopped(lines, warning))

    async def _serve_until_stopped(self, lines: Sequence[str], warning: str | None) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await self.start()
        try:
            if warning:
                print(warning, file=sys.stderr, flush=True)
            self.announce(lines)
            await stop.wait()
            if self.viewers:
                print(f"stopping the watch of {viewers_words(len(self.viewers))}", flush=True)
        finally:
            await self.close()
        print("cockpit serve stopped", flush=True)
