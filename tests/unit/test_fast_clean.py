"""The whole-block cleaning of command output gives byte for byte what the line-by-line
(careful) way gives: for headless stdout (``clean_chunk``) and for the step log's masking
of a secret split by control characters (``StepLog.mask``)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cockpit import termtext
from cockpit.secrets import Redactor
from cockpit.supervisor import StepLog
from cockpit.termtext import _clean_block, _marker_plan, clean_chunk, clean_lines

HEADLESS = (b"  ", b"! ", b"# ")
"""The markers headless puts in front of a line (stdout, stderr, the supervisor's notes)."""

# pieces that make the cases the fast passes have to get exactly right
TRICKY = [
    b"\x1b",
    b"[",
    b"]",
    b"\r",
    b"\n",
    b"\r\n",
    b"\x07",
    b"\x00",
    b"\x08",
    b"\x7f",
    b"\t",
    b"\\",
    b"m",
    b"0",
    b"1",
    b";",
    b":",
    b"?",
    b"(",
    b"B",
    b"P",
    b"X",
    b"^",
    b"_",
    b"H",
    b"32",
    b" ",
    b"  ",
    b"! ",
    b"# ",
    b"!",
    b"#",
    b"a",
    b"ok",
    b"\xc2\x9b",
    b"\xc2\x85",
    b"\xc2",
    b"\x9b",
    b"\xff",
    b"\xe2\x82",
    b"\xac",
    "é".encode(),
    "✓".encode(),
    b"\x1b[32m",
    b"\x1b[0m",
    b"\x1b[1m",
    b"\x1b[m",
    b"\x1b[2K",
    b"\x1b[1;38;2;1;2;3m",
    b"\x1b[?25l",
    b"\x1b[ q",
    b"\x1b(B",
    b"\x1b7",
    b"\x1bc",
    b"\x1b\\",
    b"\x1b]0;t\x07",
    b"\x1b]8;;u\x1b\\",
    b"\x1bPq\x1b\\",
    b"\x1b[12",
    b"hunter2",
    b"hun",
    b"ter2",
]
# what real output mostly holds: the fast passes must take these, not fall back
USUAL = [
    b"\n",
    b"\r",
    b"\r\n",
    b"\t",
    b" ",
    b"  ",
    b"! ",
    b"# ",
    b"a",
    b"10%",
    b"upload ok",
    "é".encode(),
    b"\xff",
    b"\x1b[32m",
    b"\x1b[0m",
    b"\x1b[1m",
    b"\x1b[m",
    b"\x1b[2K",
    b"\x1b[1;31m",
    b"\x1b(B",
    b"\x1b[?25l",
    b"\x1b[3A",
    b"\x1b7",
    b"\x1b[38;5;200m",
]

tricky = st.lists(st.sampled_from(TRICKY), max_size=60).map(b"".join)
# single bytes that removing one sequence could join into another (``\x1b`` + ``\x1b0`` + ``0``)
joins = st.lists(
    st.sampled_from(
        [
            b"\x1b",
            b" ",
            b"0",
            b"1",
            b"[",
            b"m",
            b";",
            b"(",
            b"B",
            b"\r",
            b"\n",
            b"  ",
            b"\x1b0",
            b"\x1b 0",
            b"\x1b(B",
            b"\x1b[0m",
            b"\x1b[1m",
            b"[0m",
            b"0m",
            b"(B",
        ]
    ),
    max_size=30,
).map(b"".join)
usual = st.lists(st.sampled_from(USUAL), max_size=80).map(b"".join)
anything = st.one_of(tricky, usual, joins, st.binary(max_size=200))
markers = st.sampled_from([(), HEADLESS, (b"! ",), (b"#",), (b"!", b"! ")])

COLOURED = b"\x1b[32mINFO\x1b[0m upload 10%\r\x1b[1mupload 100%\x1b[0m ok"


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of a few bytes, so that block boundaries fall everywhere."""
    monkeypatch.setattr(termtext, "_BLOCK", 7)


@settings(max_examples=1500, deadline=None)
@given(data=anything, colour=st.booleans(), marks=markers)
@example(data=b"  " + COLOURED + b"\n", colour=False, marks=HEADLESS)
@example(data=b"\x1b\x1b[0m[1m\x1b[0m\n", colour=False, marks=())
@example(data=b"X\r  Y\rZ\nA\r  B\n", colour=False, marks=HEADLESS)
@example(data=b"\x1b0\x1b 0\x1b\x1b 00\n", colour=False, marks=HEADLESS)  # joined anew
@example(data=b"\xe2\x1b[0m\x82\xac\n", colour=True, marks=())
@example(data=b"  a\r\r\n! \r\r\n\r", colour=False, marks=HEADLESS)
def test_clean_chunk_is_the_careful_way_byte_for_byte(data, colour, marks):
    assert clean_chunk(data, colour, marks) == clean_lines(data, colour, marks)


@settings(
    max_examples=800, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=anything, colour=st.booleans(), marks=markers)
def test_block_boundaries_anywhere_change_nothing(small_blocks, data, colour, marks):
    assert clean_chunk(data, colour, marks) == clean_lines(data, colour, marks)


@settings(max_examples=1500, deadline=None)
@given(data=st.one_of(usual, tricky), colour=st.booleans(), marks=markers)
def test_a_block_the_fast_passes_take_is_cleaned_exactly(data, colour, marks):
    plan = _marker_plan(marks)
    if plan is None:
        return
    block = b"\n" + data
    fast = _clean_block(block, colour, plan)
    if fast is not None:
        assert fast == clean_lines(block, colour, marks)


@settings(max_examples=3000, deadline=None)
@given(data=joins, colour=st.booleans(), marks=markers)
def test_sequences_joined_by_a_removal_are_never_taken_for_real_ones(data, colour, marks):
    assert clean_chunk(data, colour, marks) == clean_lines(data, colour, marks)


@pytest.mark.parametrize(
    "line",
    [
        b"  " + COLOURED,  # the bench's line
        b"! " + COLOURED,
        b"  windows line\r",
        b"  \x1b(B\x1b[m plain after tput sgr0",
        b"  \x1b[2K\x1b[1Gdownloading 45%\r\x1b[2K\x1b[1Gdownloading 46%",
        b"  caf\xe9 latin-1\r\x1b[1mdone\x1b[0m",
        "  ✓ unicode \x1b[32mgreen\x1b[0m".encode(),
    ],
)
def test_usual_output_takes_the_fast_passes(line):
    plan = _marker_plan(HEADLESS)
    assert plan is not None
    block = b"\n" + b"\n".join([line] * 50) + b"\n"
    for colour in (False, True):
        fast = _clean_block(block, colour, plan)
        assert fast is not None, line
        assert fast == clean_lines(block, colour, HEADLESS)


def test_many_distinct_progress_states_and_sequences_stay_exact():
    lines = [
        f"  \x1b[{n % 40};{n % 7}mstep {n}\x1b[0m {n}%\r\x1b[{n}Cdone {n}".encode()
        for n in range(3000)
    ]
    data = b"\n".join(lines) + b"\n"
    for colour in (False, True):
        assert clean_chunk(data, colour, HEADLESS) == clean_lines(data, colour, HEADLESS)


def test_many_distinct_rewrites_then_a_line_without_a_marker():
    lines = [b"  state %d\rdone %d" % (n, n) for n in range(12)] + [b"zz\rY", b"! e\r\rE"]
    data = b"\n".join(lines * 3) + b"\n"
    plan = _marker_plan(HEADLESS)
    assert plan is not None
    assert _clean_block(b"\n" + data, False, plan, checked=True) is not None
    for colour in (False, True):
        assert clean_chunk(data, colour, HEADLESS) == clean_lines(data, colour, HEADLESS)
        assert b"\r" not in clean_chunk(data, colour, HEADLESS)


def test_a_bad_line_is_cleaned_the_careful_way_and_the_rest_fast():
    data = (b"  " + COLOURED + b"\n") * 20_000 + b"  \x1b]2;title\x07bell\x07 nul\x00\n"
    for colour in (False, True):
        assert clean_chunk(data, colour, HEADLESS) == clean_lines(data, colour, HEADLESS)


# -- the step log's masking -------------------------------------------------------------

SECRETS = ["hunter2", "s3cr\x1bt", "tok\ren"]


def careful_mask(log: StepLog, data: bytes) -> bytes:
    """``StepLog.mask`` as it was: every line with a control byte cleaned in Python."""
    for secret in log._secrets:
        if secret in data:
            data = data.replace(secret, b"***")
    data = termtext_mask_userinfo(data)
    if log._secrets and termtext.has_controls(data):
        lines = data.split(b"\n")
        for n, line in enumerate(lines):
            if termtext.has_controls(line):
                text = termtext.plain(line.decode("utf-8", "replace")).encode()
                if any(secret in text for secret in log._secrets):
                    lines[n] = careful_mask(log, text)
        data = b"\n".join(lines)
    return data


def termtext_mask_userinfo(data: bytes) -> bytes:
    from cockpit.secrets import mask_userinfo_bytes

    return mask_userinfo_bytes(data)


@pytest.fixture(scope="module")
def step_log(tmp_path_factory):
    log = StepLog(tmp_path_factory.mktemp("mask") / "s.log", Redactor(SECRETS))
    yield log
    log.close()


@settings(
    max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=anything)
@example(data=b"coloured hun\x1b[0mter2\nnul hun\x00ter2\nfine\x1b[1m!\n")
@example(data=b"hun\x1b[1m\rhunter2\x1b[0m\n" * 3)
@example(data=b"https://ops:pw@host hun\x1b[0mter2\n")
def test_masking_is_the_careful_way_byte_for_byte(step_log, data):
    assert step_log.mask(data) == careful_mask(step_log, data)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    before=st.binary(max_size=40),
    cut=st.integers(min_value=1, max_value=6),
    after=st.sampled_from([b"", b"\x1b[0m", b"\x1b[1m\r", b"\r\x1b[32m"]),
)
def test_a_secret_across_the_endless_line_cut_is_masked(step_log, before, cut, after):
    """An endless line is cut, masked, keeping back ``keep_back`` bytes (as the supervisor's
    ``_copy`` does): a secret the cut falls in is masked whole when the rest arrives, the
    same as the careful way."""
    secret = b"hunter2"
    first = b"x" * 16 + before.replace(b"\n", b"") + secret[:cut]
    logged = []
    for mask in (step_log.mask, lambda data: careful_mask(step_log, data)):
        data = mask(first)
        end = len(data) - step_log.keep_back
        logged.append(data[:end] + mask(data[end:] + secret[cut:] + after + b" after\n"))
    assert logged[0] == logged[1]
    assert b"hunter2" not in logged[0]
