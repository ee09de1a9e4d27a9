"""``offers:`` on a command: what its output lists (deployment URLs) is offered as a value
of a placeholder; headless stops until ``--set`` picks one, the TUI asks with a list, the
choice is journaled and used by the commands after it."""

from __future__ import annotations

import json
import subprocess
import sys

from cockpit.config import shipped_dir
from cockpit.offers import matches
from cockpit.runbook import load_runbook
from cockpit.session import RunSession
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.deploy import DeployScreen
from screens.dialogs import PickPrompt
from tests.helpers import phase_workspace, until
from tests.helpers import run_cli as cockpit

LISTING = (
    "printf 'Age  Deployment\\n"
    "3m   https://shop-9a1-acme.vercel.app  Ready (current)\\n"
    "2d   https://shop-7c2-acme.vercel.app  Ready\\n"
    "9d   https://shop-5e3-acme.vercel.app  Ready\\n'"
)
PHASE = f"""\
id: revert
title: Revert
steps:
  - id: identify
    title: Identify the last good deployment
    commands:
      - run: "{LISTING}"
        offers: {{var: rollback_target, pattern: 'https://\\S+', skip: '(?i)current'}}
  - id: promote
    title: Promote it
    commands:
      - run: "echo promoting {{rollback_target}} > promoted.txt"
"""


def started(tmp_path):
    root = phase_workspace(tmp_path / "ws", {"revert.yaml": PHASE})
    assert cockpit(root, "validate").returncode == 0, cockpit(root, "validate").stderr
    assert cockpit(root, "start", "--type", "standard", "--version", "1.1.0").returncode == 0
    return root


def test_headless_stops_for_the_pick_then_uses_it(tmp_path):
    root = started(tmp_path)
    first = cockpit(root, "run", "revert", "--headless", "--yes")
    assert first.returncode == 2, first.stdout + first.stderr
    assert (
        "offers rollback_target: https://shop-7c2-acme.vercel.app, "
        "https://shop-5e3-acme.vercel.app" in first.stdout
    )
    assert "--set rollback_target=VALUE" in first.stdout
    assert not (root / "promoted.txt").exists()  # never run with the old value
    chosen = "https://shop-7c2-acme.vercel.app"
    second = cockpit(
        root, "run", "revert", "--headless", "--yes", "--set", f"rollback_target={chosen}"
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"# rollback_target = {chosen} (--set)" in second.stdout
    assert (root / "promoted.txt").read_text() == f"promoting {chosen}\n"
    journal = next(root.glob(".cockpit/runs/*/journal.jsonl")).read_text().splitlines()
    picks = [json.loads(line) for line in journal if '"value.chosen"' in line]
    assert [(p["name"], p["value"], p["step"]) for p in picks] == [
        ("rollback_target", chosen, "identify")
    ]


def test_a_value_that_cannot_be_chosen_is_refused(tmp_path):
    root = started(tmp_path)
    out = cockpit(root, "run", "revert", "--headless", "--yes", "--set", "version=9.9.9")
    assert out.returncode == 2 and "'version' cannot be chosen" in out.stderr
    bad = cockpit(root, "run", "revert", "--headless", "--set", "rollback_target")
    assert bad.returncode == 2 and "write it as NAME=VALUE" in bad.stderr


def test_offers_mistakes_are_file_and_line(tmp_path):
    broken = PHASE.replace("var: rollback_target", "var: version").replace(
        "skip: '(?i)current'", "skip: '(unclosed'"
    )
    root = phase_workspace(tmp_path / "ws", {"revert.yaml": broken})
    out = cockpit(root, "validate")
    assert out.returncode == 2
    assert "revert.yaml:8:" in out.stderr and "'(unclosed' is not a regular expression" in (
        out.stderr
    )
    probe = PHASE.replace(f'run: "{LISTING}"', "health: staging")
    root2 = phase_workspace(tmp_path / "ws2", {"revert.yaml": probe})
    out2 = cockpit(root2, "validate")
    assert out2.returncode == 2 and "'offers' picks from a 'run' command's output" in out2.stderr


def test_the_shipped_rollback_offers_the_deployments_vercel_lists(tmp_path):
    runbook = load_runbook(shipped_dir(), None)
    step = next(s for s in runbook.phase("rollback").steps if s.id == "prepare-rollback")
    offers = next(c.offers for c in step.commands if c.offers)
    listed = subprocess.run(
        [sys.executable, "-m", "cockpit.demo_commands", "vercel", "list"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    lines = listed.stdout.splitlines()
    assert offers.var == "rollback_target"
    assert matches(lines, offers) == [
        "https://dirt-free-crm-1b9e77-dirtfree.vercel.app",
        "https://dirt-free-crm-4c0d51-dirtfree.vercel.app",
    ]


async def test_the_app_asks_for_the_pick(tmp_path):
    root = started(tmp_path)
    ws = Workspace.open(root)
    session = RunSession(ws, ws.active_run_id(), operator="ana")
    app = CockpitApp(ws, session, follow_interval=0.05, poll_health=False)
    async with app.run_test(size=(160, 48)) as pilot:
        app.open_phase("revert")
        await until(pilot, lambda: isinstance(app.screen, DeployScreen), "deploy screen")
        await pilot.pause()
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, PickPrompt), "asked to pick")
        assert app.screen.values == [
            "https://shop-7c2-acme.vercel.app",
            "https://shop-5e3-acme.vercel.app",
        ]
        await pilot.press("down", "enter")
        await until(
            pilot,
            lambda: session.state.rollback_target == "https://shop-5e3-acme.vercel.app",
            "the pick journaled",
        )
        assert session.placeholder_values()["rollback_target"] == "https://shop-5e3-acme.vercel.app"
    session.close()
