"""State files from the command line, as a user meets them: a link or another user's folder
where the state belongs is refused in words and never written through or chmod-ed; a corrupt
lock is replaced saying so; hand-edited journal lines are warnings, never a traceback; a full
disk or a file size limit is "cannot write PATH: <the OS's reason>", exit 2, and nothing
half-written. Every test runs the real ``cockpit`` in a subprocess.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import stat
import subprocess
from pathlib import Path

import pytest

from tests.helpers import cockpit_cmd, fill_disk, phase_workspace, tiny_disk

GATES = """\
id: gates
title: Gates
sections:
  - title: Gates
    items:
      - text: Tests pass
        id: tests-pass
"""

SHIP = """\
id: ship
title: Ship
steps:
  - id: one
    title: One
    commands:
      - run: "touch ran-one; echo one"
"""


def cockpit(root: Path, *args: str, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cockpit_cmd("--workspace", str(root), *args),
        capture_output=True,
        text=True,
        timeout=120,
        **kw,
    )


def workspace(tmp_path: Path, start: bool = True) -> Path:
    root = phase_workspace(tmp_path / "ws", {"gates.yaml": GATES, "ship.yaml": SHIP})
    if start:
        started = cockpit(root, "start", "--type", "standard", "--version", "1.0.0")
        assert started.returncode == 0, started.stderr
    return root


def journal_of(root: Path) -> Path:
    return next(root.glob(".cockpit/runs/*/journal.jsonl"))


def in_words(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr + result.stdout
    assert "unexpected error" not in result.stderr


# -- links and other users' folders ------------------------------------------------------


def test_a_linked_state_folder_is_refused_and_the_shared_folder_left_alone(tmp_path):
    root = workspace(tmp_path, start=False)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    (root / ".cockpit").symlink_to(shared)
    for args in (("start", "--type", "standard"), ("runs",), ("status",)):
        result = cockpit(root, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert f"refusing to use {root}/.cockpit: it is a symbolic link" in result.stderr
        in_words(result)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    assert list(shared.iterdir()) == []


def test_a_state_folder_of_another_user_is_refused_and_not_chmodded(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("handing a folder to another user needs root")
    root = workspace(tmp_path, start=False)
    state = root / ".cockpit"
    state.mkdir(mode=0o755)
    os.chown(state, 65534, 65534)
    result = cockpit(root, "start", "--type", "standard")
    assert result.returncode == 2
    assert f"refusing to use {state}: it belongs to" in result.stderr
    assert "uid 65534" in result.stderr
    in_words(result)
    assert stat.S_IMODE(state.stat().st_mode) == 0o755 and list(state.iterdir()) == []


def test_a_linked_journal_is_said_not_taken_for_no_run(tmp_path):
    root = workspace(tmp_path)
    journal = journal_of(root)
    outside = tmp_path / "elsewhere.jsonl"
    outside.write_bytes(journal.read_bytes())
    journal.unlink()
    journal.symlink_to(outside)
    for args in (("status",), ("report",), ("check", "gates", "tests-pass")):
        result = cockpit(root, *args)
        assert result.returncode == 2, (args, result.stderr)
        in_words(result)
        assert "it is a symbolic link" in result.stderr, (args, result.stderr)
        assert "no active run that can be read (see the warning above)" in result.stderr
    assert "tests-pass" not in outside.read_text()


def test_a_lock_linked_outside_is_refused_and_the_outside_file_kept(tmp_path):
    root = workspace(tmp_path)
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    lock = journal_of(root).parent / "lock"
    lock.symlink_to(outside)
    result = cockpit(root, "run", "ship", "--headless", "--yes")
    assert result.returncode == 2
    assert f"refusing to use {lock}: it is a symbolic link" in result.stderr
    in_words(result)
    assert outside.read_text() == "precious\n"
    assert not (root / "ran-one").exists()  # nothing ran


def test_a_step_log_linked_outside_is_refused_before_the_command_runs(tmp_path):
    root = workspace(tmp_path)
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    log = journal_of(root).parent / "logs" / "ship" / "one.log"
    log.parent.mkdir(parents=True, mode=0o700)
    log.symlink_to(outside)
    result = cockpit(root, "run", "ship", "--headless", "--yes")
    assert result.returncode == 1  # the step failed to start
    assert f"refusing to use {log}: it is a symbolic link" in result.stdout
    in_words(result)
    assert outside.read_text() == "precious\n"
    assert not (root / "ran-one").exists()


# -- a corrupt lock ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("corrupt", "words"),
    [
        (b"\xff\xfe\x00 not text", "is corrupt: it is not UTF-8 text"),
        (b"pid=4242 host=vm", "is corrupt: it is not JSON"),
        (b'{"pid": "4242", "host": "vm"}', "is corrupt: its pid is not a number"),
        ("folder", "was an empty folder"),
        ("folder with a file", "was a folder (moved aside to lock.folder-"),
    ],
)
def test_a_corrupt_lock_is_replaced_and_said_in_words(tmp_path, corrupt, words):
    root = workspace(tmp_path)
    lock = journal_of(root).parent / "lock"
    if isinstance(corrupt, bytes):
        lock.write_bytes(corrupt)
    else:
        lock.mkdir()
        if corrupt == "folder with a file":
            (lock / "note").write_text("x")
    runs = cockpit(root, "runs")
    assert runs.returncode == 0 and "open (active)" in runs.stdout, runs.stderr
    result = cockpit(root, "run", "ship", "--headless", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert words in result.stdout
    in_words(result)
    assert lock.is_file() and lock.read_bytes() == b""  # replaced, then released
    report = cockpit(root, "report")
    assert "took over driving" in report.stdout and words in report.stdout


# -- hand-edited journals ------------------------------------------------------------------

TS = "2026-11-25T10:00:00+00:00"
BAD_LINES = [
    {"v": 1, "ts": TS, "type": "item.checked", "by": "x", "item": "tests-pass"},
    {"v": 1, "type": "item.checked", "by": "x", "phase": "gates", "item": "tests-pass"},
    {"v": 1, "ts": "x", "type": "item.checked", "phase": "gates", "item": "tests-pass"},
    {"v": 1, "ts": TS, "type": "run.started", "run": "1.0.0"},
    {"v": 1, "ts": TS, "type": "step.started", "phase": "ship", "step": "one", "attempt": "2"},
    [1, 2, 3],
    "item.checked gates tests-pass",
]


def test_hand_edited_lines_are_warnings_and_every_command_keeps_working(tmp_path):
    root = workspace(tmp_path)
    assert cockpit(root, "check", "gates", "tests-pass").returncode == 0
    journal = journal_of(root)
    good = len(journal.read_text().splitlines())
    with journal.open("a") as fh:
        for line in BAD_LINES:
            fh.write(json.dumps(line) + "\n")
    runs = cockpit(root, "runs")
    assert runs.returncode == 0 and "1.0.0" in runs.stdout
    status = cockpit(root, "status", "--json")
    assert status.returncode == 0, status.stderr
    in_words(status)
    for n in range(good + 1, good + len(BAD_LINES) + 1):  # each bad line, by its number
        assert f"warning: {journal}:{n}: " in status.stderr
    assert "item.checked without phase; line skipped" in status.stderr
    assert "its time (ts) is the text 'x', not an ISO-8601 time" in status.stderr
    assert "run.started: run is the text '1.0.0', not an object" in status.stderr
    doc = json.loads(status.stdout)
    gate = doc["phases"][0]["items"][0]
    assert (gate["checked"], gate["by"]) == (True, "ana")  # ticked once, by ana
    assert doc["run"]["version"] == "1.0.0"
    for args in (("report",), ("report", "--format", "json"), ("status",)):
        result = cockpit(root, *args)
        assert result.returncode == 0, (args, result.stderr)
        in_words(result)
        assert f"warning: {journal}:{good + 1}: " in result.stderr, args
    report = cockpit(root, "report").stdout  # the report itself says what it left out
    assert "The journal has lines that could not be read" in report
    assert f"{journal}:{good + 1}: " in report
    assert (
        f"{journal}:{good + 1}: "
        in json.loads(cockpit(root, "report", "--format", "json").stdout)["journal_warnings"][0]
    )
    run = cockpit(root, "run", "ship", "--headless", "--yes")
    assert run.returncode == 0, run.stdout + run.stderr
    in_words(run)


def test_a_hand_broken_run_started_leaves_the_run_out_of_runs_in_words(tmp_path):
    root = workspace(tmp_path)
    journal = journal_of(root)
    lines = journal.read_text().splitlines()
    first = json.loads(lines[0])
    first["run"] = "1.0.0"
    journal.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    runs = cockpit(root, "runs")
    assert runs.returncode == 0
    assert f"{journal}: no readable run.started event; the run is not listed" in runs.stderr
    status = cockpit(root, "status", "--run", journal.parent.name)
    assert status.returncode == 2 and "the journal has no run.started event" in status.stderr
    in_words(runs)
    in_words(status)


def test_the_journal_format_compares_as_a_number(tmp_path):
    root = workspace(tmp_path)
    journal = journal_of(root)
    base = journal.read_bytes()
    line = {"ts": TS, "type": "item.checked", "by": "bo", "phase": "gates", "item": "tests-pass"}
    journal.write_bytes(base + json.dumps({"v": "1", **line}).encode() + b"\n")
    status = cockpit(root, "status", "--json")
    assert status.returncode == 0 and status.stderr == ""
    assert json.loads(status.stdout)["phases"][0]["items"][0]["by"] == "bo"
    journal.write_bytes(base + json.dumps({"v": "2", **line}).encode() + b"\n")
    newer = cockpit(root, "status")
    assert newer.returncode == 2
    assert "journal format 2; this version reads format 1" in newer.stderr
    in_words(newer)


# -- a full disk, a file size limit ----------------------------------------------------------


def test_a_full_disk_is_said_in_words_and_nothing_is_half_written(tmp_path, monkeypatch):
    with tiny_disk(tmp_path / "disk") as disk:
        monkeypatch.setenv("COCKPIT_STATE_DIR", str(disk / "state"))
        root = workspace(tmp_path)
        journal = next((disk / "state").glob("runs/*/journal.jsonl"))
        before = journal.read_bytes()
        fill_disk(disk)

        ticked = cockpit(root, "check", "gates", "tests-pass", "--note", "n" * 8000)
        assert ticked.returncode == 2
        assert f"cannot write {journal}: no space left on device" in ticked.stderr
        in_words(ticked)

        run = cockpit(root, "run", "ship", "--headless", "--yes")
        assert run.returncode == 2
        assert f"cannot write {journal.parent / 'lock'}: no space left on device" in run.stderr
        in_words(run)
        assert not (root / "ran-one").exists()

        again = cockpit(root, "start", "--type", "patch", "--version", "1.0.1")
        assert again.returncode == 2
        assert "journal.jsonl: no space left on device" in again.stderr
        in_words(again)

        assert journal.read_bytes() == before  # not a byte of a torn line
        assert [p.name for p in (disk / "state" / "runs").iterdir()] == [journal.parent.name]
        runs = cockpit(root, "runs")
        assert runs.returncode == 0 and runs.stderr == ""


def _file_size_limit(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_file_size_limit_is_said_in_words_and_nothing_is_half_written(tmp_path):
    root = workspace(tmp_path)
    journal = journal_of(root)
    before = journal.read_bytes()
    limited = _file_size_limit(len(before) + 10)  # room for 10 bytes of the next line
    ticked = cockpit(root, "check", "gates", "tests-pass", "--note", "n" * 200, preexec_fn=limited)
    assert ticked.returncode == 2
    assert f"cannot write {journal}: file too large" in ticked.stderr
    in_words(ticked)
    assert journal.read_bytes() == before

    tiny = _file_size_limit(10)
    started = cockpit(root, "start", "--type", "patch", "--version", "1.0.1", preexec_fn=tiny)
    assert started.returncode == 2 and "journal.jsonl: file too large" in started.stderr
    in_words(started)
    assert [p.parent for p in root.glob(".cockpit/runs/*/journal.jsonl")] == [journal.parent]
    assert len(list((root / ".cockpit" / "runs").iterdir())) == 1  # no half-made run

    ok = cockpit(root, "check", "gates", "tests-pass")  # without the limit: whole lines only
    assert ok.returncode == 0
    status = cockpit(root, "status")
    assert status.returncode == 0 and status.stderr == ""
