"""Text from outside never carries a control sequence onto a screen: journal lines (a note
from a script), ready-endpoint bodies, commit subjects; a runbook text with one is an error."""

from __future__ import annotations

import http.server
import json
import threading

import git

from cockpit.describe import describe
from cockpit.git_summary import summarise
from cockpit.probe import DEGRADED, probe_once
from cockpit.validate import validate_paths
from tests.helpers import phase_workspace

ATTACK = "\x1b]2;PWNED\x07\x1b[2J"
SHOWN = "␛]2;PWNED␇␛[2J"  # what the operator sees instead: what was there, inert


def test_a_note_written_with_escapes_is_read_back_as_text(session):
    entry = session.phases()[0].items_for(session.release_type)[0]
    session.check(session.phases()[0].id, entry.item.id, note=f"fine {ATTACK}then\rnow")
    st = session.state.item(session.phases()[0].id, entry.item.id)
    assert st.note == f"fine {SHOWN}then␍now"
    assert "\\u001b]2;PWNED" in session.journal_path.read_text()  # the journal keeps it all
    words = describe(session.state.recent[-1], session.ws.runbook)
    assert words.isprintable(), words


class _Evil(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"status": f"ok{ATTACK}", "checks": {f"db{ATTACK}": f"fail{ATTACK}"}})
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


async def test_a_ready_body_with_escapes_is_judged_and_shown_as_text():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Evil)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/api/ready"
        sample = await probe_once("production", url, 2.0)
    finally:
        server.shutdown()
        server.server_close()
    assert sample.state == DEGRADED
    assert sample.dependencies == {f"db{SHOWN}": f"fail{SHOWN}"}
    shown = [sample.reason, sample.body_status, sample.excerpt, *sample.evidence()["checks"]]
    for text in shown:
        assert "\x1b" not in text and "\x07" not in text, text


def test_a_commit_subject_with_escapes_is_shown_as_text(tmp_path):
    repo = git.Repo.init(tmp_path)
    with repo.config_writer() as cw:
        cw.set_value("user", "name", "t").set_value("user", "email", "t@example.com")
    (tmp_path / "f").write_text("x")
    repo.index.add(["f"])
    repo.index.commit("base")
    repo.create_tag("production-v1.0.0")
    (tmp_path / "f").write_text("y")
    repo.index.add(["f"])
    repo.index.commit(f"fix: thing {ATTACK}")
    summary = summarise(tmp_path)
    assert summary.commits_since == [f"fix: thing {SHOWN}"]
    assert summary.subject == f"fix: thing {SHOWN}"


def test_a_runbook_text_with_an_escape_is_refused_with_its_line(tmp_path):
    phase = 'id: p\ntitle: P\nsections:\n  - title: S\n    items: ["ok", "tick \\e]2;x\\a me"]\n'
    root = phase_workspace(tmp_path / "ws", {"p.yaml": phase})
    report = validate_paths([root / "runbook" / "p.yaml"], root, None, None)
    assert any(e.line == 5 and "control character \\x1b" in e.message for e in report.errors), (
        report.errors
    )


def test_the_release_message_never_says_green_while_a_rollback_criterion_is_met():
    from datetime import date

    from cockpit.changelog import Draft
    from cockpit.notify import email_message, facts_for, slack_message

    report = {
        "metrics": {
            "rolled_back": False,
            "deployment_succeeded": True,
            "rollback_criteria_met": ["Critical functionality completely broken"],
        },
        "run": {"version": "1.3.0", "previous_version": "1.2.0"},
        "steps": [],
        "timeline": [],
    }
    facts = facts_for(report, Draft("1.3.0", date(2026, 11, 25)), "READY", None)
    slack, email = slack_message(facts), email_message(facts)
    assert "green" not in slack and "green" not in email
    assert "✅ Successful" not in slack and "rollback criteria met" in slack
    report["metrics"]["rollback_criteria_met"] = []
    assert "✅ All systems green" in slack_message(
        facts_for(report, Draft("1.3.0", date(2026, 11, 25)), "READY", None)
    )
