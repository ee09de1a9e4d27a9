"""`cockpit serve` end to end, in a real browser: a workspace with another team's runbook
and a run whose driver journaled health, a real `cockpit serve --port 0` process, and
headless Chromium (tests/browser.py) opening the URL it printed. The page shows the
dashboard (the run's version, the environment's health state), everything it loaded came
from this machine, and the token is required (none: 401, a wrong one: 403)."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from bench.serve import Serve  # one way to start `cockpit serve` and read its URL
from cockpit.journal import read_journal
from cockpit.simservice import SimService
from cockpit.workspace import Workspace
from tests.browser import Browser, require_chromium
from tests.helpers import cockpit_cmd, phase_workspace, run_cli, wait_for
from tests.rollout import ROLLOUT

VERSION = "2.4.0"
CARD = re.compile(r"│ production +(READY|DEGRADED|DOWN|UNKNOWN) ")
"""Production's card in the Environments panel, with its state (not the activity line)."""


def workspace_with_health(tmp_path: Path, service: SimService) -> tuple[Path, str]:
    """A started run of the rollout runbook whose driver journaled production's health:
    the workspace and the run id. The driver is a real headless `cockpit run`, stopped (as
    Ctrl-C does) once its first samples are in the journal."""
    root = phase_workspace(
        tmp_path / "ws",
        {"rollout.yaml": ROLLOUT},
        vars={"marker": str(tmp_path / "marker")},
        environments={"production": {"url": service.url("production")}},
        health={"interval": "100ms"},
    )
    started = run_cli(root, "start", "--type", "standard", "--version", VERSION)
    assert started.returncode == 0, started.stderr
    ws = Workspace.open(root)
    run_id = ws.active_run_id()
    assert run_id is not None
    journal = ws.run_dir(run_id) / "journal.jsonl"
    driver = subprocess.Popen(
        cockpit_cmd("--workspace", str(root), "run", "rollout", "--headless", "--yes"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def health_journaled() -> bool:
            types = [e["type"] for e in read_journal(journal).events]
            return "health.changed" in types and "health.sample" in types

        wait_for(health_journaled, "the driver journaled production's health")
    finally:
        driver.send_signal(signal.SIGINT)  # as Ctrl-C: the running step aborted, not left
        try:
            driver.wait(timeout=30)
        except subprocess.TimeoutExpired:
            driver.kill()
            driver.wait(timeout=30)
    return root, run_id


async def until_shown(browser: Browser, condition, what: str, attempts: int = 300) -> str:
    """Poll what the page's terminal shows (bounded; no timing assertion)."""
    for _ in range(attempts):
        if condition(screen := browser.screen()):
            return screen
        await asyncio.sleep(0.05)
    raise AssertionError(f"never shown: {what}; the page shows:\n{browser.screen()}")


async def test_a_browser_sees_the_dashboard_with_the_token_only(tmp_path):
    require_chromium()
    with SimService(envs=("production",), latency_s=0.01) as service:
        root, run_id = workspace_with_health(tmp_path, service)
    server = Serve(root, run_id)
    try:
        parts = urlsplit(server.url)
        assert parts.hostname == "127.0.0.1"
        async with Browser() as browser:
            assert await browser.goto(server.url) == 200
            screen = await until_shown(
                browser,
                lambda s: VERSION in s and CARD.search(s) is not None,
                f"the dashboard of {VERSION} with production's health",
            )
            card = CARD.search(screen)
            assert card is not None and card.group(1) == "READY"  # as the driver saw it
            offsite = [u for u in browser.requests if urlsplit(u).hostname != "127.0.0.1"]
            assert not offsite, f"the page loaded from outside the machine: {offsite}"
            assert any(urlsplit(u).scheme == "ws" for u in browser.requests)

            base = f"http://127.0.0.1:{parts.port}/"
            assert await browser.goto(base) == 200  # the page's cookie: a reload works
            await browser.clear_cookies()  # a browser that never had the token
            assert await browser.goto(base) == 401
            assert await browser.goto(f"{base}?token=not-the-token") == 403
    finally:
        server.stop()
