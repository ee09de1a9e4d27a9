"""State files in the core: never redirected, private whatever the umask, a corrupt lock
replaced in words, hand-edited journal lines skipped with a warning naming file and line,
and a full disk that leaves nothing half-written (a real tiny tmpfs, no patched function).
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import textwrap

import pytest

from cockpit.journal import Journal, JournalError, JournalFollower, read_journal
from cockpit.lock import LockHeld, RunLock
from cockpit.runner import supervisor_alive
from cockpit.safefiles import StateFileError
from cockpit.session import RunSession
from cockpit.supervisor import StepLog, read_status
from cockpit.workspace import Workspace
from tests.helpers import fill_disk, tiny_disk

TS = "2026-11-24T14:00:00+00:00"


def lines_of(path) -> int:
    return len(path.read_bytes().splitlines())


# -- never through a link, never another user's folder -----------------------------------


def test_a_lock_linked_outside_is_refused_and_the_outside_file_kept(session, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    session.lock.path.symlink_to(outside)
    with pytest.raises(StateFileError) as info:
        session.take_lock()
    assert str(info.value) == f"refusing to use {session.lock.path}: it is a symbolic link"
    assert outside.read_text() == "precious\n"
    assert not session.lock.held


def test_a_linked_state_folder_is_refused_and_never_chmodded(ws, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    ws.state_dir.symlink_to(shared)
    with pytest.raises(StateFileError, match="it is a symbolic link") as info:
        RunSession.start(ws, "standard")
    assert str(info.value) == f"refusing to use {ws.state_dir}: it is a symbolic link"
    with pytest.raises(StateFileError, match="it is a symbolic link"):
        ws.list_runs()
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    assert list(shared.iterdir()) == []


def test_a_linked_run_folder_or_journal_is_refused(session, ws, tmp_path):
    run_dir = session.dir
    session.close()
    elsewhere = tmp_path / "elsewhere"
    run_dir.rename(elsewhere)
    run_dir.symlink_to(elsewhere)
    before = (elsewhere / "journal.jsonl").read_bytes()
    with pytest.raises(
        StateFileError, match=re.escape(f"refusing to use {run_dir}: it is a symbolic link")
    ):
        RunSession(ws, session.run_id)
    run_dir.unlink()
    run_dir.mkdir(mode=0o700)
    (run_dir / "journal.jsonl").symlink_to(elsewhere / "journal.jsonl")
    journal = Journal(run_dir / "journal.jsonl", "ana", anchor=ws.state_dir)
    with pytest.raises(StateFileError, match=re.escape("journal.jsonl: it is a symbolic link")):
        journal.append("item.checked", phase="p", item="i")
    with pytest.raises(StateFileError, match="it is a symbolic link"):
        RunSession(ws, session.run_id)
    assert (elsewhere / "journal.jsonl").read_bytes() == before


def test_a_folder_of_another_user_is_refused_and_not_chmodded(ws):
    if os.geteuid() != 0:
        pytest.skip("handing a folder to another user needs root")
    ws.state_dir.mkdir(mode=0o755)
    os.chown(ws.state_dir, 65534, 65534)
    with pytest.raises(StateFileError, match=r"it belongs to .*uid 65534"):
        RunSession.start(ws, "standard")
    assert stat.S_IMODE(ws.state_dir.stat().st_mode) == 0o755
    assert list(ws.state_dir.iterdir()) == []


def test_a_status_file_is_not_read_through_a_link_nor_trusted_when_hand_edited(tmp_path):
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps({"attempt": 1, "supervisor": {"pid": 1, "create_time": None}}))
    status = tmp_path / "logs" / "one.status"
    status.parent.mkdir()
    status.symlink_to(outside)
    assert read_status(status) is None
    status.unlink()
    status.write_text(json.dumps({"attempt": 1, "supervisor": {"pid": "1", "create_time": 0}}))
    assert read_status(status) is None
    assert supervisor_alive(read_status(status)) is False


def test_files_and_folders_are_private_whatever_the_umask(ws):
    old = os.umask(0o277)  # would make a new file 0400 and a new folder 0500
    try:
        session = RunSession.start(ws, "standard")
        session.take_lock()
        log = StepLog(session.log_path("ship", "one"), session.redactor)
        log.note("hello")
        log.close()
        session.close()
    finally:
        os.umask(old)
    for folder in (ws.state_dir, ws.runs_dir, session.dir, session.dir / "logs", log.path.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for path in (session.journal_path, session.lock.path, log.path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


# -- a corrupt lock ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\xff\xfe\x00garbage", "it is not UTF-8 text"),
        (b"{not json", "it is not JSON"),
        (b"[1, 2]", "it is not a lock record"),
        (b'{"pid": 12, "host": "vm", "user": 7}', "its user is not text"),
        (None, "was an empty folder"),
    ],
)
def test_a_corrupt_lock_no_one_holds_is_replaced_and_journaled(session, content, words):
    lock = session.lock.path
    if content is None:
        lock.mkdir()
    else:
        lock.write_bytes(content)
    assert session.take_lock() is None
    assert words in session.lock.replaced
    assert session.lock.read().pid == os.getpid()
    taken = [e for e in read_journal(session.journal_path).events if e["type"] == "lock.taken_over"]
    assert len(taken) == 1 and words in taken[0]["reason"]
    session.release()


HOLDER = textwrap.dedent(
    """
    import fcntl, os, sys, time
    fd = os.open(sys.argv[1], os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    print("held", flush=True)
    time.sleep(60)
    """
)


def test_a_corrupt_lock_a_live_process_holds_is_left_alone(session):
    lock = session.lock.path
    lock.write_bytes(b"\xff\xfe\x00garbage")
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "held"
        assert session.lock.is_held_elsewhere()
        with pytest.raises(LockHeld, match="driven by another process"):
            session.take_lock()
        assert lock.read_bytes() == b"\xff\xfe\x00garbage"
    finally:
        proc.kill()
        proc.wait()


def test_a_lock_that_is_a_folder_is_never_held(tmp_path):
    (tmp_path / "lock").mkdir()
    lock = RunLock(tmp_path / "lock")
    assert lock.is_held_elsewhere() is False
    assert lock.read() is None and "it is a folder" in lock.problem


# -- hand-edited journal lines -------------------------------------------------------------

BAD = [
    ({"v": 1, "ts": TS, "type": "item.checked", "item": "b"}, "item.checked without phase"),
    ({"v": 1, "type": "item.checked", "phase": "p", "item": "b"}, "without its time (ts)"),
    (
        {"v": 1, "ts": "x", "type": "item.checked", "phase": "p", "item": "b"},
        "its time (ts) is the text 'x', not an ISO-8601 time",
    ),
    ({"v": 1, "ts": TS, "type": "run.started", "run": "r2"}, "run is the text 'r2', not an object"),
    (
        {"v": 1, "ts": TS, "type": "run.started", "run": {"id": 2, "type": "x", "version": "1"}},
        "run.started: its run has no id (text)",
    ),
    (
        {"v": 1, "ts": TS, "type": "step.started", "phase": "p", "step": "s", "commands": "ls"},
        "commands is the text 'ls', not a list",
    ),
    (
        {"v": 1, "ts": TS, "type": "command.started", "phase": "p", "step": "s", "index": 10**9},
        "index 1000000000 is not a command's place in its step",
    ),
    ({"v": 1, "ts": TS, "type": "item.checked", "phase": "p", "item": "b", "by": 7}, "by is"),
    ({"v": "one", "ts": TS, "type": "item.checked", "phase": "p", "item": "b"}, "not a number"),
    ([1, 2], "not an event but a list"),
    ("tick p/b", "not an event but the text"),
    (42, "not an event but the number 42"),
]


@pytest.mark.parametrize(("line", "words"), BAD, ids=[w for _, w in BAD])
def test_a_hand_edited_line_is_skipped_with_a_warning_naming_file_and_line(tmp_path, line, words):
    path = tmp_path / "journal.jsonl"
    journal = Journal(path, "ana")
    journal.append("run.started", run={"id": "r1", "type": "standard", "version": "1.3.0"})
    journal.append("item.checked", phase="p", item="a")
    with path.open("a") as fh:
        fh.write(json.dumps(line) + "\n")
    journal.append("item.checked", phase="p", item="c")
    follower = JournalFollower(path)
    batch = follower.read_new(final=True)
    assert [e.get("item") for e in batch.events] == [None, "a", "c"]
    assert len(batch.warnings) == 1
    assert batch.warnings[0].startswith(f"{path}:3: ") and words in batch.warnings[0]
    assert batch.warnings[0].endswith("line skipped")
    journal.append("item.checked", phase="p", item="d")
    again = follower.read_new()  # the skipped line is never read (or counted) again
    assert [e["item"] for e in again.events] == ["d"] and again.warnings == []


def test_a_run_with_hand_edited_lines_loads_and_counts_each_tick_once(session, ws):
    session.check("pre-release-gates", "unit-tests-pass-90-coverage")
    good = lines_of(session.journal_path)
    with session.journal_path.open("a") as fh:
        for line, _ in BAD:
            fh.write(json.dumps(line) + "\n")
    session.check("pre-release-gates", "dependency-audit-clean")
    again = RunSession(ws, session.run_id)
    assert len(again.state.warnings) == len(BAD)
    for n, warning in enumerate(again.state.warnings, good + 1):
        assert warning.startswith(f"{session.journal_path}:{n}: ")
    assert again.state.event_count == good + 1
    assert again.state.run.version == "1.3.0"
    ticked = [k for k, v in again.state.items.items() if v.checked]
    assert sorted(ticked) == [
        ("pre-release-gates", "dependency-audit-clean"),
        ("pre-release-gates", "unit-tests-pass-90-coverage"),
    ]
    from cockpit.report import build

    assert build(again)["run"]["version"] == "1.3.0"
    assert [r.id for r in ws.list_runs()] == [session.run_id]
    again.close()


@pytest.mark.parametrize("version", ["1", " 1 ", 1.0])
def test_the_journal_format_compares_as_a_number(tmp_path, version):
    path = tmp_path / "journal.jsonl"
    line = {"ts": TS, "type": "item.checked", "phase": "p", "item": "a"}
    path.write_text(json.dumps({"v": version, **line}) + "\n")
    batch = read_journal(path)  # format 1, however it is spelled
    assert batch.warnings == [] and [e["item"] for e in batch.events] == ["a"]
    path.write_text(json.dumps({"v": "2", **line}) + "\n")
    with pytest.raises(JournalError) as info:
        read_journal(path)
    assert "(journal format 2; this version reads format 1)" in str(info.value)


# -- a full disk ---------------------------------------------------------------------------


def test_an_append_on_a_full_disk_is_said_in_words_and_leaves_no_torn_line(tmp_path):
    with tiny_disk(tmp_path / "disk") as disk:
        path = disk / "journal.jsonl"
        journal = Journal(path, "ana")
        journal.append("run.started", run={"id": "r1", "type": "standard", "version": "1.3.0"})
        before = path.read_bytes()
        fill_disk(disk)
        with pytest.raises(StateFileError) as info:  # more than the last page has room for
            journal.append("item.noted", phase="p", item="a", note="n" * 8000)
        assert str(info.value) == f"cannot write {path}: no space left on device"
        assert path.read_bytes() == before
        journal.close()
        (disk / "filler").unlink()
        Journal(path, "ana").append("item.checked", phase="p", item="b")
        batch = read_journal(path)
        assert batch.warnings == [] and [e.get("item") for e in batch.events] == [None, "b"]


def test_starting_a_run_on_a_full_disk_leaves_no_run_behind(ws, tmp_path, monkeypatch):
    with tiny_disk(tmp_path / "disk") as disk:
        monkeypatch.setenv("COCKPIT_STATE_DIR", str(disk / "state"))
        ws = Workspace.open(ws.root)
        fill_disk(disk)
        with pytest.raises(
            StateFileError, match=re.escape("journal.jsonl: no space left on device")
        ):
            RunSession.start(ws, "standard")
        assert list(ws.runs_dir.iterdir()) == [] and ws.list_runs() == []


# -- the TUI -------------------------------------------------------------------------------


async def test_the_tui_opens_a_run_with_hand_edited_lines_and_says_which(session, ws):
    from screens.app import CockpitApp

    with session.journal_path.open("a") as fh:
        fh.write(json.dumps({"v": 1, "ts": TS, "type": "run.started", "run": "r2"}) + "\n")
        fh.write(json.dumps({"v": 1, "ts": "soon", "type": "step.started", "phase": "x"}) + "\n")
    session.close()
    reopened = RunSession(ws, session.run_id)
    app = CockpitApp(ws, reopened, read_only=True, poll_health=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        told = [n.message for n in app._notifications]
        assert any(f"{session.journal_path}:2: run.started" in m for m in told), told
        assert any(f"{session.journal_path}:3: step.started" in m for m in told), told
    reopened.close()
