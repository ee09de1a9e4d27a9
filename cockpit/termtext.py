"""What a command printed, made safe to show: colours kept, every other control dropped.

Owns turning one line of a command's raw output into what a screen may show: the text
left after the line's last carriage return (a ``\\r`` progress bar is one line that
updates; a CRLF line ending is just an ending), SGR colour and style sequences kept for
a terminal (``visible``) or dropped for a file, a pipe or a search (``plain``), and
everything else a terminal would act on removed — OSC (window titles, hyperlinks, the
clipboard), DCS/APC/PM/SOS strings, cursor movement, screen clears, the alternate
screen, bells, C0 controls other than tab, DEL and C1 controls. Nothing a command
prints can change the operator's terminal or the cockpit's layout. ``clean_chunk`` does
the same to whole lines of bytes for headless stdout (and the step log's masking) by
C-level passes over blocks of lines, byte for byte what ``clean_lines`` gives line by
line; a block with an OSC, a NUL or the like goes line by line. Text from outside that
is not command output (journal lines, ready bodies, commit subjects) is made ``inert``
instead: every control character shown as a visible picture (``␛]2;…␇``), so the
operator sees what was there and no terminal acts on it. The step log itself keeps the
raw bytes.
"""

from __future__ import annotations

import functools
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
    return has_controls(data) or not _is_utf8(data)


def _is_utf8(data: bytes) -> bool:
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def clean_chunk(data: bytes, colour: bool, markers: tuple[bytes, ...] = ()) -> bytes:
    """Whole lines of bytes made safe the same way (``colour``: keep SGR, for a terminal);
    bytes that are not UTF-8 become U+FFFD. A line starting with one of ``markers`` (the
    headless ``"! "`` of stderr) keeps it in front of what is left after a ``\\r``. A chunk
    with nothing to clean is returned as it is (two C-level passes).

    The result is the one ``clean_lines`` gives (each line through ``plain``/``visible``),
    without a Python step per line: the chunk is cleaned in blocks of about 256 KiB by
    whole-block C-level passes (``_clean_block``); a block holding something those passes
    do not cover (an OSC title, a NUL, a backspace, an unfinished sequence…) is cleaned
    line by line."""
    controls = len(data) - len(data.translate(None, _C0_AND_DEL))
    c1 = b"\xc2" in data and _C1_BYTES.search(data) is not None
    if not controls and not c1 and _is_utf8(data):
        return data
    # no control byte but ESC and \r in the whole chunk: its blocks need not look again
    escapes = data.count(b"\x1b")
    checked = not c1 and (controls == escapes or controls == escapes + data.count(b"\r"))
    plan = _marker_plan(markers)
    out = []
    start, size = 0, len(data)
    while start <= size:
        end = data.find(b"\n", start + _BLOCK)
        end = size if end < 0 else end
        # a block starts with the newline before its first line (the first: one added)
        block = data[start - 1 : end] if start else b"\n" + data[:end]
        cleaned = None if plan is None else _clean_block(block, colour, plan, checked)
        if cleaned is None:
            cleaned = clean_lines(block, colour, markers)
        out.append(cleaned if start else cleaned[1:])
        start = end + 1
    return b"".join(out)


def clean_lines(data: bytes, colour: bool, markers: tuple[bytes, ...] = ()) -> bytes:
    """``clean_chunk`` the careful way: each line that needs it through ``plain`` or
    ``visible``, in Python (the reference the fast passes are tested against)."""
    shown = visible if colour else plain
    out = []
    for line in data.split(b"\n"):
        if _needs_cleaning(line):
            head = next((m for m in markers if line.startswith(m)), b"")
            body = line[len(head) :].decode("utf-8", "replace")
            line = head + shown(body).encode()
        out.append(line)
    return b"\n".join(out)


_BLOCK = 256 * 1024
"""Bytes cleaned at a time: the passes over a block stay in the CPU cache, and a block that
needs the careful way costs a few thousand lines, not the chunk."""
_REWRITES = 8
"""Distinct ``\\r`` rewrites removed by ``bytes.replace`` in a block before a regex pass."""
_DISTINCT_SEQUENCES = 8
"""Distinct escape sequences removed by ``bytes.replace`` in a block; more: by a pattern."""
SIMPLE_SEQUENCE = re.compile(
    rb"\x1b(?:\[[0-?]*[ -/]*[@-~]"  # a complete CSI (colours, cursor moves, clears)
    rb"|[ -/]*[0-OQ-WYZ\\`-~])"  # a complete other escape, none that opens OSC/DCS/CSI
)
"""An escape sequence that ``_SEQUENCES`` matches the same wherever it is: one ESC, a
final byte; each of its occurrences in a line is one whole match, whatever follows."""
_SGR_BYTES = re.compile(rb"\x1b\[[0-9;:]*m")
_SIMPLE_NOT_SGR = re.compile(rb"\x1b(?!\[[0-9;:]*m)" + SIMPLE_SEQUENCE.pattern[4:])
_LINE_END_CR = re.compile(rb"\r+\n")
_CRLF = re.compile(rb"\r\n")  # searched for by its literal prefix: faster than `in`
_C1_BYTES = re.compile(rb"\xc2[\x80-\x9f]")


@functools.lru_cache(maxsize=8)
def _marker_plan(
    markers: tuple[bytes, ...],
) -> tuple[int, re.Pattern[bytes] | None, dict[bytes, re.Pattern[bytes]]] | None:
    """For ``_clean_block``: the markers' width, the pattern of a ``\\r`` line without a
    marker, and one per marker. None (line by line) unless the markers are distinct, of one
    width, printable ASCII without a backslash (so none is another's start)."""
    if not markers:
        return 0, None, {b"": re.compile(rb"\n[^\n]*\r")}
    widths = {len(m) for m in markers}
    printable_ascii = all(0x20 <= b < 0x7F and b != 0x5C for m in markers for b in m)
    if len(widths) != 1 or 0 in widths or len(set(markers)) != len(markers):
        return None
    if not printable_ascii:
        return None
    any_marker = b"|".join(re.escape(m) for m in markers)
    return (
        widths.pop(),
        re.compile(rb"\n(?!" + any_marker + rb")[^\n]*\r"),
        {m: re.compile(rb"\n" + re.escape(m) + rb"[^\n]*\r") for m in markers},
    )


def _clean_block(
    block: bytes,
    colour: bool,
    plan: tuple[int, re.Pattern[bytes] | None, dict[bytes, re.Pattern[bytes]]],
    checked: bool = False,
) -> bytes | None:
    """``clean_lines`` of a block (starting with a newline) by whole-block passes, or None
    when it holds something only the careful way handles.

    Lines split at ASCII bytes decode the same whole or one by one, so a block not in
    UTF-8 is decoded once with U+FFFD. Then, as ``last_rewrite``: the ``\\r`` ending each
    line dropped, and each line's text before its last ``\\r`` (after its marker) removed.
    Then the escape sequences: the block is cleaned here only when its one control byte
    besides tab and newline is ESC and every ESC starts a complete sequence of
    ``SIMPLE_SEQUENCE``; each distinct one is then removed (or kept: SGR, for a terminal)
    by ``bytes.replace``, exactly where ``_SEQUENCES`` would match it. ``checked``: the
    block is known to hold no control byte but ESC and ``\\r``."""
    if not _is_utf8(block):
        block = block.decode("utf-8", "replace").encode()
    if b"\r" in block:
        block = _drop_rewrites(block, plan)
        if block is None:
            return None
    if not checked:
        escapes = block.count(b"\x1b")
        if len(block) - len(block.translate(None, _C0_AND_DEL)) != escapes:
            return None  # a control byte other than ESC (tab and newline are not in the set)
        if b"\xc2" in block and _C1_BYTES.search(block):
            return None
    return _drop_sequences(block, colour) if b"\x1b" in block else block


def _drop_rewrites(
    block: bytes, plan: tuple[int, re.Pattern[bytes] | None, dict[bytes, re.Pattern[bytes]]]
) -> bytes | None:
    """``last_rewrite`` on every line of a block, its marker kept in front.

    A marked line's first rewrite is removed by ``bytes.replace`` wherever it starts a line
    when the next line repeats it (a progress bar), while that takes many lines at once.
    Otherwise, and for the lines without a marker, one pattern pass per kind of line
    removes every line's text up to its last ``\\r``, one match a line."""
    width, unmarked, marked = plan
    block = drop_line_end_cr(block)
    by_replace = _REWRITES
    passed: set[bytes | None] = set()  # kinds of line done by their pattern
    while (cr := block.find(b"\r")) >= 0:
        start = block.rfind(b"\n", 0, cr)
        head: bytes | None = block[start + 1 : start + 1 + width]
        if head not in marked:
            head = None  # a line without a marker
        if head in passed:
            return None  # its pattern took them all: cannot be
        rewrite, following = block[start : cr + 1], block.find(b"\n", cr)
        if head is not None and by_replace and block.startswith(rewrite, max(following, 0)):
            by_replace -= 1  # the next line repeats it (a progress bar): worth a replace
            size = len(block)
            block = replace_all(block, rewrite, b"\n" + head)
            if (size - len(block)) // (cr - start - width) * (following - start) * 8 < size:
                by_replace = 0  # it took few of the block's lines: they differ line to line
            continue
        passed.add(head)
        pattern = marked[head] if head is not None else unmarked
        if pattern is None:
            return None
        block = pattern.sub(b"\n" + (head or b""), block)
    return block


def replace_all(data: bytes, old: bytes, new: bytes) -> bytes:
    """``data.replace(old, new)``; a long ``old`` in much data by a compiled pattern, faster
    there (a third, for a log line's prefix): its search is prepared once, not at each
    occurrence."""
    if len(old) < 20 or len(data) < 65536 or b"\\" in new:
        return data.replace(old, new)
    return re.compile(re.escape(old)).sub(new, data)


def drop_line_end_cr(data: bytes) -> bytes:
    """Every line's trailing ``\\r`` dropped (a CRLF's half: an ending, not a rewrite)."""
    if _CRLF.search(data):
        data = _LINE_END_CR.sub(b"\n", data)
    return data.rstrip(b"\r") if data.endswith(b"\r") else data


def _drop_sequences(block: bytes, colour: bool) -> bytes | None:
    """The block without its escape sequences (SGR kept when ``colour``), or None.

    Distinct sequences are found one by one, each removed from a probe copy before the
    next is looked for, until no ESC is left; each holds one ESC, so as many occurrences
    were removed as the block has ESC bytes. Each is also counted in the block itself: when
    those counts add up to the same, every ESC of the block starts one of them, none
    overlaps another, and removing them could not join bytes into a new one. (One found
    twice was joined so: the block goes line by line.)"""
    probe, removed, covered, escapes = block, [], 0, 0
    kept: list[bytes] = []
    for n in range(_DISTINCT_SEQUENCES):
        at = probe.find(b"\x1b")
        if at < 0:
            break
        match = SIMPLE_SEQUENCE.match(probe, at)
        if match is None:
            return None
        sequence = match.group()
        if sequence in removed or sequence in kept:
            return None
        size = len(probe)
        probe = probe.replace(sequence, b"")
        escapes += (size - len(probe)) // len(sequence)
        # the first is counted by its removal: the probe was still the block
        covered = escapes if n == 0 else covered + block.count(sequence)
        if colour and _SGR_BYTES.fullmatch(sequence):
            kept.append(sequence)
        else:
            removed.append(sequence)
    else:
        if b"\x1b" in probe:
            return _drop_sequences_by_pattern(block, colour)  # more distinct ones than that
    if covered != escapes:
        return None
    if not kept:
        return probe
    for sequence in removed:
        block = block.replace(sequence, b"")
    return block


def _drop_sequences_by_pattern(block: bytes, colour: bool) -> bytes | None:
    """``_drop_sequences`` for a block with many distinct sequences: each removed where it
    is by one pattern; the block is cleaned here only when the matches (counted in the
    block itself, each at an ESC of its own) are as many as its ESC bytes."""
    shown, matched = (_SIMPLE_NOT_SGR if colour else SIMPLE_SEQUENCE).subn(b"", block)
    if colour:
        matched += len(_SGR_BYTES.findall(block))
    return shown if matched == block.count(b"\x1b") else None
