"""``when:`` on a step: a guard command decides whether the step runs — exit 0 runs it, exit
1 skips it (journaled, the guard's last line the reason), anything else fails it; the
runbook's "Database Rollback (if needed)" is guarded so."""

from __future__ import annotations

import json

from cockpit.config import shipped_dir
from cockpit.runbook import load_runbook
from tests.helpers import phase_workspace
from tests.helpers import run_cli as cockpit

PHASE = """\
id: revert
title: Revert
steps:
  - id: assess
    title: Assess database changes
    commands:
      - run: "echo 'schema: unchanged' > assessment.txt"
  - id: db-rollback
    title: Database rollback (if needed)
    when: "grep -q 'schema: changed' assessment.txt || {{ echo 'no schema change since {previous}'; exit 1; }}"
    commands:
      - run: "echo rolled back >> db.txt"
  - id: app-rollback
    title: Application rollback
    when: "test -f assessment.txt"
    commands:
      - run: "echo promoted >> app.txt"
"""


def test_a_guard_skips_runs_or_fails_the_step(tmp_path):
    root = phase_workspace(tmp_path / "ws", {"revert.yaml": PHASE}, vars={"previous": "v1.2"})
    assert cockpit(root, "validate").returncode == 0
    assert cockpit(root, "start", "--type", "standard", "--version", "1.3.0").returncode == 0
    dry = cockpit(root, "run", "revert", "--headless", "--dry-run")
    assert "$ when grep -q 'schema: changed' assessment.txt || { echo 'no schema change since" in (
        dry.stdout
    )
    ran = cockpit(root, "run", "revert", "--headless", "--yes")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert not (root / "db.txt").exists()  # skipped: nothing rolled back
    assert (root / "app.txt").read_text() == "promoted\n"  # its guard said run
    status = json.loads(cockpit(root, "status", "--json").stdout)
    steps = {s["id"]: s for p in status["phases"] for s in p["steps"]}
    assert steps["db-rollback"]["state"] == "skipped"
    assert steps["db-rollback"]["reason"] == "its guard said skip: no schema change since v1.2"
    assert steps["app-rollback"]["state"] == "done"
    report = cockpit(root, "report").stdout
    assert "no schema change since v1.2" in report


def test_a_guard_that_breaks_fails_the_step(tmp_path):
    broken = PHASE.replace('when: "test -f assessment.txt"', 'when: "exit 3"')
    root = phase_workspace(tmp_path / "ws", {"revert.yaml": broken}, vars={"previous": "v1.2"})
    cockpit(root, "start", "--type", "standard", "--version", "1.3.0")
    ran = cockpit(root, "run", "revert", "--headless", "--yes")
    assert ran.returncode == 1
    status = json.loads(cockpit(root, "status", "--json").stdout)
    step = next(s for p in status["phases"] for s in p["steps"] if s["id"] == "app-rollback")
    assert step["state"] == "failed" and step["reason"].startswith("its guard `exit 3` ")
    assert not (root / "app.txt").exists()


def test_a_guard_with_an_unknown_placeholder_is_file_and_line(tmp_path):
    bad = PHASE.replace("since {previous}", "since {previus}")
    root = phase_workspace(tmp_path / "ws", {"revert.yaml": bad}, vars={"previous": "v1.2"})
    out = cockpit(root, "validate")
    assert out.returncode == 2 and "revert.yaml:10: unknown placeholder {previus}" in out.stderr


def test_the_shipped_database_rollback_is_guarded():
    runbook = load_runbook(shipped_dir(), None)
    step = next(s for s in runbook.phase("rollback").steps if s.id == "database-rollback")
    assert step.when and "{assess_database_changes}" in step.when
    assert "{assess_database_changes}" not in " ".join(c.run or "" for c in step.commands)


def test_a_deploy_with_a_guard_skipped_step_succeeded(tmp_path):
    deploy = PHASE.replace("title: Revert\n", "title: Revert\nkind: deploy\nenvironment: prod\n")
    root = phase_workspace(
        tmp_path / "ws",
        {"revert.yaml": deploy},
        vars={"previous": "v1.2"},
        environments={"prod": {"url": "http://127.0.0.1:9"}},
    )
    cockpit(root, "start", "--type", "standard", "--version", "1.3.0")
    assert cockpit(root, "run", "revert", "--headless", "--yes").returncode == 0
    doc = json.loads(cockpit(root, "report", "--format", "json").stdout)
    assert doc["metrics"]["deployment_succeeded"] is True
    assert "| deployment succeeded | yes |" in cockpit(root, "report").stdout
