"""In a real terminal (tmux), nothing a step prints changes the operator's terminal: a step
that prints an OSC title sequence leaves the pane's title as it was — headless in a
terminal and in the TUI. Skipped where tmux is not installed."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.helpers import phase_workspace, wait_for

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

PHASE = """\
id: ship
title: Ship
steps:
  - id: noisy
    title: Noisy
    commands:
      - run: "printf '\\\\033]2;PWNED-TITLE\\\\007titled\\\\n'; printf '\\\\033]0;PWNED-TOO\\\\007done-printing\\\\n'"
"""


@pytest.fixture
def tmux(tmp_path):
    socket = str(tmp_path / "tmux.sock")

    def run(*args: str) -> str:
        return subprocess.run(
            ["tmux", "-S", socket, *args], capture_output=True, text=True, check=True
        ).stdout

    yield run
    subprocess.run(["tmux", "-S", socket, "kill-server"], capture_output=True)


@pytest.mark.parametrize("front", ["headless", "tui"])
def test_a_step_printing_a_title_sequence_leaves_the_pane_title_alone(tmp_path, tmux, front):
    root = phase_workspace(tmp_path / "ws", {"ship.yaml": PHASE})
    cli = f"{sys.executable} -m cockpit.cli --workspace {root}"
    subprocess.run([*cli.split(), "start", "--type", "standard", "--version", "1.0.0"], check=True)
    log = next(root.glob(".cockpit/runs/*")) / "logs" / "ship" / "noisy.log"
    command = {"headless": f"{cli} run ship --headless --yes; sleep 30", "tui": cli}[front]
    tmux("new-session", "-d", "-s", "t", "-x", "160", "-y", "48", "sh")

    def title() -> str:
        return tmux("display", "-p", "-t", "t", "#{pane_title}").strip()

    # the control: this terminal does act on the sequence when it reaches it
    tmux("send-keys", "-t", "t", "printf '\\033]2;CONTROL\\007'; clear", "Enter")
    wait_for(lambda: title() == "CONTROL", "the terminal retitled by a printf")
    tmux("select-pane", "-t", "t", "-T", "OPERATOR-TITLE")
    tmux("send-keys", "-t", "t", f"COCKPIT_OPERATOR=ana {command}", "Enter")
    if front == "tui":
        wait_for(lambda: "Phases" in tmux("capture-pane", "-p", "-t", "t"), "the dashboard")
        tmux("send-keys", "-t", "t", "Down", "Enter")
        wait_for(lambda: "Run/retry" in tmux("capture-pane", "-p", "-t", "t"), "the deploy screen")
        tmux("send-keys", "-t", "t", "r")
    wait_for(lambda: log.exists() and b"done-printing" in log.read_bytes(), "the step printed")
    wait_for(
        lambda: "done-printing" in tmux("capture-pane", "-p", "-t", "t"), "the output on screen"
    )
    assert b"\x1b]2;PWNED-TITLE" in log.read_bytes()  # the log keeps what was printed
    assert title() == "OPERATOR-TITLE"
    if front == "tui":
        tmux("send-keys", "-t", "t", "C-q")
