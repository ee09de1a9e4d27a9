"""The journal: append-only, fsynced, readable after a torn write or a SIGKILL, strict on format."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap

import pytest

from cockpit.journal import FORMAT, Journal, JournalError, JournalFollower, read_journal
from cockpit.secrets import Redactor
from cockpit.state import replay


def test_append_and_read_back(tmp_path):
    path = tmp_path / "journal.jsonl"
    journal = Journal(path, "ana")
    journal.append("run.started", run={"id": "r1", "type": "standard", "version": "1.3.0"})
    journal.append("item.checked", phase="pre-production", item="staging-healthy", note="green")
    batch = read_journal(path)
    assert batch.warnings == []
    assert [e["type"] for e in batch.events] == ["run.started", "item.checked"]
    assert batch.events[1]["by"] == "ana" and batch.events[1]["v"] == FORMAT
    state = replay(batch.events)
    assert state.item("pre-production", "staging-healthy").checked
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_torn_last_line_is_skipped_with_a_warning(tmp_path):
    path = tmp_path / "journal.jsonl"
    journal = Journal(path, "ana")
    journal.append("run.started", run={"id": "r1", "type": "standard", "version": "1.3.0"})
    journal.append("item.checked", phase="p", item="a")
    with open(path, "ab") as fh:
        fh.write(b'{"v":1,"ts":"2026-11-24T14:00:00+00:00","type":"item.checked","phase":"p","it')
    batch = read_journal(path)
    assert [e.get("item") for e in batch.events] == [None, "a"]
    assert len(batch.warnings) == 1 and "torn last line" in batch.warnings[0]
    assert ":3:" in batch.warnings[0]


def test_append_after_torn_line_starts_a_new_line(tmp_path):
    path = tmp_path / "journal.jsonl"
    Journal(path, "ana").append("run.started", run={"id": "r1", "type": "standard", "version": "1"})
    with open(path, "ab") as fh:
        fh.write(b'{"v":1,"type":"item.che')
    Journal(path, "ana").append("item.checked", phase="p", item="b")
    batch = read_journal(path)
    assert [e["type"] for e in batch.events] == ["run.started", "item.checked"]
    assert batch.events[-1]["item"] == "b"
    assert any("unreadable line skipped" in w for w in batch.warnings)


def test_newer_format_is_refused_in_words(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.write_text(json.dumps({"v": FORMAT + 1, "type": "run.started", "ts": "x"}) + "\n")
    with pytest.raises(JournalError, match="newer Release Cockpit"):
        read_journal(path)


def test_follower_leaves_a_partial_line_for_later(tmp_path):
    path = tmp_path / "journal.jsonl"
    Journal(path, "ana").append("run.started", run={"id": "r1", "type": "standard", "version": "1"})
    follower = JournalFollower(path)
    assert len(follower.read_new().events) == 1
    with open(path, "ab") as fh:
        fh.write(b'{"v":1,"ts":"2026-11-24T14:00:00+00:00","type":"item.checked","phase":"p",')
    assert follower.read_new().events == []
    with open(path, "ab") as fh:
        fh.write(b'"item":"z"}\n')
    events = follower.read_new().events
    assert [e["item"] for e in events] == ["z"]


def test_secrets_never_reach_the_journal(tmp_path):
    path = tmp_path / "journal.jsonl"
    journal = Journal(path, "ana", redactor=Redactor(["s3cr3t-token-value"]))
    journal.append("item.noted", phase="p", item="a", note="used s3cr3t-token-value to log in")
    assert "s3cr3t-token-value" not in path.read_text()
    assert "used *** to log in" in path.read_text()


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from cockpit.journal import Journal
    journal = Journal(Path(sys.argv[1]), "writer")
    journal.append("run.started", run={"id": "r", "type": "standard", "version": "1.0.0"})
    n = 0
    while True:
        n += 1
        journal.append("item.checked", phase="p", item=f"item-{n}", note="x" * (n % 300))
        print(n, flush=True)
    """
)


@pytest.mark.parametrize("acknowledged", [5, 40, 200])
def test_sigkill_mid_stream_leaves_a_loadable_journal(tmp_path, acknowledged):
    path = tmp_path / "journal.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    last = 0
    for line in proc.stdout:
        last = int(line)
        if last >= acknowledged:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    batch = read_journal(path)  # never raises
    items = [e["item"] for e in batch.events if e["type"] == "item.checked"]
    # every append that returned (and was reported as done) is there, in order
    assert items[:last] == [f"item-{n}" for n in range(1, last + 1)]
    assert len(batch.warnings) <= 1
