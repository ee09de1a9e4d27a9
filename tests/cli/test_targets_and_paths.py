"""Config ``targets:`` (the runbook's success metrics) and a per-environment
``health_path``: the report measures against the team's targets, ``cockpit health`` probes
each environment at its own endpoint, and a mistake in either is FILE:LINE."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.helpers import phase_workspace
from tests.helpers import run_cli as cockpit

PHASE = """\
id: ship
title: Ship
kind: deploy
environment: live
steps:
  - id: roll
    title: Roll
    commands:
      - run: "echo rolled"
"""


class Ready(BaseHTTPRequestHandler):
    """Answers 200 on /health and /api/ready only, and remembers which were asked."""

    asked: list[str] = []

    def do_GET(self):
        Ready.asked.append(self.path)
        ok = self.path.endswith(("/health", "/api/ready"))
        body = b'{"status": "ready"}' if ok else b"no"
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        return


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Ready)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Ready.asked = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_each_environment_is_probed_at_its_own_path(tmp_path, server):
    root = phase_workspace(
        tmp_path / "ws",
        {"ship.yaml": PHASE},
        environments={
            "live": {"url": f"{server}/live", "health_path": "/health"},
            "preview": {"url": f"{server}/preview"},
        },
    )
    out = cockpit(root, "health", "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    urls = {e["env"]: e["url"] for e in json.loads(out.stdout)}
    assert urls == {"live": f"{server}/live/health", "preview": f"{server}/preview/api/ready"}
    assert sorted(Ready.asked) == ["/live/health", "/preview/api/ready"]


def test_the_report_measures_against_the_teams_targets(tmp_path, server):
    root = phase_workspace(
        tmp_path / "ws",
        {"ship.yaml": PHASE},
        environments={"live": {"url": server, "health_path": "/health"}},
        targets={
            "deployment_time": "30m",
            "success_rate": "95%",
            "rollback_rate": 10,
            "incidents_per_release": 0.5,
        },
    )
    assert cockpit(root, "start", "--type", "standard", "--version", "1.0.0").returncode == 0
    assert cockpit(root, "run", "ship", "--headless", "--yes").returncode == 0
    doc = json.loads(cockpit(root, "report", "--format", "json").stdout)
    metrics = doc["metrics"]
    assert metrics["targets"] == {
        "deployment_time": 1800.0,
        "success_rate": 95.0,
        "rollback_rate": 10.0,
        "incidents_per_release": 0.5,
    }
    assert metrics["deployment_time_met"] is True
    report = cockpit(root, "report").stdout
    assert "| < 30m |" in report and "> 95% of releases" in report
    assert "rollback rate < 10%" in report and "post-deployment incidents < 0.5" in report
    metrics = report.split("## Technical success metrics")[1].split("## Steps")[0]
    assert "< 1h" not in metrics and "99%" not in metrics  # the shipped targets appear nowhere


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"targets": {"success_rate": "99 percent"}}, "expected a percentage like 99% or 5%"),
        ({"targets": {"rollback_rate": "120%"}}, "a percentage is between 0% and 100%"),
        ({"targets": {"deployment_time": "soon"}}, "targets.deployment_time"),
        ({"targets": {"uptime": "99%"}}, "unknown key 'uptime' in targets"),
        (
            {"environments": {"live": {"url": "http://127.0.0.1:9", "health_path": "health"}}},
            "'health' is not a path like /api/ready",
        ),
    ],
)
def test_target_and_path_mistakes_are_file_and_line(tmp_path, config, expected):
    root = phase_workspace(
        tmp_path / "ws",
        {"ship.yaml": PHASE},
        **{"environments": {"live": {"url": "http://127.0.0.1:9"}}, **config},
    )
    out = cockpit(root, "validate")
    assert out.returncode == 2
    assert "cockpit.yaml:" in out.stderr and expected in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
