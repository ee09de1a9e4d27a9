"""Behaviour declared in the runbook (``kind:``, ``environment:``, ``records:``): another
team's runbook with its own ids gets the baseline, the decision, the rollback and the
hotfix branch; a runbook without such phases gets none of it and no error; every mistake
in the new keys is FILE:LINE."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta

import git
import pytest

from cockpit.clock import iso
from cockpit.config import load_config, shipped_dir
from cockpit.driver import RunDriver
from cockpit.errors import InputErrors
from cockpit.monitor import EnvHealth, baseline_of
from cockpit.probe import DOWN, READY, Sample
from cockpit.report import build, markdown
from cockpit.runbook import load_runbook
from cockpit.session import RunSession
from cockpit.workspace import Workspace
from tests.helpers import phase_workspace

SHIP = """\
id: ship
title: Ship payments-api
kind: deploy
environment: live
steps:
  - id: roll
    title: Roll the fleet
    commands:
      - run: "echo rolled"
"""
GO_NO_GO = """\
id: go-no-go
title: Go / no-go
kind: decision
sections:
  - title: Abort when
    kind: criteria
    items:
      - {text: The API answers 5xx, id: api-5xx, records: signal-down}
      - {text: Latency ten times the baseline, id: slow, records: signal-latency}
  - title: Call it
    items:
      - {text: Write down why, id: why, records: decision-rationale, note_required: true}
"""
REVERT = """\
id: revert
title: Revert the fleet
kind: rollback
after: [go-no-go]
steps:
  - id: back
    title: Roll back
    commands:
      - run: "echo back"
"""
EMERGENCY = """\
id: emergency
title: Emergency fix
kind: hotfix
sections:
  - title: Branch
    items:
      - {text: Branch cut from the live tag, id: cut, records: hotfix-branch}
"""
PLAIN = """\
id: tidy
title: Tidy up
sections:
  - title: Things
    items: [Close the ticket]
"""


def team_workspace(tmp_path, phases: dict[str, str]) -> Workspace:
    root = phase_workspace(
        tmp_path / "ws",
        phases,
        environments={"live": {"url": "http://127.0.0.1:9/"}},
    )
    return Workspace.open(root)


def errors_of(tmp_path, phases: dict[str, str]) -> list[str]:
    ws_root = tmp_path / "bad"
    phase_workspace(ws_root, phases, environments={"live": {"url": "http://127.0.0.1:9/"}})
    config = load_config(ws_root / "cockpit.yaml")
    with pytest.raises(InputErrors) as caught:
        load_runbook(ws_root / "runbook", config)
    return [str(e) for e in caught.value.errors]


def test_the_shipped_runbook_declares_its_behaviour():
    runbook = load_runbook(shipped_dir(), None)
    assert runbook.kind_id("deploy") == "production-deploy"
    assert runbook.deploy_environment == "production"
    assert runbook.kind_id("decision") == "rollback-decision"
    assert runbook.kind_id("rollback") == "rollback"
    assert runbook.kind_id("hotfix") == "hotfix-workflow"
    assert runbook.kind_id("review") == "post-release-review"
    assert runbook.recorded("decision-rationale") == (
        "rollback-decision",
        "document-decision-rationale",
    )
    assert runbook.recorded("hotfix-branch") == ("hotfix-workflow", "hotfix-branch-created")
    assert runbook.recorded("signal-down") == ("rollback-decision", "critical-broken")
    assert runbook.recorded("signal-latency") == ("rollback-decision", "performance-10x")


def test_no_shipped_id_in_the_code():
    """Nothing in cockpit/ or screens/ knows a phase or item id of the shipped runbook."""
    from tests.helpers import ROOT

    runbook = load_runbook(shipped_dir(), None)
    ids = set(runbook.phases) | {
        e.item.id for p in runbook.phases.values() for e in p.entries() if e.item.records
    }
    ids -= {"rollback"}  # also an English word and a decision's choice
    found = []
    for folder in ("cockpit", "screens"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            found += [f"{path.name}: {i}" for i in ids if f'"{i}"' in text or f"'{i}'" in text]
    assert found == []


@pytest.mark.parametrize(
    ("phases", "expected"),
    [
        (
            {"ship.yaml": SHIP.replace("environment: live\n", "")},
            "ship.yaml:1: a 'kind: deploy' phase needs 'environment:'",
        ),
        (
            {"tidy.yaml": PLAIN.replace("title: Tidy up\n", "title: Tidy up\nenvironment: live\n")},
            "tidy.yaml:1: 'environment:' belongs to a 'kind: deploy' phase",
        ),
        (
            {"ship.yaml": SHIP.replace("environment: live", "environment: prod")},
            "ship.yaml:4: unknown environment 'prod' (environments: live)",
        ),
        (
            {"ship.yaml": SHIP.replace("kind: deploy", "kind: deploi")},
            "ship.yaml:3: kind: ",
        ),
        (
            {"a.yaml": GO_NO_GO, "b.yaml": GO_NO_GO.replace("id: go-no-go", "id: other")},
            "b.yaml:3: a second 'kind: decision' phase (the first is 'go-no-go' in",
        ),
        (
            {
                "tidy.yaml": PLAIN.replace(
                    "[Close the ticket]", "[{text: X, records: hotfix-branch}]"
                )
            },
            "tidy.yaml:5: 'records: hotfix-branch' belongs in a 'kind: hotfix' phase "
            "(this one is 'kind: checklist')",
        ),
        (
            {"a.yaml": GO_NO_GO.replace("records: signal-latency", "records: signal-down")},
            "a.yaml:9: a second item 'records: signal-down' (the first is 'api-5xx' in",
        ),
        (
            {"a.yaml": GO_NO_GO.replace("records: signal-latency", "records: latency")},
            "a.yaml:9: sections[0].items[1].records: Input should be 'decision-call'",
        ),
    ],
)
def test_declared_behaviour_mistakes_are_file_and_line(tmp_path, phases, expected):
    errors = errors_of(tmp_path, phases)
    assert any(expected in e for e in errors), errors


def sample(at: datetime, state: str = READY, ms: float = 40.0) -> Sample:
    error = "HTTP 503" if state == DOWN else None
    return Sample("live", "u", iso(at), state, 503 if error else 200, ms, error=error, reason=error)


async def test_another_teams_ids_get_the_decision_rollback_and_signals(tmp_path):
    ws = team_workspace(
        tmp_path,
        {"10-ship.yaml": SHIP, "20-go.yaml": GO_NO_GO, "30-revert.yaml": REVERT},
    )
    session = RunSession.start(ws, "standard", operator="ana")
    driver = RunDriver(session)
    # the health signal ticks the criterion the runbook marked, on the deploy environment
    t0 = datetime.now(UTC)
    live = EnvHealth("live", "u", window=10)
    for n in range(5):
        live.add(sample(t0 + timedelta(seconds=n)))
    await driver.record(session.plan_baseline(baseline_of(live)))
    live.add(sample(t0 + timedelta(seconds=6), DOWN, ms=None))
    driver.observe_health(live, changed=True)
    await driver.close()
    flagged = session.state.item("go-no-go", "api-5xx")
    assert flagged.checked and flagged.evidence["signal"] == "live DOWN"
    assert flagged.by == "ana (health signal)"
    assert session.progress("revert").locked
    # the decision documents the runbook's own item and opens its own rollback phase
    assert await driver.record_decision("rollback", "5xx since the roll", "Iris") is True
    why = session.state.item("go-no-go", "why")
    assert why.checked and why.note == "roll back: 5xx since the roll"
    assert not session.progress("revert").locked
    assert session.state.decisions[-1].criteria == ["api-5xx"]
    doc = build(session)
    assert doc["metrics"]["deploy_phase"] == "ship"
    assert doc["metrics"]["rollback_criteria_met"] == ["The API answers 5xx"]
    session.close()


async def test_a_runbook_without_such_phases_gets_none_of_it(tmp_path):
    ws = team_workspace(tmp_path, {"tidy.yaml": PLAIN})
    session = RunSession.start(ws, "standard", operator="ana")
    driver = RunDriver(session)
    live = EnvHealth("live", "u", window=10)
    live.add(sample(datetime.now(UTC), DOWN, ms=None))
    driver.observe_health(live, changed=True)
    assert await driver.take_baseline() is None
    # a decision is journaled; nothing to tick, no phase to open, no error
    assert await driver.record_decision("rollback", "just in case", "Iris") is False
    await driver.close()
    assert session.state.decisions[-1].choice == "rollback"
    assert session.state.baselines == {}
    doc = build(session)
    assert doc["metrics"]["deploy_phase"] is None and doc["health"]["baseline"] is None
    report = markdown(doc)
    assert "no `kind: deploy` phase" in report and "not met" not in report
    session.close()


async def test_the_hotfix_branch_ticks_the_item_the_runbook_marked(tmp_path):
    ws = team_workspace(tmp_path, {"emergency.yaml": EMERGENCY})
    repo = git.Repo(ws.root)
    (ws.root / "app.txt").write_text("v1\n")
    repo.index.add(["app.txt"])
    repo.index.commit("first")
    repo.create_tag("production-v1.0.0")
    session = RunSession.start(ws, "hotfix", operator="ana")
    driver = RunDriver(session)
    plan = await driver.plan_hotfix_branch("4711")
    await driver.create_hotfix_branch(plan)
    cut = session.state.item("emergency", "cut")
    assert cut.checked and cut.evidence["branch"] == "hotfix/incident-4711"
    assert (
        "hotfix/incident-4711"
        in subprocess.run(
            ["git", "-C", str(ws.root), "branch"], capture_output=True, text=True
        ).stdout
    )
    session.close()
