"""``cockpit import`` and ``cockpit validate --against`` as a user runs them: real
subprocesses on real files, exit codes and messages in words."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.helpers import cockpit_cmd
from tests.unit.test_mdimport import DEVOPS, MOBILE, SHIPPED_MD, line_of


def cockpit(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cockpit_cmd(*args), cwd=cwd, capture_output=True, text=True, timeout=60)


def test_import_the_shipped_markdown_into_the_default_folder(tmp_path):
    result = cockpit(tmp_path, "import", str(SHIPPED_MD))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"imported {SHIPPED_MD} → runbook: 5 phases, 106 items, 19 steps (31 commands)"
    )
    assert (
        "  line 16: “Overview” has nothing to tick (1 paragraph, 1 list, 1 table): not imported"
        in lines
    )
    assert lines[-1] == "next: cockpit validate --runbook runbook"
    assert (
        sorted(p.name for p in (tmp_path / "runbook").iterdir())[0] == "10-pre-release-gates.yaml"
    )
    checked = cockpit(tmp_path, "validate", "--runbook", "runbook")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith("ok: 5 phases, 106 items, 19 steps")


def test_import_another_teams_runbooks_and_validate_them(tmp_path):
    (tmp_path / "DEPLOY.md").write_text(DEVOPS)
    (tmp_path / "RELEASE.md").write_text(MOBILE)
    devops = cockpit(tmp_path, "import", "DEPLOY.md", "--out", "payments")
    assert devops.returncode == 0, devops.stderr
    assert devops.stdout.startswith("imported DEPLOY.md → payments: 2 phases, 7 items, 5 steps")
    mobile = cockpit(tmp_path, "import", "RELEASE.md", "--out", "teams/android")
    assert mobile.returncode == 0, mobile.stderr
    table = line_of(MOBILE, "| Device |")
    assert f"  line {table}: table (2 rows) kept as a note in 20-qa.yaml" in mobile.stdout
    tell = line_of(MOBILE, "Tell QA")
    assert f"  line {tell}: bullet without a checkbox or inline code: not placed" in mobile.stdout
    for folder in ("payments", "teams/android"):
        checked = cockpit(tmp_path, "validate", "--runbook", folder)
        assert checked.returncode == 0, checked.stderr


def test_a_command_with_braces_round_trips_and_validates(tmp_path):
    (tmp_path / "DEPLOY.md").write_text(DEVOPS)
    assert cockpit(tmp_path, "import", "DEPLOY.md", "--out", "out").returncode == 0
    written = (tmp_path / "out" / "10-deploy.yaml").read_text()
    assert "-w '%{{http_code}}'" in written  # a literal brace pair, not a placeholder
    assert "payments-api:${TAG}" in written  # the shell's ${…} needs no escaping
    checked = cockpit(tmp_path, "validate", "--runbook", "out")
    assert checked.returncode == 0, checked.stderr
    one_file = cockpit(tmp_path, "validate", "out/10-deploy.yaml")
    assert one_file.returncode == 0, one_file.stderr


def test_import_never_writes_into_a_folder_that_holds_files(tmp_path):
    (tmp_path / "DEPLOY.md").write_text(DEVOPS)
    (tmp_path / "runbook").mkdir()
    (tmp_path / "runbook" / "10-ours.yaml").write_text("id: ours\n")
    result = cockpit(tmp_path, "import", "DEPLOY.md")
    assert result.returncode == 2
    assert "cockpit: runbook is not empty" in result.stderr
    assert [p.name for p in (tmp_path / "runbook").iterdir()] == ["10-ours.yaml"]
    assert (tmp_path / "runbook" / "10-ours.yaml").read_text() == "id: ours\n"


def test_import_bad_input_is_said_in_words(tmp_path):
    missing = cockpit(tmp_path, "import", "NOPE.md")
    assert missing.returncode == 2
    assert missing.stderr.strip() == "cockpit: NOPE.md: no such file"
    folder = cockpit(tmp_path, "import", ".")
    assert folder.returncode == 2 and "is a folder, not a markdown file" in folder.stderr
    (tmp_path / "latin1.md").write_bytes("## Déploiement\n\n- [ ] Vérifier\n".encode("latin-1"))
    latin = cockpit(tmp_path, "import", "latin1.md")
    assert latin.returncode == 2 and "latin1.md:1: not UTF-8 text" in latin.stderr
    (tmp_path / "prose.md").write_text("# Notes\n\nNothing to tick here.\n")
    prose = cockpit(tmp_path, "import", "prose.md")
    assert prose.returncode == 2 and "has nothing to import" in prose.stderr
    for result in (missing, folder, latin, prose):
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "runbook").exists()


def test_validate_against_lists_the_line_missing_from_the_runbook(tmp_path):
    (tmp_path / "DEPLOY.md").write_text(DEVOPS)
    assert cockpit(tmp_path, "import", "DEPLOY.md", "--out", "out").returncode == 0
    same = cockpit(tmp_path, "validate", "--runbook", "out", "--against", "DEPLOY.md")
    assert same.returncode == 0, same.stderr
    assert "ok: every checklist line of DEPLOY.md is in the runbook" in same.stdout

    path = tmp_path / "out" / "10-deploy.yaml"
    kept = [
        line
        for line in path.read_text().splitlines()
        if "p95 latency under 300ms" not in line and "id: p95-latency-under-300ms" not in line
    ]
    path.write_text("\n".join(kept) + "\n")
    drifted = cockpit(tmp_path, "validate", "--runbook", "out", "--against", "DEPLOY.md")
    assert drifted.returncode == 1
    line = line_of(DEVOPS, "p95 latency under 300ms")
    assert drifted.stderr.splitlines() == [
        f"DEPLOY.md:{line}: not in the runbook: p95 latency under 300ms",
        "1 checklist line(s) of DEPLOY.md not in the runbook",
    ]
    assert drifted.stdout.startswith("ok: 2 phases, 6 items")  # the files themselves are valid


def test_validate_against_an_invalid_runbook_stays_exit_2(tmp_path):
    (tmp_path / "DEPLOY.md").write_text(DEVOPS)
    assert cockpit(tmp_path, "import", "DEPLOY.md", "--out", "out").returncode == 0
    path = tmp_path / "out" / "20-rollback.yaml"
    path.write_text(path.read_text().replace("budget: 5m", "budget: soon"))
    result = cockpit(tmp_path, "validate", "--runbook", "out", "--against", "DEPLOY.md")
    assert result.returncode == 2
    assert "out/20-rollback.yaml:" in result.stderr and "not in the runbook" not in result.stderr


def test_validate_against_a_missing_markdown_is_exit_2_in_words(tmp_path):
    result = cockpit(tmp_path, "validate", "--against", "GONE.md")
    assert result.returncode == 2
    assert result.stderr.strip() == "cockpit: GONE.md: no such file"


def test_the_shipped_checklists_hold_every_line_of_the_shipped_markdown(tmp_path):
    """The shipped YAML rewrote the markdown (sections regrouped, auto checks, roles) but kept
    every checklist line's text: nothing of the markdown is missing from it."""
    result = cockpit(tmp_path, "validate", "--against", str(SHIPPED_MD))
    assert result.returncode == 0, result.stderr
    assert f"ok: every checklist line of {SHIPPED_MD} is in the runbook" in result.stdout


def test_validate_help_says_the_exit_codes_of_against(tmp_path):
    result = cockpit(tmp_path, "validate", "--help")
    assert result.returncode == 0
    words = " ".join(result.stdout.split())
    assert "exit 1 listing each line that has none" in words
