"""A step's and a command's ``cwd:`` and ``env:``: commands run in that folder with those
variables (placeholders filled as plain text), the dry run and the log say where, a missing
folder fails the step in words, and credentials in a value stay masked."""

from __future__ import annotations

from tests.helpers import phase_workspace
from tests.helpers import run_cli as cockpit

PHASE = """\
id: build
title: Build
steps:
  - id: api
    title: Build the API
    cwd: services/api
    env: {STAGE: "stage-{version}", TARGET: "{production_url}"}
    commands:
      - run: "pwd; echo stage=$STAGE"
      - run: "pwd; echo stage=$STAGE"
        cwd: services/web
        env: {STAGE: web}
  - id: nowhere
    title: Build nothing
    cwd: services/gone
    commands:
      - run: "echo never"
"""


def workspace(tmp_path, phase=PHASE):
    root = phase_workspace(
        tmp_path / "ws",
        {"build.yaml": phase},
        environments={"production": {"url": "http://ops:hunter2-secret@127.0.0.1:9"}},
    )
    for sub in ("services/api", "services/web"):
        (root / sub).mkdir(parents=True)
    return root


def test_commands_run_where_and_with_what_the_step_says(tmp_path):
    root = workspace(tmp_path)
    assert cockpit(root, "start", "--type", "standard", "--version", "3.1.0").returncode == 0
    dry = cockpit(root, "run", "build", "--headless", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "# in services/api, STAGE=stage-3.1.0, TARGET=http://ops:***@127.0.0.1:9" in dry.stdout
    assert "# in services/web, STAGE=web, TARGET=" in dry.stdout
    ran = cockpit(root, "run", "build", "--headless", "--yes")
    said = ran.stdout + ran.stderr
    assert ran.returncode == 1, said  # the second step's folder is missing
    log = next(root.glob(".cockpit/runs/*/logs/build/api.log")).read_text()
    printed = [line.split(" ", 2)[2] for line in log.splitlines() if line.split(" ")[1] == "O"]
    assert printed == [
        str((root / "services/api").resolve()),
        "stage=stage-3.1.0",
        str((root / "services/web").resolve()),
        "stage=web",
    ]
    assert "# in services/web, STAGE=web" in log
    assert "hunter2-secret" not in log and "hunter2-secret" not in said
    for journal in root.glob(".cockpit/runs/*/journal.jsonl"):
        assert "hunter2-secret" not in journal.read_text()
    gone = next(root.glob(".cockpit/runs/*/logs/build/nowhere.log")).read_text()
    assert "could not start: its working directory" in gone and "services/gone" in gone
    assert "not a folder" in said


def test_place_mistakes_are_file_and_line(tmp_path):
    bad = PHASE.replace('STAGE: "stage-{version}"', 'STAGE: "stage-{versoin}"').replace(
        "env: {STAGE: web}", "env: {1STAGE: web}"
    )
    root = workspace(tmp_path, bad)
    out = cockpit(root, "validate")
    assert out.returncode == 2
    assert "build.yaml:7: unknown placeholder {versoin}" in out.stderr
    assert "build.yaml:12:" in out.stderr and "'1STAGE' is not an environment variable name" in (
        out.stderr
    )
    assert "Traceback" not in out.stderr
