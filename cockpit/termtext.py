"""What a command printed, made safe to show: colours kept, every other control dropped.

Owns turning one line of a command's raw output into what a screen may show: the text
left after the line's last carriage return (a ``\\r`` progress bar is one line that
updates; a CRLF line ending is just an ending), SGR colour and style sequences kept for
a terminal (``visible``) or dropped for a file, a pipe or a search (``plain``), and
everything else a terminal would act on removed — OSC (window titles, hyperlinks, the
clipboard), DCS/APC/PM/SOS strings, cursor movement, screen clears, the alternate
screen, bells, C0 controls other than tab, DEL and C1 controls. Nothing a command
prints can change the operator's terminal or the cockpit's layout. ``clean_chunk`` does
the same to whole lines of bytes for headless stdout, with a fast path for the usual
chunk that holds no control byte at all. Text from outside that is not command output
(journal lines, ready bodies, commit subjects) is made ``inert`` instead: every control
character shown as a visible picture (``␛]2;…␇``), so the operator sees what was
there and no terminal acts on it. The step log itself keeps the raw bytes.
"""

from __future__ import annotations

import re
from typing import Any

_SEQUENCES = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\|$)"  # OSC … BEL or ST (or cut off by the line's end)
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\|$)"  # DCS, SOS, PM, APC … ST
    r"|(?P<csi>\x1b\[|\x9b)(?P<params>[0-?]*)(?P<inter>[ -/]*)(?P<final>[@-~]|$)"
    r"|\x1b[ -/]*[0-~]?"  # any other escape sequence, or a lone ESC
    r"|[\x00-\x08\x0a-\x1a\x1c-\x1f\x7f-\x9f]"  # C0 but tab, DEL, C1
)
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_SGR_PARAMS = re.compile(r"[0-9;:]*")
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")
"""A byte a terminal could act on (newline and tab aside; C1 as UTF-8 encodes it)."""
_C0_AND_DEL = bytes(range(0x09)) + bytes(range(0x0B, 0x20)) + b"\x7f"


def last_rewrite(line: str) -> str:
    """What is left after the line's last ``\\r`` (trailing ones are a line ending)."""
    line = line.rstrip("\r")
    cut = line.rfind("\r")
    return line if cut < 0 else line[cut + 1 :]


def _keep_sgr(match: re.Match[str]) -> str:
    if (
        match.group("csi") == "\x1b["
        and match.group("final") == "m"
        and not match.group("inter")
        and _SGR_PARAMS.fullmatch(match.group("params"))
    ):
        return match.group(0)
    return ""


def visible(line: str) -> str:
    """The line as a terminal may show it: colours and styles kept, nothing else acting."""
    line = last_rewrite(line)
    if line.isprintable() and "\x1b" not in line:
        return line
    return _SEQUENCES.sub(_keep_sgr, line)


def plain(line: str) -> str:
    """The line's text alone (for a file, a pipe, a search, a report)."""
    line = last_rewrite(line)
    if line.isprintable():
        return line
    return _SEQUENCES.sub("", line)


def inert(text: str) -> str:
    """Text from outside shown as written but inert: every control character a visible
    picture (ESC ``␛``, BEL ``␇``, CR ``␍``, DEL ``␡``, a C1 control ``␛`` and its letter),
    tab kept. ``"\x1b]2;x\x07"`` shows as ``␛]2;x␇``: the operator sees what was there."""
    return text if text.isprintable() else _CONTROL_CHARS.sub(_picture, text)


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"
    return "\u241b" + chr(code - 0x40)


def inert_multiline(text: str) -> str:
    """``inert`` for text that may hold several lines (a note, a message): lines kept."""
    return "\n".join(inert(line) for line in text.split("\n"))


def plain_values(value: Any) -> Any:
    """``inert_multiline`` applied to every string inside a value read from outside (a
    journal line, a ready body): lists and mappings are cleaned through, anything else is
    kept."""
    if isinstance(value, str):
        return value if value.isprintable() else inert_multiline(value)
    if isinstance(value, list | tuple):
        return type(value)(plain_values(v) for v in value)
    if isinstance(value, dict):
        return {plain_values(k): plain_values(v) for k, v in value.items()}
    return value


def has_controls(data: bytes) -> bool:
    """Whether bytes hold anything a terminal could act on (newline and tab aside).

    Two C-level passes instead of a regex scan (a third of the time on a million lines):
    deleting the C0 set changes the length, and a C1 control needs a ``\xc2`` byte."""
    if len(data.translate(None, _C0_AND_DEL)) != len(data):
        return True
    return b"\xc2" in data and _CONTROL_BYTES.search(data) is not None


def _needs_cleaning(data: bytes) -> bool:
    if has_controls(data):
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def clean_chunk(data: bytes, colour: bool, markers: tuple[bytes, ...] = ()) -> bytes:
    """Whole lines of bytes made safe the same way (``colour``: keep SGR, for a terminal);
    bytes that are not UTF-8 become U+FFFD. A line starting with one of ``markers`` (the
    headless ``"! "`` of stderr) keeps it in front of what is left after a ``\\r``. A chunk
    with nothing to clean is returned as it is (two C-level passes)."""
    if not _needs_cleaning(data):
        return data
    shown = visible if colour else plain
    out = []
    for line in data.split(b"\n"):
        if _needs_cleaning(line):
            head = next((m for m in markers if line.startswith(m)), b"")
            body = line[len(head) :].decode("utf-8", "replace")
            line = head + shown(body).encode()
        out.append(line)
    return b"\n".join(out)
