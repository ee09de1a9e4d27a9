"""No secret anywhere: a named secret, a password inside an environment URL and a webhook
URL never reach a file the cockpit writes or a byte it prints, on any surface.

The step prints the named secret across the 64 KiB cut of an endless line (its first six
characters, a pause, the rest). A run of another team's runbook is driven headless while the TUI watches it; every CLI
surface (validate, health, health --json, dry run, status --json, report md/json, runs),
the release messages and the webhook post are used; then every file under the workspace
(the user's own config and runbook aside) and everything printed is searched.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from cockpit.release_actions import do_post_slack, release_view
from cockpit.session import RunSession
from cockpit.simservice import SimService
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.deploy import DeployScreen
from tests.helpers import Recorder, cockpit_cmd, phase_workspace, until

NAMED = "NAMED-secret-4242"
URL_PASSWORD = "URLPASS-9c1e"
WEBHOOK_PATH = "secretpath"  # the shared webhook fixture's last path part
UNCONFIGURED = "UNCONFIGURED"  # a token in a URL a command prints, named nowhere

PHASE = """\
id: ship
title: Ship payments
sections:
  - title: Gates
    items:
      - {text: Production answers, auto: {health: production}}
steps:
  - id: deploy
    title: Deploy payments
    commands:
      - run: >-
          echo "token=$DEPLOY_TOKEN url={production_url}";
          {py} -c "import os,sys,time; s=os.environ['DEPLOY_TOKEN'];
          o=sys.stdout; o.write('y'*70000+s[:6]); o.flush(); time.sleep(0.5);
          o.write(s[6:]+'\\n'); o.flush()";
          printf '\\033[1m%s\\033[0m\\n' "$DEPLOY_TOKEN";
          echo "remote https://bot:{{UNCONFIGURED}}@git.example/x.git";
          echo done-deploying
      - health: production
"""


def assert_clean(where: str, data: bytes | str) -> None:
    text = data if isinstance(data, str) else data.decode("utf-8", "replace")
    for secret in (NAMED, URL_PASSWORD, WEBHOOK_PATH, UNCONFIGURED):
        assert secret not in text, f"{secret} in {where}"


async def test_no_secret_reaches_any_file_or_any_byte_printed(tmp_path, webhook, monkeypatch):
    monkeypatch.setenv("DEPLOY_TOKEN", NAMED)
    printed: list[tuple[str, str]] = []
    with SimService(latency_s=0.0) as service:
        urls = {
            env: service.url(env).replace("http://", f"http://ops:{URL_PASSWORD}@")
            for env in ("staging", "production")
        }
        root = phase_workspace(
            tmp_path / "ws",
            {"ship.yaml": PHASE},
            environments={env: {"url": url} for env, url in urls.items()},
            vars={"py": sys.executable},
            secrets=["DEPLOY_TOKEN"],
            notify={"slack_webhook": webhook, "release_notes_url": "https://docs/2.0.0"},
            health={"interval": "200ms"},
        )

        def cockpit(*args: str) -> subprocess.CompletedProcess:
            done = subprocess.run(
                cockpit_cmd("--workspace", str(root), *args),
                capture_output=True,
                text=True,
                timeout=120,
            )
            printed.append((" ".join(args), done.stdout + done.stderr))
            return done

        assert cockpit("validate").returncode == 0
        assert cockpit("health").returncode == 0
        assert cockpit("health", "--json").returncode == 0
        assert cockpit("health", "--env", f"x={urls['staging']}").returncode == 0
        assert cockpit("start", "--type", "standard", "--version", "2.0.0").returncode == 0
        assert cockpit("run", "ship", "--dry-run").returncode == 0
        assert cockpit("check", "ship", "production-answers").returncode == 0

        ws = Workspace.open(root)
        app = CockpitApp(ws, None, read_only=True, follow_interval=0.05, poll_health=True)
        screens: list[str] = []
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: app.session is not None, "the watcher found the run")
            app.open_phase("ship")
            await until(pilot, lambda: isinstance(app.screen, DeployScreen), "deploy screen")
            driver = await asyncio.to_thread(
                cockpit, "run", "ship", "--headless", "--yes", "--from", "deploy"
            )
            assert driver.returncode == 0, driver.stdout + driver.stderr
            await until(
                pilot,
                lambda: app.session.state.step("ship", "deploy").state == "done",
                "the watcher saw the step end",
            )
            await until(
                pilot,
                lambda: "done-deploying" in app.export_screenshot(),
                "the log on the watcher's screen",
            )
            screens.append(app.export_screenshot())
        assert "ops:***@" in "".join(text for _, text in printed)  # masked, not dropped

        for args in (("status", "--json"), ("report", "--format", "md"), ("runs",)):
            assert cockpit(*args).returncode == 0, args  # a surface that failed shows nothing
        assert cockpit("report", "--format", "json").returncode == 0
        session = RunSession(ws, ws.active_run_id(), None, "ana")
        view = await asyncio.to_thread(release_view, session, "READY")
        sent = await do_post_slack(session, view.slack)
        session.write(sent)
        assert sent.type == "notification.sent", sent
        session.close()

    assert Recorder.posts, "the webhook got the release message"
    for where, text in printed:
        assert_clean(f"the output of `cockpit {where}`", text)
    for n, svg in enumerate(screens):
        assert_clean(f"screen {n}", svg)
    assert_clean("the release message", view.slack + view.email)
    for body in Recorder.posts:
        assert_clean("the webhook post", json.dumps(body))
    own = {root / "cockpit.yaml"}
    files = [
        p
        for p in Path(root).rglob("*")
        if p.is_file() and p not in own and "runbook" not in p.parts and ".git" not in p.parts
    ]
    assert any(p.name == "journal.jsonl" for p in files)
    assert any(p.suffix == ".log" for p in files), files
    for path in files:
        assert_clean(str(path.relative_to(root)), path.read_bytes())
        if path.suffix == ".log":  # a line cut in two is still one text: no half and half
            joined = "".join(line.split(" ", 2)[-1] for line in path.read_text().splitlines())
            assert_clean(f"{path.name}, its lines joined", joined)
