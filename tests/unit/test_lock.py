"""One driver per run: the lock, stale takeover (journaled), and racing drivers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from cockpit.journal import read_journal
from cockpit.lock import LockHeld, RunLock
from cockpit.session import RunSession

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from cockpit.lock import RunLock
    lock = RunLock(Path(sys.argv[1]))
    lock.acquire(sys.argv[2])
    print("held", flush=True)
    time.sleep(60)
    """
)


def hold_in_subprocess(path, operator="bob"):
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), operator], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_live_driver_blocks_a_second_one(tmp_path):
    proc = hold_in_subprocess(tmp_path / "lock")
    try:
        lock = RunLock(tmp_path / "lock")
        assert lock.is_held_elsewhere()
        with pytest.raises(LockHeld) as info:
            lock.acquire("ana")
        assert info.value.holder.pid == proc.pid
        assert "bob" in str(info.value) and f"pid {proc.pid}" in str(info.value)
    finally:
        proc.kill()
        proc.wait()


def test_stale_lock_of_a_killed_driver_is_taken_over_and_journaled(session, tmp_path):
    proc = hold_in_subprocess(session.lock.path, "bob")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    previous = session.take_lock()
    assert previous is not None and previous.pid == proc.pid
    event = read_journal(session.journal_path).events[-1]
    assert event["type"] == "lock.taken_over"
    assert event["previous"]["operator"] == "bob"
    assert event["reason"] == f"pid {proc.pid} is no longer running"
    session.release()


def test_clean_release_is_not_a_takeover(session, ws):
    session.take_lock()
    session.release()
    again = RunSession(ws, session.run_id)
    assert again.take_lock() is None
    again.release()


RACER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from cockpit.lock import LockHeld, RunLock
    lock = RunLock(Path(sys.argv[1]))
    while not Path(sys.argv[2]).exists():
        time.sleep(0.001)
    try:
        lock.acquire("racer")
        print("won", flush=True)
        time.sleep(2)
    except LockHeld:
        print("lost", flush=True)
    """
)


def test_racing_drivers_exactly_one_wins(tmp_path):
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(tmp_path / "lock"), str(go)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    go.touch()
    results = [p.communicate(timeout=30)[0].strip() for p in procs]
    assert sorted(results) == ["lost"] * 5 + ["won"]
