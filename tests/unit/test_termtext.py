"""What a command printed, made safe: colours kept, nothing else a terminal acts on."""

from __future__ import annotations

import pytest

from cockpit.termtext import clean_chunk, plain, visible

CASES = [
    # (what the command printed, what a terminal may show, the plain text)
    ("\x1b]2;PWNED-TITLE\x07hello", "hello", "hello"),  # OSC title
    ("\x1b]52;c;cGFzc3dk\x1b\\copied", "copied", "copied"),  # OSC 52 clipboard
    ("\x1b[2J\x1b[Hcleared", "cleared", "cleared"),  # screen clear, cursor home
    ("\x1b[?1049halternate", "alternate", "alternate"),  # alternate screen
    ("bell\x07!", "bell!", "bell!"),
    ("nul\x00byte", "nulbyte", "nulbyte"),
    ("progress 10%\rprogress 55%\rprogress 100%", "progress 100%", "progress 100%"),
    ("windows line\r", "windows line", "windows line"),
    ("\x1b[31mred\x1b[0m ok", "\x1b[31mred\x1b[0m ok", "red ok"),
    ("\x1b[1;38;2;10;20;30mtruecolour", "\x1b[1;38;2;10;20;30mtruecolour", "truecolour"),
    ("\x9b2Jc1 csi", "c1 csi", "c1 csi"),  # an 8-bit CSI
    ("link \x1b]8;;https://x\x1b\\here\x1b]8;;\x1b\\ end", "link here end", "link here end"),
    ("\x1bcreset", "reset", "reset"),  # RIS
    ("\x1b[6nreport?", "report?", "report?"),  # a query the terminal would answer
    ("\x1bPq#0;2;0;0;0\x1b\\sixel", "sixel", "sixel"),  # DCS
    ("tab\tkept", "tab\tkept", "tab\tkept"),
    ("cut off \x1b]2;title", "cut off ", "cut off "),  # an OSC the line's end cuts
]


@pytest.mark.parametrize(("raw", "shown", "text"), CASES)
def test_only_colours_survive_and_a_progress_line_shows_its_last_state(raw, shown, text):
    assert visible(raw) == shown
    assert plain(raw) == text


def test_chunks_of_lines_for_a_pipe_and_for_a_terminal():
    raw = b"plain\n\x1b]2;T\x07\x1b[32mgreen\x1b[0m\nbar 1\rbar 2\n"
    assert clean_chunk(raw, colour=False) == b"plain\ngreen\nbar 2\n"
    assert clean_chunk(raw, colour=True) == b"plain\n\x1b[32mgreen\x1b[0m\nbar 2\n"
    assert clean_chunk(b"nothing to clean\n", colour=False) == b"nothing to clean\n"
    # headless's markers stay in front of a progress line's last state
    marked = clean_chunk(b"! a 1%\rb 100%\n  x\ry\n", False, (b"! ", b"  "))
    assert marked == b"! b 100%\n  y\n"
    # invalid UTF-8 on a line that needs cleaning is replaced, never a crash
    assert clean_chunk(b"bad \xff\x07\n", colour=False) == "bad \ufffd\n".encode()


def test_a_secret_split_by_control_characters_is_still_masked(tmp_path):
    from cockpit.secrets import Redactor
    from cockpit.supervisor import StepLog

    log = StepLog(tmp_path / "s.log", Redactor(["hunter2"]))
    masked = log.mask(b"plain hunter2\ncoloured hun\x1b[0mter2\nnul hun\x00ter2\nfine\x1b[1m!\n")
    lines = masked.split(b"\n")
    assert lines[0] == b"plain ***"
    assert plain(lines[1].decode()) == "coloured ***" and b"hun" not in lines[1]
    assert lines[2] == b"nul ***"
    assert lines[3] == b"fine\x1b[1m!"  # no secret in it: kept as written
    log.close()
