"""The command line on another team's runbook: every unknown phase, item or run id is exit 2
with the known ones listed (never a traceback), `cockpit override` opens a locked phase with
its reason, `run` on a locked phase refuses before printing a step, a sign-off records who
signed and who recorded it, and long ids derived from texts never collide."""

from __future__ import annotations

import json

import pytest

from tests.helpers import phase_workspace
from tests.helpers import run_cli as cockpit

PREP = """\
id: prep
title: Prepare
sections:
  - title: Sign-offs
    role: Product Owner
    items:
      - {text: Release notes approved, id: notes-approved}
  - title: Checks
    items:
      - Verify that the payments database connection pool is sized for peak traffic
      - Verify that the payments database connection pool is sized for the nightly batch
"""
SHIP = """\
id: ship
title: Ship
after: [prep]
steps:
  - id: roll
    title: Roll the fleet
    commands:
      - run: "echo rolled > rolled.txt"
"""


@pytest.fixture
def team(tmp_path):
    root = phase_workspace(tmp_path / "ws", {"10-prep.yaml": PREP, "20-ship.yaml": SHIP})
    started = cockpit(root, "start", "--type", "standard", "--version", "1.0.0")
    assert started.returncode == 0, started.stderr
    return root


def run_id(root):
    return next(root.glob(".cockpit/runs/*")).name


@pytest.mark.parametrize(
    ("args", "known"),
    [
        (("check", "preproduction", "x"), "phases: prep, ship"),
        (("check", "prep", "nope"), "items: notes-approved, verify-that-the-payments"),
        (("check", "prep", "nope", "--undo"), "items: notes-approved"),
        (("override", "nope", "--reason", "x"), "phases: prep, ship"),
        (("run", "nope", "--headless"), "phases: prep, ship"),
        (("run", "nope", "--headless", "--dry-run"), "phases: prep, ship"),
        (("status", "--run", "nope"), "runs: "),
        (("report", "--run", "nope"), "runs: "),
        (("close", "--run", "nope"), "runs: "),
        (("check", "prep", "notes-approved", "--run", "nope"), "runs: "),
        (("run", "ship", "--headless", "--run", "nope"), "runs: "),
        (("override", "ship", "--reason", "x", "--run", "nope"), "runs: "),
        (("watch", "--run", "nope"), "runs: "),
    ],
)
def test_unknown_ids_are_exit_2_with_the_known_ones(team, args, known):
    out = cockpit(team, *args)
    assert out.returncode == 2, out.stdout + out.stderr
    assert known in out.stderr and "Traceback" not in out.stderr + out.stdout
    if known == "runs: ":
        assert run_id(team) in out.stderr
    assert out.stdout == ""


def test_override_opens_a_locked_phase_with_its_reason(team):
    refused = cockpit(team, "run", "ship", "--headless", "--yes")
    assert refused.returncode == 2
    assert refused.stdout == ""  # nothing printed before the refusal: no banner, no table
    assert "locked until prep is complete" in refused.stderr
    assert "cockpit override ship --reason TEXT" in refused.stderr
    assert not (team / "rolled.txt").exists()
    dry = cockpit(team, "run", "ship", "--headless", "--dry-run")  # looking is allowed
    assert dry.returncode == 0 and "Roll the fleet" in dry.stdout
    assert cockpit(team, "override", "ship", "--reason", "").returncode == 2
    opened = cockpit(team, "override", "ship", "--reason", "prep signed on paper, CAB-7")
    assert opened.returncode == 0, opened.stderr
    assert "opened ship early as ana (it waited on prep): prep signed on paper, CAB-7" in (
        opened.stdout
    )
    again = cockpit(team, "override", "ship", "--reason", "twice")
    assert again.returncode == 2 and "not locked" in again.stderr
    assert cockpit(team, "run", "ship", "--headless", "--yes").returncode == 0
    assert (team / "rolled.txt").read_text() == "rolled\n"
    report = cockpit(team, "report").stdout
    assert "opened early by ana (prep not complete): prep signed on paper, CAB-7" in report


def test_a_sign_off_records_who_signed_and_who_recorded_it(team):
    signed = cockpit(team, "check", "prep", "notes-approved", "--as", "Lee Chen")
    assert signed.returncode == 0, signed.stderr
    assert ": signed by Lee Chen, recorded by ana" in signed.stdout
    status = json.loads(cockpit(team, "status", "--json").stdout)
    item = next(i for p in status["phases"] for i in p["items"] if i["id"] == "notes-approved")
    assert (item["by"], item["signed_by"], item["role"]) == ("ana", "Lee Chen", "Product Owner")
    journal = next(team.glob(".cockpit/runs/*/journal.jsonl")).read_text().splitlines()
    event = json.loads(journal[-1])
    assert (event["by"], event["signed_by"]) == ("ana", "Lee Chen")
    report = cockpit(team, "report").stdout
    assert "Release notes approved (signed by Lee Chen as Product Owner, recorded by ana" in report
    # not a sign-off: no one else can sign it
    item_id = "verify-that-the-payments-database-connection"
    other = cockpit(team, "check", "prep", item_id, "--as", "Lee Chen")
    assert other.returncode == 2 and "has no role to sign for" in other.stderr
    # the operator signing themself is an ordinary tick
    cockpit(team, "check", "prep", "notes-approved", "--undo")
    mine = cockpit(team, "check", "prep", "notes-approved", "--as", "ana")
    assert mine.returncode == 0 and "as ana" in mine.stdout and "signed by" not in mine.stdout


def test_long_texts_starting_alike_get_distinct_ids(team):
    status = json.loads(cockpit(team, "status", "--json").stdout)
    ids = [i["id"] for p in status["phases"] for i in p["items"]]
    assert ids == [
        "notes-approved",
        "verify-that-the-payments-database-connection",
        "verify-that-the-payments-database-connection-2",
    ]


def test_a_real_duplicate_says_to_give_an_id(tmp_path):
    dup = (
        PREP
        + "      - Verify that the payments database connection pool is sized for peak traffic\n"
    )
    root = phase_workspace(tmp_path / "ws", {"prep.yaml": dup})
    out = cockpit(root, "validate")
    assert out.returncode == 2
    assert "prep.yaml:12: duplicate item id" in out.stderr
    assert "(first at line 10) — the id comes from the text; give one of them its own `id:`" in (
        out.stderr
    )


def test_a_second_tick_never_replaces_a_sign_off(tmp_path):
    """Re-ticking a ticked item (a sign-off above all) is refused in words: who signed
    stays on record; untick first to tick it again."""
    from cockpit.journal import read_journal
    from cockpit.session import RunSession
    from cockpit.workspace import Workspace
    from tests.helpers import phase_workspace, run_cli

    phase = """\
id: go
title: Go
sections:
  - title: Sign-offs
    role: QA lead
    items: [QA approved the build]
"""
    root = phase_workspace(tmp_path / "ws", {"go.yaml": phase})
    assert run_cli(root, "start", "--type", "standard", "--version", "1.0.0").returncode == 0
    signed = run_cli(root, "check", "go", "qa-approved-the-build", "--as", "Quinn QA")
    assert signed.returncode == 0, signed.stderr
    again = run_cli(root, "check", "go", "qa-approved-the-build", "--as", "")
    assert again.returncode == 2
    assert "is already ticked (signed by Quinn QA, by ana at" in again.stderr
    session = RunSession(Workspace.open(root), Workspace.open(root).active_run_id())
    try:
        assert session.state.item("go", "qa-approved-the-build").signed_by == "Quinn QA"
        ticks = [
            e for e in read_journal(session.journal_path).events if e["type"] == "item.checked"
        ]
        assert len(ticks) == 1
    finally:
        session.close()
