"""Bad input is a sentence: every file a team writes and every URL given on the command line
is refused as `FILE:LINE: message` (or one line naming the argument) and exit 2 — never a
traceback, never "ok", never silence. Hostile ready endpoints are judged in words.

The `cockpit` command as a real process; real loopback HTTP servers; nothing monkeypatched.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import cockpit_cmd, phase_workspace
from tests.unit.test_fail_closed import NESTS, hostile_server

PHASE = """\
id: ship
title: Ship
steps:
  - id: one
    title: One
    budget: 5m
    commands:
      - run: "echo one"
"""


def cockpit(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COCKPIT_OPERATOR": "ana"}
    return subprocess.run(
        cockpit_cmd(*args), cwd=cwd, capture_output=True, text=True, timeout=60, env=env
    )


def refused(result: subprocess.CompletedProcess, *lines: str) -> None:
    """Exit 2, each expected line on stderr, no traceback."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    for line in lines:
        assert line in result.stderr.splitlines(), (line, result.stderr)


def workspace(tmp_path: Path, **config: object) -> Path:
    return phase_workspace(tmp_path / "ws", {"10-ship.yaml": PHASE}, **config)


# -- empty, null and deep files -------------------------------------------------------------


@pytest.mark.parametrize("text", ["~\n", "null\n", "---\n", "", "# only a comment\n"])
def test_an_empty_or_null_config_is_refused_by_every_command(tmp_path, text):
    root = workspace(tmp_path)
    (root / "cockpit.yaml").write_text(text)
    line = "cockpit.yaml:1: the file is empty; expected a mapping"
    refused(cockpit(root, "validate"), line)
    for args in (["start", "--type", "standard"], ["status"], ["health"]):
        refused(cockpit(root, *args), line)


@pytest.mark.parametrize("text", ["~\n", "null\n"])
def test_a_null_phase_file_is_an_error_not_skipped(tmp_path, text):
    root = workspace(tmp_path)
    (root / "runbook" / "20-nothing.yaml").write_text(text)
    refused(
        cockpit(root, "validate"),
        "runbook/20-nothing.yaml:1: the file is empty; expected a mapping",
    )
    refused(
        cockpit(root, "start", "--type", "standard"),
        "runbook/20-nothing.yaml:1: the file is empty; expected a mapping",
    )


def test_yaml_nesting_past_64_levels_is_a_sentence(tmp_path):
    root = workspace(tmp_path)
    (root / "runbook" / "20-flow.yaml").write_text(
        "id: flow\ntitle: Flow\nsteps: " + "[" * 500 + "]" * 500 + "\n"
    )
    block = "id: block\ntitle: Block\nsections:\n" + "".join(
        "  " * depth + "- k:\n" for depth in range(1, 200)
    )
    (root / "runbook" / "30-block.yaml").write_text(block)
    refused(
        cockpit(root, "validate"),
        "runbook/20-flow.yaml:3: nests deeper than 64 levels; a runbook or config needs far fewer",
        "runbook/30-block.yaml:35: nests deeper than 64 levels; a runbook or config needs far "
        "fewer",
    )
    (root / "cockpit.yaml").write_text("vars: " + "[" * 500 + "\n")
    deep_config = "cockpit.yaml:1: nests deeper than 64 levels; a runbook or config needs far fewer"
    refused(cockpit(root, "validate"), deep_config)
    refused(cockpit(root, "status"), deep_config)


def test_aliases_that_expand_to_a_billion_values_are_a_sentence(tmp_path):
    root = workspace(tmp_path)
    laughs = ["a: &a [" + ", ".join(["x"] * 10) + "]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        laughs.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    (root / "runbook" / "20-laughs.yaml").write_text("\n".join(laughs) + "\nid: l\ntitle: L\n")
    refused(  # at once, not after expanding 10**9 values
        cockpit(root, "validate"),
        "runbook/20-laughs.yaml:5: expands to more than 100000 values (through YAML aliases); "
        "a runbook or config needs far fewer",
    )


# -- URLs and durations ---------------------------------------------------------------------

BAD_URLS = {
    "port_high": ("http://127.0.0.1:99999", "port '99999' is not a number from 1 to 65535"),
    "port_zero": ("http://127.0.0.1:0", "port '0' is not a number from 1 to 65535"),
    "port_word": ("http://127.0.0.1:18001 x", "port '18001 x' is not a number from 1 to 65535"),
    "idna": (
        "http://xn--a.com",
        "host name 'xn--a.com' is not a valid internationalised (IDNA) name",
    ),
    "query": ("http://127.0.0.1:18001/?q=1", "has a query or fragment"),
    "fragment": ("https://example.com/#top", "has a query or fragment"),
}


def test_environment_urls_no_probe_could_use_are_errors_with_their_line(tmp_path):
    root = workspace(tmp_path, environments={k: {"url": u} for k, (u, _) in BAD_URLS.items()})
    result = cockpit(root, "validate")
    refused(result)
    config_lines = (root / "cockpit.yaml").read_text().splitlines()
    for name, (url, words) in BAD_URLS.items():
        line = next(n for n, text in enumerate(config_lines, 1) if text.strip() == f"{name}:")
        expected = f"cockpit.yaml:{line + 1}: environments.{name}.url: {url!r}"
        found = [ln for ln in result.stderr.splitlines() if ln.startswith(expected)]
        assert found and words in found[0], (expected, words, result.stderr)


@pytest.mark.parametrize(("_name", "case"), BAD_URLS.items())
def test_health_env_urls_are_checked_the_same_way(tmp_path, _name, case):
    url, words = case
    result = cockpit(tmp_path, "health", "--env", f"x={url}")
    refused(result)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("cockpit: --env x: ")
    assert words in result.stderr


def test_a_bad_url_is_refused_without_showing_its_password(tmp_path):
    bad = "http://ops:S3CRETPW@127.0.0.1:99999"
    result = cockpit(tmp_path, "health", "--env", f"x={bad}")
    refused(result)
    assert result.stderr.startswith("cockpit: --env x: 'http://ops:***@127.0.0.1:99999': port")
    root = workspace(
        tmp_path,
        environments={"production": {"url": bad}},
        notify={"slack_webhook": "htps://hooks.example/T0/B0/WEBHOOKSECRET"},
    )
    result = cockpit(root, "validate")
    refused(result)
    assert "environments.production.url: 'http://ops:***@127.0.0.1:99999': port" in result.stderr
    assert "the webhook URL (not shown: it is a credential) is not an http(s)" in result.stderr
    assert "S3CRETPW" not in result.stderr and "WEBHOOKSECRET" not in result.stderr


def test_zero_and_negative_durations_are_refused(tmp_path):
    root = workspace(tmp_path, health={"timeout": "0s", "interval": "0s", "p95_budget": "-1s"})
    refused(
        cockpit(root, "validate"),
        "cockpit.yaml:3: health.interval: duration '0s' must be more than zero "
        "(like 90s, 15m or 1h)",
        "cockpit.yaml:4: health.p95_budget: duration '-1s' must be more than zero "
        "(like 90s, 15m or 1h)",
        "cockpit.yaml:5: health.timeout: duration '0s' must be more than zero "
        "(like 90s, 15m or 1h)",
    )
    (root / "cockpit.yaml").write_text("runbook: runbook\nenvironments: {}\n")
    (root / "runbook" / "10-ship.yaml").write_text(
        PHASE.replace("budget: 5m", "budget: 0s").replace(
            '      - run: "echo one"\n', '      - run: "echo one"\n        timeout: -5s\n'
        )
    )
    refused(
        cockpit(root, "validate"),
        "runbook/10-ship.yaml:6: steps[0].budget: duration '0s' must be more than zero "
        "(like 90s, 15m or 1h)",
        "runbook/10-ship.yaml:9: steps[0].commands[0].timeout: duration '-5s' must be more "
        "than zero (like 90s, 15m or 1h)",
    )
    (root / "cockpit.yaml").write_text(
        "runbook: runbook\nenvironments: {}\nhealth: {interval: 99999999999999999999999h}\n"
    )
    refused(  # a typo that would sleep for ever
        cockpit(root, "validate"),
        "cockpit.yaml:3: health.interval: duration '99999999999999999999999h' is longer than "
        "a year",
    )


# -- hostile endpoints and the last resort --------------------------------------------------


def test_health_judges_hostile_answers_in_words(tmp_path):
    with hostile_server() as base:
        result = cockpit(
            tmp_path,
            "health",
            "--json",
            *("--env", f"deep={base}/deep"),
            *("--env", f"empty={base}/empty"),
            *("--env", f"text={base}/text"),
            *("--env", f"ok={base}/ok"),
        )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    doc = {d["env"]: d for d in json.loads(result.stdout)}
    assert {k: d["state"] for k, d in doc.items()} == {
        "deep": "DEGRADED",
        "empty": "DEGRADED",
        "text": "DEGRADED",
        "ok": "READY",
    }
    said = result.stderr.splitlines()
    assert any(ln.startswith(f"deep is DEGRADED: {NESTS}") for ln in said), said
    assert any(ln.startswith("empty is DEGRADED: 2xx but the body is empty") for ln in said)
    assert any(ln.startswith("text is DEGRADED: 2xx but the body is not JSON") for ln in said)


def test_an_error_is_one_line_and_debug_adds_the_traceback(tmp_path):
    """An error is one line in words and exit 2 (ticking an item of a phase the runbook
    does not have); with --debug, the traceback too, for a bug report."""
    root = workspace(tmp_path)
    assert cockpit(root, "start", "--type", "standard").returncode == 0
    plain = cockpit(root, "check", "no-such-phase", "no-such-item")
    refused(plain)
    assert plain.stderr.startswith("cockpit: ") and plain.stderr.count("\n") == 1
    assert "no phase 'no-such-phase'" in plain.stderr
    debug = cockpit(root, "--debug", "check", "no-such-phase", "no-such-item")
    assert debug.returncode != 0 and "Traceback (most recent call last)" in debug.stderr


@pytest.mark.parametrize(
    "args", [(), ("run", "ship"), ("watch",), ("demo",)], ids=["tui", "run", "watch", "demo"]
)
def test_the_screen_is_refused_without_a_terminal(tmp_path, args):
    """Piped or in CI, the app would write escape sequences into a file: it says so instead,
    and names the commands that work there."""
    root = phase_workspace(tmp_path / "ws", {"ship.yaml": PHASE})
    cli = cockpit_cmd("--workspace", str(root))
    subprocess.run([*cli, "start", "--type", "standard"], check=True, capture_output=True)
    out = subprocess.run(
        [*cli, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60
    )
    assert out.returncode == 2 and out.stdout == ""
    assert "needs a terminal" in out.stderr and "--headless" in out.stderr
    assert "\x1b" not in out.stderr


def test_a_bad_config_hides_no_runbook_mistake(tmp_path):
    """``cockpit validate`` with a config that fails still checks the runbook it names:
    every problem in one run."""
    from tests.helpers import run_cli

    root = tmp_path / "ws"
    (root / "runbook").mkdir(parents=True)
    (root / "cockpit.yaml").write_text("runbook: runbook\nvarz: {a: 1}\n")
    (root / "runbook" / "go.yaml").write_text(
        "id: go\ntitle: Go\nsections:\n  - title: S\n    itemz: [One]\n"
    )
    out = run_cli(root, "validate")
    assert out.returncode == 2
    assert "cockpit.yaml:2: unknown key 'varz'" in out.stderr
    assert "go.yaml:5: unknown key 'itemz'" in out.stderr
    assert "Traceback" not in out.stderr
