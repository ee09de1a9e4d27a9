"""`tty: true`: a step's commands run under a pseudo-terminal, so tools print colours and
progress as they would for a person — still no stdin, every byte in the log, the tree
stopped on abort."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.helpers import cockpit_cmd, phase_workspace


def step_log_text(root, phase: str, step: str) -> str:
    return next(root.glob(f".cockpit/runs/*/logs/{phase}/{step}.log")).read_text()


PROBE = (
    "{py} -c \"import os,sys; print('tty', sys.stdout.isatty(), sys.stderr.isatty(),"
    " sys.stdin.isatty(), os.get_terminal_size().columns if sys.stdout.isatty() else '-');"
    " sys.stdout.write('\\033[32mgreen\\033[0m 10%\\r100%\\n')\""
)
PHASE = f"""\
id: ship
title: Ship
steps:
  - id: plain
    title: Through pipes
    commands:
      - run: |
          {PROBE}
  - id: terminal
    title: Under a terminal
    tty: true
    commands:
      - run: |
          {PROBE}
      - run: |
          {PROBE}
        tty: false
"""


def test_a_tty_step_sees_a_terminal_and_its_bytes_are_kept(tmp_path):
    root = phase_workspace(tmp_path / "ws", {"ship.yaml": PHASE}, vars={"py": sys.executable})
    subprocess.run(
        cockpit_cmd("--workspace", str(root), "start", "--type", "standard", "--version", "1.0.0"),
        check=True,
        capture_output=True,
    )
    done = subprocess.run(
        cockpit_cmd("--workspace", str(root), "run", "ship", "--headless", "--yes"),
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "97"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    plain = step_log_text(root, "ship", "plain")
    terminal = step_log_text(root, "ship", "terminal")
    assert "tty False False False -" in plain
    # stdout and stderr are the terminal, stdin is still /dev/null, the width is given
    assert "tty True True False 97" in terminal
    # a command may say tty: false inside a tty step
    assert terminal.count("tty False False False -") == 1
    # the raw bytes are in the log: the colour and the \r, no \r\n translation
    raw = next(root.glob(".cockpit/runs/*/logs/ship/terminal.log")).read_bytes()
    assert b"\x1b[32mgreen\x1b[0m 10%\r100%\n" in raw
    assert b"\r\n" not in raw
