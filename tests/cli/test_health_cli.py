"""`cockpit health` and self-verifying items from the command line, against a real server."""

from __future__ import annotations

import json
import subprocess

import pytest

from cockpit.demo_sandbox import write_config
from cockpit.journal import read_journal
from cockpit.simservice import SimService
from tests.helpers import cockpit_cmd


@pytest.fixture
def service():
    with SimService(latency_s=0.01) as svc:
        yield svc


def cockpit(cwd, *args):
    return subprocess.run(cockpit_cmd(*args), cwd=cwd, capture_output=True, text=True, timeout=60)


def test_health_exit_0_when_all_ready(service, tmp_path):
    result = cockpit(
        tmp_path,
        "health",
        "--env",
        f"staging={service.url('staging')}",
        "--env",
        f"production={service.url('production')}",
    )
    assert result.returncode == 0, result.stderr
    assert "staging" in result.stdout and "READY" in result.stdout


def test_health_exit_1_names_the_reason(service, tmp_path):
    service.set_mode("production", "degraded")
    result = cockpit(tmp_path, "health", "--env", f"production={service.url('production')}")
    assert result.returncode == 1
    assert "production is DEGRADED: dependency failing: sms=fail" in result.stderr


def test_health_json_shape_and_count(service, tmp_path):
    config = tmp_path / "cockpit.yaml"
    write_config(tmp_path, service.url("staging"), service.url("production"))
    config.write_text(config.read_text().replace("interval: 1s", "interval: 10ms"))
    service.set_mode("production", "down")
    result = cockpit(tmp_path, "health", "--json", "--count", "3")
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    assert [d["env"] for d in doc] == ["staging", "production"]
    for d in doc:
        assert set(d) >= {"env", "url", "state", "http_status", "latency_ms", "error", "checks"}
    assert doc[1]["state"] == "DOWN" and doc[1]["http_status"] == 503
    assert service.hits("production") == 3


@pytest.mark.parametrize("bad", [["--env", "nourl"], ["--env", "x=ftp://h"], ["--count", "0"]])
def test_health_bad_arguments_exit_2(tmp_path, bad):
    result = cockpit(tmp_path, "health", *bad)
    assert result.returncode == 2 and "Traceback" not in result.stderr and result.stderr


def test_check_verifies_a_self_verifying_item(service, workspace_dir):
    write_config(workspace_dir, service.url("staging"), service.url("production"))
    assert cockpit(workspace_dir, "start", "--type", "standard").returncode == 0
    service.set_mode("staging", "down")
    failed = cockpit(workspace_dir, "check", "staging-deployment", "verify-deployment-health")
    assert failed.returncode == 1
    assert "not verified: staging DOWN: HTTP 503" in failed.stderr
    service.set_mode("staging", "healthy")
    ok = cockpit(workspace_dir, "check", "staging-deployment", "verify-deployment-health")
    assert ok.returncode == 0, ok.stderr
    journal = next(workspace_dir.glob(".cockpit/runs/*/journal.jsonl"))
    events = read_journal(journal).events
    failed_event = next(e for e in events if e["type"] == "item.verification_failed")
    assert failed_event["evidence"]["http_status"] == 503
    ticked = events[-1]
    assert ticked["type"] == "item.checked"
    assert ticked["evidence"]["state"] == "READY" and ticked["evidence"]["http_status"] == 200
    assert ticked["evidence"]["checks"]["db"] == "ok"


def test_check_by_hand_needs_a_note(service, workspace_dir):
    write_config(workspace_dir, service.url("staging"), service.url("production"))
    cockpit(workspace_dir, "start", "--type", "standard")
    refused = cockpit(
        workspace_dir, "check", "staging-deployment", "verify-deployment-health", "--no-verify"
    )
    assert refused.returncode == 2 and "--no-verify needs --note" in refused.stderr
    ok = cockpit(
        workspace_dir,
        "check",
        "staging-deployment",
        "verify-deployment-health",
        "--no-verify",
        "--note",
        "probe blocked by VPN; checked in browser",
    )
    assert ok.returncode == 0
