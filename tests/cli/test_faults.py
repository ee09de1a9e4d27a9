"""Fault injection: every promise the cockpit makes, under the fault that would break it.

Run alone with ``pytest -m fault``; part of the normal suite and CI.
"""

from __future__ import annotations

import os
import random
import resource
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.config import check_config
from cockpit.journal import read_journal
from cockpit.runbook import check_runbook
from cockpit.session import RunSession
from cockpit.workspace import Workspace
from tests.helpers import cockpit_cmd, own_holders, phase_workspace

pytestmark = pytest.mark.fault

PHASE = """\
id: ship
title: Ship
steps:
  - id: one
    title: One
    commands:
      - run: "for i in 1 2 3; do echo one-$i; sleep 0.05; done"
  - id: two
    title: Two
    commands:
      - run: "for i in 1 2 3 4; do echo two-$i; sleep 0.08; done; sleep 0.2"
  - id: three
    title: Three
    commands:
      - run: "echo three; sleep 0.3; echo three-done"
"""


def workspace(tmp_path: Path, phase: str = PHASE, secrets: list[str] | None = None) -> Path:
    root = phase_workspace(tmp_path / "ws", {"ship.yaml": phase}, secrets=secrets or [])
    env = {**os.environ, "COCKPIT_OPERATOR": "ana"}
    subprocess.run(
        cockpit_cmd("--workspace", str(root), "start", "--type", "standard", "--version", "1.0.0"),
        check=True,
        capture_output=True,
        env=env,
    )
    return root


EXPECTED = {
    "one": ["one-1", "one-2", "one-3"],
    "two": ["two-1", "two-2", "two-3", "two-4"],
    "three": ["three", "three-done"],
}


def test_kill_9_at_20_random_moments(tmp_path):
    """Kill the driving cockpit at any moment: no command is stopped, lost or forgotten.

    The next headless run resumes (follows a step still running under its supervisor,
    records one that ended meanwhile, retries one that never started) and finishes the
    phase; every step's log has every line its command printed.
    """
    rng = random.Random(20261124)
    for attempt in range(20):
        root = workspace(tmp_path / f"a{attempt}")
        run = cockpit_cmd("--workspace", str(root), "run", "ship", "--headless", "--yes")
        proc = subprocess.Popen(run, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        time.sleep(rng.uniform(0.05, 1.4))
        os.kill(proc.pid, signal.SIGKILL)
        shown, _ = proc.communicate()
        journal = next(root.glob(".cockpit/runs/*/journal.jsonl"))
        events = read_journal(journal).events  # always loads
        done = {e["step"] for e in events if e["type"] == "step.finished" and e["state"] == "done"}
        shown_done = shown.count("# === step done")  # what the driver showed as done
        assert len(done) >= shown_done, (attempt, shown)
        again = subprocess.run(run, capture_output=True, text=True, timeout=60)
        assert again.returncode == 0, (attempt, shown, again.stdout, again.stderr)
        session = RunSession(Workspace.open(root), journal.parent.name)
        for step, lines in EXPECTED.items():
            st = session.state.step("ship", step)
            assert (st.state, st.exit_code) == ("done", 0), (attempt, step, st)
            log = session.log_path("ship", step).read_text().splitlines()
            printed = [line.split(" ", 2)[2] for line in log if line.split(" ")[1] == "O"]
            assert printed[-len(lines) :] == lines, (attempt, step, log)
        session.close()


def _limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))


def test_disk_full_while_logging_stops_the_step_and_says_why(tmp_path):
    flood = """\
id: ship
title: Ship
steps:
  - id: flood
    title: Flood
    commands:
      - run: "yes 'a line of output that will not fit' | head -n 200000; sleep 5; echo never"
"""
    root = workspace(tmp_path, flood)
    result = subprocess.run(
        cockpit_cmd("--workspace", str(root), "run", "ship", "--headless", "--yes"),
        capture_output=True,
        text=True,
        preexec_fn=_limit_file_size,
        timeout=120,
    )
    assert result.returncode == 1
    assert "cannot write the step log" in result.stdout
    events = read_journal(next(root.glob(".cockpit/runs/*/journal.jsonl"))).events
    finished = [e for e in events if e["type"] == "step.finished"][-1]
    assert finished["state"] == "failed"
    assert (
        "cannot write the step log" in finished["reason"] and "File too large" in finished["reason"]
    )
    token = next(e["token"] for e in events if e["type"] == "command.started")
    assert own_holders(token) == []  # the command was stopped: nothing may run unlogged


async def test_every_misbehaving_server_while_a_step_floods_the_app_stays_responsive(tmp_path):
    from cockpit.demo_sandbox import make_repo
    from cockpit.simservice import SimService
    from screens.app import CockpitApp
    from screens.checklist import ChecklistScreen
    from tests.helpers import until

    envs = ("hang", "reset", "huge", "garbage", "slow", "html", "flapping", "down")
    unanswered = ("hang", "reset", "garbage")  # never reached they read UNKNOWN: answer first
    with SimService(envs=envs, latency_s=0.05) as service:
        for env in envs:
            service.set_mode(env, "healthy" if env in unanswered else env)
        service.set_flap_period(0.2)
        root = tmp_path / "ws"
        root.mkdir()
        make_repo(root, [("init", "production-v1.0.0")])
        (root / "runbook").mkdir()
        (root / "runbook" / "ship.yaml").write_text(
            "id: ship\ntitle: Ship\nsections:\n  - title: Gates\n    items: [Tests are green]\n"
            "steps:\n  - id: flood\n    title: Flood\n    commands:\n"
            "      - run: \"for i in $(seq 1 30); do yes 'flooding the log' | head -n 20000; sleep 0.1; done\"\n"
        )
        config = {
            "runbook": "runbook",
            "environments": {e: {"url": service.url(e)} for e in envs},
            "health": {"interval": "50ms", "timeout": "500ms"},
        }
        (root / "cockpit.yaml").write_text(yaml.safe_dump(config))
        ws = Workspace.open(root)
        session = RunSession.start(ws, "standard", "1.0.0", operator="ana")
        app = CockpitApp(ws, session, follow_interval=0.05)
        async with app.run_test(size=(160, 48)) as pilot:
            await until(
                pilot,
                lambda: all(app.monitor.envs[e].state == "READY" for e in unanswered),
                "answered once",
                attempts=500,
            )
            for env in unanswered:
                service.set_mode(env, env)
            app.open_phase("ship")
            await until(pilot, lambda: type(app.screen).__name__ == "DeployScreen", "deploy screen")
            await pilot.press("r")
            await until(
                pilot, lambda: session.state.step("ship", "flood").state == "running", "flooding"
            )
            app.screen.action_checklist()  # while it floods, the operator works a checklist
            await until(pilot, lambda: isinstance(app.screen, ChecklistScreen), "checklist opens")
            await pilot.pause()
            await pilot.press("space")
            await until(
                pilot, lambda: session.state.item("ship", "tests-are-green").checked, "tick lands"
            )
            await until(
                pilot,
                lambda: (
                    all(app.monitor.envs[e].probes >= 2 for e in envs)
                    and all(app.monitor.envs[e].state == "DOWN" for e in unanswered)
                ),
                "every env polled",
                attempts=500,
            )
            states = {e: app.monitor.envs[e].state for e in envs}
            assert (
                states["hang"] == states["reset"] == states["garbage"] == states["down"] == "DOWN"
            )
            assert states["huge"] == states["html"] == "DEGRADED"
            await until(
                pilot,
                lambda: session.state.step("ship", "flood").state == "done",
                "flood done",
                attempts=1000,
            )
        session.close()


SECTION_KEYS = ["title", "items", "kind", "role", "release_types", "due", "bogus"]
ITEM_KEYS = ["text", "id", "role", "auto", "note_required", "release_types", "extra"]
STEP_KEYS = ["id", "title", "budget", "confirm", "commands", "checks", "zz"]
values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 10**6)
    | st.text(max_size=20)
    | st.sampled_from(
        ["15m", "1h30m", "2h-4h", "fifteen", "{migrate} --env PROD", "{nope}", "staging"]
    ),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
item = st.one_of(
    st.text(max_size=30), st.dictionaries(st.sampled_from(ITEM_KEYS), values, max_size=4)
)
section = st.dictionaries(
    st.sampled_from(SECTION_KEYS), values | st.lists(item, max_size=3), max_size=4
)
step = st.dictionaries(st.sampled_from(STEP_KEYS), values | st.lists(item, max_size=2), max_size=5)
phase = st.fixed_dictionaries(
    {},
    optional={
        "id": st.sampled_from(["a", "b", "Bad Id", "a"]) | values,
        "title": st.text(max_size=10) | values,
        "after": st.lists(st.sampled_from(["a", "b", "c"]), max_size=2) | values,
        "sections": st.lists(section, max_size=2) | values,
        "steps": st.lists(step, max_size=2) | values,
        "release_types": st.lists(st.sampled_from(["standard", "hotfix", "weekly"]), max_size=2),
    },
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(phases=st.lists(phase, min_size=1, max_size=3), raw=st.binary(max_size=64))
def test_loader_fuzzed_never_a_traceback_always_a_line(tmp_path_factory, phases, raw):
    folder = tmp_path_factory.mktemp("fuzz")
    config, _ = check_config(Path(__file__).resolve().parents[2] / "checklists" / "cockpit.yaml")
    files = []
    for n, data in enumerate(phases):
        path = folder / f"{n}.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True))
        files.append(path)
    junk = folder / "junk.yaml"
    junk.write_bytes(raw)
    files.append(junk)
    _, errors = check_runbook(files, config)  # must not raise
    for error in errors:
        assert error.file and error.line >= 0 and error.message
        assert "Traceback" not in error.message


def test_second_driver_is_told_who_drives_and_offered_watch(tmp_path):
    root = workspace(tmp_path)
    holder = subprocess.Popen(
        cockpit_cmd("--workspace", str(root), "run", "ship", "--headless", "--yes"),
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "COCKPIT_OPERATOR": "dana"},
    )
    journal = next(root.glob(".cockpit/runs/*/journal.jsonl"))
    for _ in range(200):
        if any(e["type"] == "lock.acquired" for e in read_journal(journal).events):
            break
        time.sleep(0.02)
    second = subprocess.run(
        cockpit_cmd("--workspace", str(root), "run", "ship", "--headless", "--yes"),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    holder.wait(timeout=60)
    assert second.returncode == 2
    assert "this run is being driven by dana" in second.stderr


def test_secrets_never_reach_disk(tmp_path, monkeypatch):
    secret = "s3cr3t-VALUE-7f6e5d"
    phase = """\
id: ship
title: Ship
steps:
  - id: leak
    title: Leak
    commands:
      - run: 'echo "token=$DEPLOY_TOKEN"; echo "$DEPLOY_TOKEN" >&2; exit 1'
"""
    monkeypatch.setenv("DEPLOY_TOKEN", secret)
    root = workspace(tmp_path, phase, secrets=["DEPLOY_TOKEN"])
    env = {**os.environ, "DEPLOY_TOKEN": secret, "COCKPIT_OPERATOR": "ana"}
    subprocess.run(
        cockpit_cmd("--workspace", str(root), "run", "ship", "--headless", "--yes"),
        env=env,
        capture_output=True,
    )
    subprocess.run(
        cockpit_cmd("--workspace", str(root), "check", "ship", "x", "--note", f"used {secret}"),
        env=env,
        capture_output=True,
    )
    session = RunSession(Workspace.open(root), next(root.glob(".cockpit/runs/*")).name)
    session.write(session.plan_rollback_target(secret))  # even an operator's typo lands masked
    written = [p for p in (root / ".cockpit").rglob("*") if p.is_file()]
    assert len(written) >= 3
    for path in written:
        assert secret not in path.read_text(errors="replace"), path
    assert "token=***" in next(root.glob(".cockpit/runs/*/logs/ship/leak.log")).read_text()


CONFIG_KEYS = ["runbook", "environments", "health", "vars", "secrets", "notify", "extra"]
config_doc = st.dictionaries(
    st.sampled_from(CONFIG_KEYS),
    values
    | st.dictionaries(
        st.sampled_from(
            [
                "staging",
                "url",
                "interval",
                "timeout",
                "p95_budget",
                "window",
                "path",
                "slack_webhook",
                "bad key",
                "x",
            ]
        ),
        values,
        max_size=4,
    ),
    max_size=6,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(doc=config_doc)
def test_config_fuzzed_never_a_traceback(tmp_path_factory, doc):
    path = tmp_path_factory.mktemp("cfg") / "cockpit.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    config, errors = check_config(path)  # must not raise
    assert (config is None) == bool(errors)  # a model exactly when there is no error
    for error in errors:
        assert error.line >= 0 and error.message
