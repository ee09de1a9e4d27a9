"""Headless prints a step's output safely: plain text to a pipe, colours (and nothing else
a terminal acts on) to a terminal. The step is the TUI test's noisy printer."""

from __future__ import annotations

import os
import subprocess

from tests.helpers import cockpit_cmd
from tests.tui.test_output import PROGRESS, workspace

SAFE = {"\n", "\t"}


def start(root):
    env = {**os.environ, "COCKPIT_OPERATOR": "ana"}
    cmd = cockpit_cmd("start", "--type", "standard", "--version", "1.0.0")
    subprocess.run(cmd, cwd=root, check=True, env=env, capture_output=True)


def run_to_a_pipe(root) -> str:
    """``cockpit run ship --headless --yes`` with stdout a pipe: what it printed."""
    result = subprocess.run(
        cockpit_cmd("run", "ship", "--headless", "--yes"),
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_to_a_pipe_only_the_text(tmp_path):
    root = workspace(tmp_path)
    start(root)
    out = run_to_a_pipe(root)
    assert "red ok" in out and "title line" in out and "progress 100%" in out
    assert "progress 10%" not in out
    assert all(ch in SAFE or ch.isprintable() for ch in out), repr(out)


def test_to_a_terminal_colours_but_no_title_clear_or_bell(tmp_path):
    root = workspace(tmp_path)
    start(root)
    leader, follower = os.openpty()
    proc = subprocess.Popen(
        cockpit_cmd("run", "ship", "--headless", "--yes"),
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=subprocess.DEVNULL,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the terminal closed with the last writer
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert proc.wait(timeout=120) == 0
    out = b"".join(chunks)
    assert b"\x1b[31mred\x1b[0m ok" in out  # colour kept for a person
    for acting in (b"\x1b]", b"\x1b[2J", b"\x1b[?1049h", b"\x07", b"\x00"):
        assert acting not in out, acting
    assert b"progress 100%" in out and b"progress 10%" not in out


def test_a_line_in_progress_is_printed_once_when_it_ends(tmp_path):
    root = workspace(tmp_path, PROGRESS, "upload")
    start(root)
    lines = run_to_a_pipe(root).splitlines()
    assert "  upload 100%" in lines and "  before" in lines and "  after" in lines
    assert not any("upload 10%" in ln or "upload 50%" in ln for ln in lines), lines
    assert not any(ln[:4].isdigit() for ln in lines), lines  # no raw log line leaked
