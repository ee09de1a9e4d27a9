"""The shipped runbook: every line of the runbook document is an item, with its budgets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cockpit.config import load_config, shipped_dir
from cockpit.runbook import load_runbook

DATA = Path(__file__).resolve().parents[1] / "data" / "release-management-runbook.md"
SHARED = (
    Path(__file__).resolve().parents[3] / "shared" / "runbook" / "release-management-runbook.md"
)


@pytest.fixture(scope="module")
def runbook():
    config = load_config(shipped_dir() / "cockpit.yaml")
    return load_runbook(shipped_dir(), config)


def runbook_checkbox_lines() -> list[str]:
    return [m.group(1).strip() for m in re.finditer(r"^- \[ \] (.+)$", DATA.read_text(), re.M)]


def test_vendored_runbook_matches_shared_copy():
    if not SHARED.exists():
        pytest.skip("shared/ is not beside this checkout")
    assert DATA.read_text() == SHARED.read_text(), "tests/data runbook drifted from shared/"


def test_every_runbook_checkbox_is_an_item(runbook):
    lines = runbook_checkbox_lines()
    assert len(lines) == 99
    texts = {e.item.text for p in runbook.phases.values() for e in p.entries()}
    missing = [line for line in lines if line not in texts]
    assert missing == []


def test_production_deploy_steps_and_budgets(runbook):
    steps = runbook.phase("production-deploy").steps
    assert [s.id for s in steps] == [
        "pre-deployment-validation",
        "db-migration",
        "app-deployment",
        "post-deployment-validation",
        "monitoring",
    ]
    assert [s.budget.high / 60 for s in steps] == [15, 15, 20, 15, 30]
    migrate = [c.run for c in steps[1].commands]
    assert migrate == [
        "{migrate} --env PROD --dry-run",
        "{migrate} --env PROD",
        "{migrate} --env PROD --status",
    ]
    assert steps[1].confirm == "production" and steps[2].confirm == "production"
    deploy = steps[2].commands[0].workflow
    assert (deploy.file, deploy.ref) == ("deploy-production.yml", "{git_ref}")
    assert deploy.inputs == {"confirm_production": "true", "git_ref": "{git_ref}"}


def test_hotfix_rollback_and_decision_budgets(runbook):
    hotfix = runbook.phase("hotfix-workflow")
    assert hotfix.release_types == ["hotfix"]
    assert [(s.budget.low / 60, s.budget.high / 60) for s in hotfix.steps] == [
        (30, 30),
        (120, 240),
        (30, 30),
        (60, 60),
        (1440, 1440),
    ]
    assert [s.budget.high / 60 for s in runbook.phase("rollback-decision").steps] == [5, 10, 5]
    assert [s.budget.high / 60 for s in runbook.phase("rollback").steps] == [10, 15, 30, 15]


def test_manual_gates_differ_by_release_type(runbook):
    gates = runbook.phase("pre-release-gates")

    def texts(rtype):
        return {e.item.text for e in gates.items_for(rtype)}

    assert "UAT sign-off completed" in texts("standard") and "UAT sign-off completed" in texts(
        "major"
    )
    assert "UAT sign-off completed" not in texts("patch")
    assert "Stakeholder approval received" in texts("patch")
    assert "Incident commander approval" in texts("hotfix")
    assert "Incident commander approval" not in texts("standard")
    assert "TypeScript compilation passes" in texts("hotfix")  # automated gates: all types
    assert len(texts("standard")) == 13 + 6 and len(texts("patch")) == 13 + 3


def test_roles_are_kept(runbook):
    roles = {e.item.text: e.role for p in runbook.phases.values() for e in p.entries()}
    assert roles["All automated tests pass"] == "Lead Developer"
    assert roles["Features work as specified"] == "Product Owner"
    assert roles["User acceptance testing completed"] == "Stakeholders"
    assert roles["Technical lead approval"] == "Technical Lead"
    assert roles["Hotfix decision made by incident commander"] == "Incident Commander"


def test_shipped_config_has_the_runbook_values():
    config = load_config(shipped_dir() / "cockpit.yaml")
    assert config.environments["staging"].url == "https://staging.dirt-free-crm.com"
    assert config.environments["production"].url == "https://dirt-free-crm.com"
    assert config.health.path == "/api/ready"
    assert config.health.p95_budget == pytest.approx(0.8)
    assert config.vars["migrate"] == "tsx scripts/migrate.ts"
    assert "VERCEL_TOKEN" in config.secrets


def test_rollback_criteria_are_criteria_not_tasks(runbook):
    decision = runbook.phase("rollback-decision")
    criteria = [e for e in decision.entries() if e.criterion]
    assert [e.item.text for e in criteria][-1] == "Performance degradation >10x baseline"
    assert len(criteria) == 5
