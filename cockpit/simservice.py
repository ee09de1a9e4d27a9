"""A simulated web application on loopback: ``/api/ready`` for staging and production.

Owns the demo's (and the tests') stand-in for the real service: a threaded HTTP
server on 127.0.0.1 (a free port) answering ``/ENV/api/ready`` with realistic
latency and the JSON ready document, in a mode per environment that can be
changed live — healthy, slow, degraded, down, flapping, and the failures a
health probe must survive: reset, hang, html, huge (20 MB). Real sockets, no mocks.
"""

from __future__ import annotations

import io
import json
import random
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = (
    "healthy",
    "slow",
    "degraded",
    "down",
    "flapping",
    "reset",
    "hang",
    "html",
    "huge",
    "garbage",
)
CHECKS = ("db", "redis", "sms", "email")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return

    def do_GET(self) -> None:
        parts = self.path.strip("/").split("/")
        env = parts[0] if parts else ""
        if parts[1:] != ["api", "ready"] or env not in self.server.modes:
            self._send(404, b'{"error":"not found"}')
            return
        self.server.enter(env)
        try:
            self._answer(env)
        finally:
            self.server.leave(env)

    def _answer(self, env: str) -> None:
        mode = self.server.mode_now(env)
        self.server.hits[env] = self.server.hits.get(env, 0) + 1
        if mode == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.wfile = io.BytesIO()
            self.close_connection = True
            return
        if mode == "hang":
            self.server.stopping.wait()
            self.close_connection = True
            return
        if mode == "garbage":
            self.wfile.write(b"\x16\x03\x01 this is not HTTP \x00\xff\r\n\r\n")
            self.close_connection = True
            return
        if mode == "html":
            self._send(200, b"<html><body><h1>Welcome to nginx!</h1></body></html>", "text/html")
            return
        if mode == "huge":
            self._huge()
            return
        base = self.server.latency_s
        if mode == "slow":
            delay = random.uniform(1.2, 2.0) * base / 0.05
        else:
            delay = max(0.001, random.gauss(base, base / 4))
        time.sleep(min(delay, 30))
        if mode == "down":
            self._send(503, json.dumps({"status": "down", "checks": {"db": "fail"}}).encode())
            return
        checks = {name: "ok" for name in CHECKS}
        status = "ok"
        if mode == "degraded":
            checks["sms"] = "fail"
            status = "degraded"
        self._send(200, json.dumps({"status": status, "checks": checks}).encode())

    def _send(self, code: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _huge(self) -> None:
        size = 20 * 1024 * 1024
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        chunk = b" " * 65536
        try:
            for _ in range(size // len(chunk)):
                self.wfile.write(chunk)
        except OSError:
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, modes: dict[str, str], latency_s: float):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.modes = modes
        self.latency_s = latency_s
        self.stopping = threading.Event()
        self.hits: dict[str, int] = {}
        self.flap_period = 3.0
        self.in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}
        self._count_lock = threading.Lock()

    def enter(self, env: str) -> None:
        with self._count_lock:
            self.in_flight[env] = self.in_flight.get(env, 0) + 1
            self.max_in_flight[env] = max(self.max_in_flight.get(env, 0), self.in_flight[env])

    def leave(self, env: str) -> None:
        with self._count_lock:
            self.in_flight[env] -= 1

    def mode_now(self, env: str) -> str:
        mode = self.modes[env]
        if mode == "flapping":
            return "healthy" if int(time.monotonic() / self.flap_period) % 2 == 0 else "down"
        return mode

    def handle_error(self, request: object, client_address: object) -> None:  # clients hang up
        return


class SimService:
    """The simulated application; ``url(env)`` is the base URL the config points at."""

    def __init__(self, envs: tuple[str, ...] = ("staging", "production"), latency_s: float = 0.05):
        self.modes = dict.fromkeys(envs, "healthy")
        self._server = _Server(self.modes, latency_s)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="sim-service",
            daemon=True,
        )

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, env: str) -> str:
        return f"http://127.0.0.1:{self.port}/{env}"

    def set_mode(self, env: str, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r} (modes: {', '.join(MODES)})")
        if env not in self.modes:
            raise ValueError(f"unknown environment {env!r}")
        self.modes[env] = mode

    def set_flap_period(self, seconds: float) -> None:
        self._server.flap_period = seconds

    def hits(self, env: str) -> int:
        return self._server.hits.get(env, 0)

    def max_in_flight(self, env: str) -> int:
        """The most requests for ``env`` the server ever had open at once."""
        return self._server.max_in_flight.get(env, 0)

    def set_latency(self, seconds: float) -> None:
        self._server.latency_s = seconds

    def start(self) -> SimService:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SimService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
