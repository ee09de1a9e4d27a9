"""What headless prints from a step log, run by run, is byte for byte what the line-by-line
way prints: ``printable`` as it was, then each line cleaned (``clean_lines``)."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cockpit.headless import _IN_PROGRESS, _SHOWN, MARKERS, PREFIX, printable, shown_text
from cockpit.termtext import clean_lines


def reference_printable(data: bytes) -> bytes:
    """``printable`` as it was before runs were cleaned in place (commit 522fe8b)."""
    out = []
    pos, size = 0, len(data)
    while pos < size:
        prefix = data[pos : pos + PREFIX]
        shown = _SHOWN.get(prefix[PREFIX - 2 : PREFIX - 1])
        if prefix[PREFIX - 2 : PREFIX - 1] in _IN_PROGRESS and prefix[-1:] == b" ":
            pos = data.find(b"\n", pos) + 1 or size
            continue
        if shown is None or len(prefix) < PREFIX or prefix[-1:] != b" " or b"\n" in prefix:
            end = data.find(b"\n", pos) + 1 or size
            out.append(data[pos:end])
            pos = end
            continue
        end = reference_run_end(data, pos, prefix, size)
        out.append(shown + data[pos + PREFIX : end].replace(b"\n" + prefix, b"\n" + shown))
        pos = end
    return b"".join(out)


def reference_run_end(data: bytes, pos: int, prefix: bytes, size: int) -> int:
    lo, hi, step = pos, size, 4096
    while lo + step < size:
        start = data.find(b"\n", lo + step) + 1
        if start == 0:
            break
        if not data.startswith(prefix, start):
            hi = start
            break
        lo, step = start, step * 2
    while True:
        start = data.find(b"\n", (lo + hi) // 2) + 1
        if start == 0 or start >= hi:
            start = data.find(b"\n", lo) + 1
            if start == 0 or start >= hi:
                break
        if data.startswith(prefix, start):
            lo = start
        else:
            hi = start
    lines = data.count(b"\n", pos, hi)
    if data.count(b"\n" + prefix, pos, hi) == lines - 1:
        return hi
    other = re.compile(b"\n(?!" + re.escape(prefix) + b")").search(data, pos)
    return other.start() + 1 if other else size


def careful(data: bytes, colour: bool) -> bytes:
    return clean_lines(reference_printable(data), colour, MARKERS)


STAMPS = [b"2026-11-25T16:00:19.290Z", b"2026-11-25T16:00:19.291Z", b"2026-11-25T16:00:20.000Z"]
TAGS = [b"O", b"E", b"#", b"o", b"e", b"X"]
BODY = [
    b"\r",
    b"\r\n",
    b"\x1b[32m",
    b"\x1b[0m",
    b"\x1b[1m",
    b"\x1b[2K",
    b"\x1b(B",
    b"\x1b]0;t\x07",
    b"\x1b",
    b"[",
    b"\x00",
    b"\x07",
    b"\t",
    b"  ",
    b"! ",
    b"# ",
    b"a",
    b"10%",
    b"100%",
    b"\xff",
    "é".encode(),
    b"\xc2\x9b",
    b"2026-11-25T16:00:19.290Z O ",
]
body = st.lists(st.sampled_from(BODY), max_size=12).map(b"".join)
log_line = st.builds(
    lambda stamp, tag, text: stamp + b" " + tag + b" " + text,
    st.sampled_from(STAMPS),
    st.sampled_from(TAGS),
    body,
)
line = st.one_of(log_line, log_line, log_line, body, st.binary(max_size=40))


@st.composite
def logs(draw):
    lines = draw(st.lists(line, max_size=30))
    repeat = draw(st.integers(min_value=1, max_value=4))  # runs of the same line
    data = b"\n".join(x for x in lines for _ in range(repeat))
    return data + draw(st.sampled_from([b"\n", b""]))


@settings(max_examples=2000, deadline=None)
@given(data=logs(), colour=st.booleans())
@example(data=b"2026-11-25T16:00:19.290Z O a\rb\n" * 3, colour=False)
@example(data=b"2026-11-25T16:00:19.290Z O a\r\n2026-11-25T16:00:19.290Z O a\rb\n", colour=False)
@example(data=b"2026-11-25T16:00:19.290Z O a\rb\n2026-11-25T16:00:19.290Z O a\r", colour=False)
@example(
    data=b"2026-11-25T16:00:19.290Z O x\n2026-11-25T16:00:19.290Z E a\rb\n"
    b"2026-11-25T16:00:19.290Z O a\rc\n",
    colour=True,
)
@example(  # sequences right after the \r: gone with the rewrite for a pipe, or not
    data=b"".join(
        b"2026-11-25T16:00:19.290Z O a\r" + tail + b"\n"
        for tail in (b"\x1b[2K\x1b[1mb", b"\x1b[2K", b"\x1b[2K\rc", b"\x1b[2K\x1b", b"\x1b[2K\r")
    ),
    colour=False,
)
@example(
    data=b"2026-11-25T16:00:19.290Z O a\r\x1b[1mb\n2026-11-25T16:00:19.290Z O a\r\x1b[1m\n",
    colour=True,
)
@example(  # a line shaped like a log line whose "prefix" holds a \r
    data=b"\r\r\r\r\r\x1b[0m\x1b]0;t\x07\x1b]0;t\x07    # \n" * 2,
    colour=False,
)
def test_printed_text_is_the_line_by_line_way_byte_for_byte(data, colour):
    assert printable(data) == reference_printable(data)
    assert shown_text(data, colour) == careful(data, colour)


COLOURED = b"\x1b[32mINFO\x1b[0m upload 10%\r\x1b[1mupload 100%\x1b[0m ok"


@pytest.mark.parametrize(
    "lines",
    [
        # the bench's flood: one run per supervisor chunk, a progress line cut at its end
        [b"2026-11-25T16:00:19.290Z O " + COLOURED] * 5000
        + [b"2026-11-25T16:00:19.290Z o \x1b[32mINFO\x1b[0m upload 10%"]
        + [b"2026-11-25T16:00:19.301Z O " + COLOURED] * 3000,
        # many distinct progress states, stderr between, a CRLF line, a recurring prefix
        [
            b"2026-11-25T16:00:19.290Z %s %d%%\r\x1b[1m%d done\x1b[0m%s"
            % (b"E" if n % 997 == 0 else b"O", n, n, b"\r" if n % 13 == 0 else b"")
            for n in range(6000)
        ],
        [b"2026-11-25T16:00:19.290Z O \x1b[2K step %d\rok" % (n % 3) for n in range(9000)],
    ],
)
def test_long_runs_are_the_line_by_line_way(lines):
    data = b"\n".join(lines) + b"\n"
    assert printable(data) == reference_printable(data)
    for colour in (False, True):
        assert shown_text(data, colour) == careful(data, colour)
