"""A watcher never probes the environments: its health panels are the driver's journaled
health ("as seen by the driver, 3s ago"), and with no driver they say that nobody probes.
The driver is a real headless `cockpit` process; the environments are real HTTP servers
on loopback that count every request to their ready endpoint."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

from cockpit.journal import read_journal
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.dashboard import DashboardScreen
from screens.panels import EnvCard
from tests.helpers import phase_workspace, until, wait_for
from tests.tui.test_watch import cockpit

PHASE = """\
id: ship
title: Ship It
steps:
  - id: migrate
    title: Database Migration
    budget: 15m
    commands:
      - run: "for i in $(seq 1 300); do echo tick-$i; sleep 0.2; done"
"""


class ReadyServer:
    """An environment on loopback: answers its ready endpoint READY, counts the requests."""

    def __init__(self) -> None:
        counts = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.startswith("/api/ready"):
                    with counts.lock:
                        counts.hits += 1
                body = json.dumps({"status": "ok", "checks": {"db": "ok"}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.lock = threading.Lock()
        self.hits = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@contextlib.contextmanager
def ready_server() -> Iterator[ReadyServer]:
    env = ReadyServer()
    thread = threading.Thread(target=env.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield env
    finally:
        env.server.shutdown()
        env.server.server_close()


def workspace(tmp_path, url: str):
    health = {"interval": "200ms"}
    return phase_workspace(
        tmp_path / "ws",
        {"ship.yaml": PHASE},
        environments={"production": {"url": url}},
        health=health,
    )


def point_production_at(root, url: str) -> None:
    path = root / "cockpit.yaml"
    config = yaml.safe_load(path.read_text())
    config["environments"]["production"]["url"] = url
    path.write_text(yaml.safe_dump(config))


def start_driver(root):
    """A real headless driver running a long step, polling production every 200 ms; its run
    id once it journaled a few health samples."""
    assert cockpit(root, "start", "--type", "standard", "--version", "2.0.0").returncode == 0
    driver = cockpit(root, "run", "ship", "--headless", "--yes", wait=False)
    ws = Workspace.open(root)
    run_id = ws.active_run_id()
    assert run_id is not None
    journal = ws.run_dir(run_id) / "journal.jsonl"

    def samples() -> int:
        return sum(e["type"] == "health.sample" for e in read_journal(journal).events)

    wait_for(lambda: samples() >= 3, "the driver journaled health samples")
    return driver


def card_text(app) -> str:
    """The production card's text ('' until the dashboard has drawn it)."""
    cards = app.screen.query("#env-production")
    return cards.first(EnvCard).content.plain if cards else ""


def source_text(app) -> str:
    """The line above the cards saying where the health comes from ('' until drawn)."""
    lines = app.screen.query("#health-source")
    return str(lines.first().render()) if lines else ""


def stop(driver) -> None:
    if driver.poll() is None:
        driver.kill()
        driver.wait(timeout=30)


async def test_a_watcher_makes_no_request_to_any_environment(tmp_path):
    with ready_server() as drivers_env, ready_server() as watchers_env:
        root = workspace(tmp_path, drivers_env.url)
        driver = start_driver(root)
        try:
            # the driver keeps probing its server; the watcher's config names another one
            point_production_at(root, watchers_env.url)
            app = CockpitApp(Workspace.open(root), None, read_only=True, follow_interval=0.1)
            async with app.run_test(size=(160, 48)) as pilot:
                await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "dashboard")
                await until(pilot, lambda: "READY" in card_text(app), "the driver's health shown")
                seen = app.session.state.health_samples["production"].ts
                for _ in range(50):  # five seconds of watching a live driver
                    await pilot.pause(0.1)
                assert watchers_env.hits == 0
                # meanwhile it drew the driver's newer samples, read from the journal
                assert app.session.state.health_samples["production"].ts != seen
                assert app.health_envs["production"].last.at != seen
                assert app.monitor is None and app.driver is None  # nothing polls, nothing writes
        finally:
            stop(driver)
        assert drivers_env.hits > 0


async def test_a_watcher_shows_the_drivers_journaled_health_and_says_when_nobody_probes(
    tmp_path,
):
    with ready_server() as env:
        root = workspace(tmp_path, env.url)
        driver = start_driver(root)
        try:
            app = CockpitApp(Workspace.open(root), None, read_only=True, follow_interval=0.1)
            async with app.run_test(size=(160, 48)) as pilot:
                await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "dashboard")
                # a late watcher: the samples already journaled are its window at once
                assert len(app.health_envs["production"].samples) >= 3

                def shows_the_drivers_p95() -> bool:
                    last = app.session.state.health_samples["production"]
                    return (
                        "READY" in card_text(app)
                        and f"p95 {last.p95_ms:.0f}ms" in card_text(app)
                        and source_text(app).startswith("as seen by the driver, ")
                        and source_text(app).endswith(" ago")
                    )

                await until(pilot, shows_the_drivers_p95, "the driver's state, p95 and source")
                os.kill(driver.pid, signal.SIGKILL)
                driver.wait(timeout=30)
                await until(
                    pilot,
                    lambda: source_text(app).startswith(
                        "no driver: health is not probed by watchers (last seen by the driver "
                    ),
                    "no driver said",
                    attempts=500,
                )
                assert "READY" in card_text(app)  # the last journaled state, with its age above
        finally:
            stop(driver)


async def test_a_watcher_of_a_run_without_journaled_health_says_so(tmp_path):
    from cockpit.session import RunSession

    with ready_server() as env:
        root = workspace(tmp_path, env.url)
        session = RunSession.start(Workspace.open(root), "standard", "2.0.0", operator="ana")
        app = CockpitApp(Workspace.open(root), session, read_only=True, follow_interval=0.05)
        try:
            async with app.run_test(size=(120, 40)) as pilot:
                await until(
                    pilot,
                    lambda: (
                        source_text(app)
                        == "no driver: health is not probed by watchers (no health journaled yet)"
                    ),
                    "nothing journaled said",
                )
                assert "UNKNOWN" in card_text(app)
        finally:
            session.close()
        assert env.hits == 0
