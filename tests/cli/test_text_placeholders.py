"""Placeholders in a runbook's titles and texts: filled with the run's facts wherever the
runbook is shown (status, report, headless), and an unknown one is a validate error."""

from __future__ import annotations

import json
import subprocess

from tests.helpers import cockpit_cmd, phase_workspace

PHASE = """\
id: ship
title: Ship {version}
sections:
  - title: Before {version}
    items:
      - text: Announce v{version} in {channel}
        id: announce
      - Tag production-v{version} ({{literal}})
steps:
  - id: tag
    title: Tag production-v{version}
    commands:
      - run: "echo tagging {version}"
    checks:
      - text: Tag production-v{version} is pushed
        id: pushed
"""


def cockpit(root, *args):
    return subprocess.run(
        cockpit_cmd("--workspace", str(root), *args), capture_output=True, text=True, timeout=60
    )


def test_texts_show_the_runs_facts(tmp_path):
    root = phase_workspace(tmp_path / "ws", {"ship.yaml": PHASE}, vars={"channel": "#releases"})
    assert cockpit(root, "validate").returncode == 0
    assert cockpit(root, "start", "--type", "standard", "--version", "2.4.0").returncode == 0
    doc = json.loads(cockpit(root, "status", "--json").stdout)
    phase = doc["phases"][0]
    assert phase["title"] == "Ship 2.4.0"
    texts = [item["text"] for item in phase["items"]]
    assert "Announce v2.4.0 in #releases" in texts
    assert "Tag production-v2.4.0 ({literal})" in texts
    assert "Tag production-v2.4.0 is pushed" in texts
    # ids are the file's (a slug of the text as written), so ticks stay put across runs
    assert cockpit(root, "check", "ship", "announce").returncode == 0
    run = cockpit(root, "run", "ship", "--headless", "--yes")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Tag production-v2.4.0" in run.stdout and "{version}" not in run.stdout
    report = cockpit(root, "report").stdout
    assert "Announce v2.4.0 in #releases" in report and "{version}" not in report


def test_an_unknown_placeholder_in_a_text_is_a_validate_error(tmp_path):
    root = phase_workspace(tmp_path / "ws", {"ship.yaml": PHASE.replace("{channel}", "{chanel}")})
    result = cockpit(root, "validate")
    assert result.returncode == 2
    assert "ship.yaml:6: unknown placeholder {chanel} in a text" in result.stderr
    assert "write {{chanel}} for the literal text {chanel}" in result.stderr
