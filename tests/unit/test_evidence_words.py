"""Evidence reads in words wherever it is shown (``cockpit.evidence``), never as a Python
dict; a failed command reads once ("failed: `cmd` exited 1"); times of day have seconds."""

from __future__ import annotations

from cockpit.clock import local_hms
from cockpit.describe import describe
from cockpit.events import ItemChecked, VerificationFailed
from cockpit.evidence import evidence_words
from cockpit.report import build, markdown
from cockpit.supervisor import command_ended

HEALTH = {
    "url": "http://127.0.0.1:18082/api/ready",
    "at": "2026-11-24T14:00:05.250+00:00",
    "state": "READY",
    "http_status": 200,
    "latency_ms": 212.4,
    "body_status": "ready",
    "checks": {"db": "ok", "redis": "ok"},
    "excerpt": '{"status": "ready"}',
}
CI = {
    "kind": "github_check",
    "name": "build",
    "sha": "0123456789abcdef0123",
    "ref": "rc-v1.3.0",
    "status": "completed",
    "conclusion": "failure",
    "source": "check run",
    "url": "https://github.com/dirt-free/crm/runs/7",
    "state": "failure",
    "reason": "build concluded failure on 0123456 (rc-v1.3.0), not success",
}


def test_health_evidence_reads_as_words_in_order():
    words = evidence_words(HEALTH)
    assert words == (
        "READY · HTTP 200 · 212 ms · db ok · redis ok · status ready · "
        "http://127.0.0.1:18082/api/ready · at 14:00:05 · "
        'body “{"status": "ready"}”'
    )
    assert evidence_words(HEALTH, brief=True) == (
        "READY · HTTP 200 · 212 ms · db ok · redis ok · status ready"
    )


def test_ci_evidence_says_each_thing_once():
    words = evidence_words(CI)
    assert words.startswith("failure · build concluded failure on 0123456 (rc-v1.3.0)")
    assert "check run build" in words and "on 0123456 (rc-v1.3.0)" in words
    assert "concluded failure · " not in words.split(" · ", 1)[1]  # the state says it
    assert "completed" not in words and "github_check" not in words


def test_signals_flags_and_unknown_fields_still_read():
    signal = {"signal": "p95 ×12.0 vs baseline", "p95_ms": 2400.0, "baseline_p95_ms": 200}
    assert evidence_words(signal) == "p95 ×12.0 vs baseline · p95 2400 ms · baseline p95 200 ms"
    branch = {"branch": "hotfix/incident-7", "tag": "production-v1.2.0", "commit": "0123456789ab"}
    said = "hotfix/incident-7 · from production-v1.2.0 · commit 01234567"
    assert evidence_words(branch) == said
    newer = {"state": "DEGRADED", "queue_depth": 12, "flags": {"ro": True}, "empty": None}
    assert evidence_words(newer) == "DEGRADED · queue depth 12 · flags ro yes"
    assert evidence_words(None) == "" and evidence_words({}) == ""


def test_outside_text_in_evidence_is_inert():
    words = evidence_words({"state": "DOWN", "checks": {"db\x1b]2;x\x07": "fail\r"}})
    assert words.isprintable() and "␛]2;x␇" in words


def test_no_display_shows_a_python_dict(session):
    session.check("pre-release-gates", "dependency-audit-clean", evidence=HEALTH)
    runbook = session.ws.runbook
    ticked = ItemChecked(phase="pre-release-gates", item="dependency-audit-clean", evidence=HEALTH)
    failed = VerificationFailed(
        phase="pre-release-gates", item="dependency-audit-clean", evidence=CI
    )
    for line in (describe(ticked, runbook), describe(failed, runbook)):
        assert "{" not in line and "=" not in line and "checks" not in line, line
    assert describe(ticked, runbook).endswith(
        "(READY · HTTP 200 · 212 ms · db ok · redis ok · status ready)"
    )
    assert describe(failed, runbook).endswith(
        ": failure · build concluded failure on 0123456 (rc-v1.3.0), not success"
    )
    report = markdown(build(session))
    assert "  evidence: READY · HTTP 200 · 212 ms · db ok · redis ok" in report
    assert "checks=" not in report and "{'" not in report
    assert "(ana, 14:00:00)" in report  # the time of day with seconds


def test_a_failed_command_reads_once():
    assert command_ended("migrate --env PROD", "exit 1") == "`migrate --env PROD` exited 1"
    assert command_ended("deploy", "killed by SIGKILL") == "`deploy` was killed by SIGKILL"
    assert command_ended("deploy", "timed out after 15m") == "`deploy` timed out after 15m"
    assert command_ended("deploy", "no exit status") == "`deploy` ended with no exit status"
    assert command_ended("gh workflow", "workflow run 7 concluded failure (url)") == (
        "`gh workflow`: workflow run 7 concluded failure (url)"
    )
    for words in ("exit 1", "killed by SIGTERM", "timed out after 1m", "DOWN: refused"):
        assert "failed" not in command_ended("x", words)


def test_times_of_day_have_seconds():
    assert local_hms("2026-11-24T14:02:37.120+00:00") == "14:02:37"
    assert local_hms(None) == ""
