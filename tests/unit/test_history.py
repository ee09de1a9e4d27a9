"""Release history over generated runs of a platform team's runbook: outcomes, the
runbook's success metrics against targets, bottlenecks, the DORA keys (lead time from a
real git repository), the cache, ``--since``, ``--json`` and ``--export``."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bench.history_runs import Spec, deployed, platform_workspace, write_run
from cockpit.history import Reader
from cockpit.review import history, text
from cockpit.workspace import Workspace
from tests.helpers import cockpit_cmd

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _rolled_back(day: float, version: str, previous: str) -> Spec:
    spec = deployed(day, version, previous, 20)
    spec.decision = (40, "rollback")
    spec.steps += [
        ("revert", "revert-fleet", 45, 55, "done"),
        ("revert", "confirm-revert", 55, 58, "done"),
    ]
    spec.closed = 70
    return spec


def month(state: Path) -> None:
    """Seven runs: two succeeded (one later hotfixed), one rolled back, the hotfix, one
    failed, one abandoned, one in progress."""
    write_run(state, deployed(0, "1.1.0", "1.0.0", 30))
    write_run(state, _rolled_back(2, "1.2.0", "1.1.0"))
    hotfix = Spec(3, "1.2.1", type="hotfix", previous="1.1.0", closed=60)
    hotfix.steps = [("ship", "migrate", 5, 8, "done"), ("ship", "rollout", 8, 50, "done")]
    write_run(state, hotfix)
    write_run(state, deployed(4, "1.3.0", "1.2.1", 40, filler=500))
    write_run(
        state, Spec(5, "1.4.0", previous="1.3.0", steps=[("ship", "migrate", 5, 9, "failed")])
    )
    write_run(state, Spec(6, "1.4.0", previous="1.3.0", closed=3))
    write_run(state, Spec(7, "1.5.0", previous="1.3.0", steps=[("ship", "migrate", 5, 9, "done")]))


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    root = platform_workspace(tmp_path / "ws")
    (root / ".cockpit").mkdir(mode=0o700)
    month(root / ".cockpit")
    return Workspace.open(root)


def test_outcomes_metrics_and_dora_have_exact_values(ws: Workspace) -> None:
    doc, _ = history(ws, NOW)
    outcomes = [(r["version"], r["outcome"], r["hotfix_after"]) for r in doc["runs"]]
    assert outcomes == [
        ("1.1.0", "succeeded", "1.2.1"),  # the hotfix branched from its production tag
        ("1.2.0", "rolled back", None),
        ("1.2.1", "succeeded", None),
        ("1.3.0", "succeeded", None),
        ("1.4.0", "failed", None),  # superseded by the next run: over, not in progress
        ("1.4.0", "abandoned", None),
        ("1.5.0", "in progress", None),
    ]
    m = doc["metrics"]
    assert (m["releases"], m["in_progress"], m["deployments"]) == (6, 1, 5)
    assert m["deployment_success_rate"]["value"] == 60.0  # 3 of 5
    assert m["deployment_success_rate"]["met"] is False
    assert m["rollback_rate"]["value"] == 20.0
    assert m["incidents_per_release"]["value"] == 0.2  # one decision in five deployments
    assert m["incidents_per_release"]["met"] is True
    # deployments that finished: 30, 20, 45, 40 minutes
    assert m["deployment_time_median_s"]["value"] == 35 * 60
    assert m["deployment_time_p90_s"]["value"] == 45 * 60
    assert m["deployment_time_p90_s"]["met"] is True
    d = doc["dora"]
    assert d["deployment_frequency"]["deployments"] == 4
    assert d["change_failure_rate"]["value"] == 50.0  # 1.1.0 hotfixed, 1.2.0 rolled back
    assert d["time_to_restore"]["median_s"] == 18 * 60  # decided at 40, verified at 58
    assert d["lead_time_for_changes"]["median_s"] is None  # no tags in this repository


def test_bottlenecks_put_the_step_over_budget_first(ws: Workspace) -> None:
    doc, _ = history(ws, NOW)
    first = doc["bottlenecks"][0]
    # rollout: 15, 10, 42, 20 minutes → median 17.5 within its 20m budget; migrate: 15, 10,
    # 3, 20, 4, 4 → median 7m of 10m. Nothing is over budget, so the nearest to it leads.
    assert (first["step"], first["runs"], first["median_s"]) == ("rollout", 4, 17.5 * 60)
    assert first["over_budget"] is False and first["overruns"] == 1
    by_step = {b["step"]: b for b in doc["bottlenecks"]}
    assert by_step["migrate"]["overruns"] == 2  # 15m and 20m against 10m


def test_nothing_is_scored_before_there_is_something_to_score(tmp_path: Path) -> None:
    root = platform_workspace(tmp_path / "ws")
    (root / ".cockpit").mkdir(mode=0o700)
    write_run(root / ".cockpit", Spec(0, "1.0.0", closed=5))  # abandoned before deploying
    doc, _ = history(Workspace.open(root), NOW)
    m = doc["metrics"]
    assert m["deployments"] == 0
    for key in ("deployment_success_rate", "rollback_rate", "deployment_time_median_s"):
        assert m[key]["value"] is None and m[key]["met"] is None
    assert "not scored yet" in text(doc)
    assert "NOT MET" not in text(doc)


def test_since_keeps_the_runs_of_the_month(ws: Workspace) -> None:
    doc, _ = history(ws, NOW, since=date(2026, 11, 7))
    assert [r["version"] for r in doc["runs"]] == ["1.4.0", "1.4.0", "1.5.0"]
    assert doc["metrics"]["deployments"] == 1  # the failed one
    # the outcome is still judged against every later run, not only those of the period
    assert doc["runs"][0]["outcome"] == "failed"


def test_records_are_cached_and_read_again_when_the_journal_grows(ws: Workspace) -> None:
    first = Reader(ws, NOW)
    first.records()
    assert first.read == 7
    again = Reader(ws, NOW)
    records = again.records()
    assert again.read == 0  # none has a step running: every record came from the cache
    journal = ws.run_dir(records[0].id) / "journal.jsonl"
    with open(journal, "a") as fh:
        fh.write(
            '{"v":1,"ts":"2026-11-02T11:00:00.000+00:00","type":"decision.recorded",'
            '"by":"Dana","choice":"fix-forward","rationale":"r","commander":"I","criteria":[]}\n'
        )
    third = Reader(ws, NOW)
    records = third.records()
    assert third.read == 1  # the journal that grew
    assert len(records[0].decisions) == 1


def test_a_torn_line_is_a_warning_not_a_failure(ws: Workspace) -> None:
    journal = next(ws.runs_dir.glob("*1.1.0/journal.jsonl"))
    with open(journal, "a") as fh:
        fh.write('{"v":1,"ts":"2026-11-02T12:00:00.000+00:00","type":"step.fini')
    doc, _ = history(ws, NOW)
    assert doc["runs"][0]["outcome"] == "succeeded"
    assert any("not JSON" in w for w in doc["warnings"])


def test_every_damaged_line_is_a_warning_with_its_line_number(ws: Workspace) -> None:
    journal = next(ws.runs_dir.glob("*1.1.0/journal.jsonl"))
    lines = journal.read_bytes().splitlines(keepends=True)
    lines.insert(2, b"@@@ disk hiccup @@@\n")
    lines.append(b"\x00\x00garbage\n")
    journal.write_bytes(b"".join(lines))
    doc, _ = history(ws, NOW)
    assert doc["runs"][0]["outcome"] == "succeeded"
    said = [w for w in doc["warnings"] if str(journal) in w]
    assert [w.split(":")[1] for w in said] == ["3", str(len(lines))]


def test_a_deployment_still_running_counts_up_to_now_and_has_no_end(tmp_path: Path) -> None:
    root = platform_workspace(tmp_path / "ws")
    (root / ".cockpit").mkdir(mode=0o700)
    spec = Spec(0, "2.0.0", steps=[("ship", "migrate", 5, 10, "done")])
    journal = write_run(root / ".cockpit", spec)
    with open(journal, "a") as fh:  # the rollout started at minute 10 and runs on
        fh.write(
            '{"v":1,"ts":"2026-11-02T09:10:00.000+00:00","type":"step.started","by":"Dana",'
            '"phase":"ship","step":"rollout","attempt":1}\n'
        )
    now = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    doc, _ = history(Workspace.open(root), now)
    run = doc["runs"][0]
    assert (run["outcome"], run["deployment_running"]) == ("in progress", True)
    assert run["deployment_s"] == 25 * 60  # from minute 5 to now, not to the last line
    assert run["ended_at"] is None
    assert "running 25m" in text(doc)


def test_an_export_folder_that_cannot_be_written_is_said_in_words(
    ws: Workspace, tmp_path: Path
) -> None:
    done = subprocess.run(
        cockpit_cmd("--workspace", str(ws.root), "history", "--export", "/proc/nope"),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "--export /proc/nope: cannot write there" in done.stderr
    assert "unexpected" not in done.stderr


def _commit(repo: Path, message: str, when: str) -> None:
    env = os.environ | {"GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when}
    env |= {"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@x", "GIT_COMMITTER_NAME": "a"}
    env |= {"GIT_COMMITTER_EMAIL": "a@x"}
    subprocess.run(
        ["git", "-C", str(repo), "commit", "-q", "--allow-empty", "-m", message],
        check=True,
        env=env,
    )


def test_lead_time_runs_from_each_commit_to_its_production_deployment(tmp_path: Path) -> None:
    root = platform_workspace(tmp_path / "ws")
    (root / ".cockpit").mkdir(mode=0o700)
    _commit(root, "base", "2026-11-01T09:00:00+00:00")
    subprocess.run(["git", "-C", str(root), "tag", "production-v1.0.0"], check=True)
    _commit(root, "feat: one", "2026-11-01T12:00:00+00:00")  # 21h05m+25m before the end
    _commit(root, "fix: two", "2026-11-02T08:00:00+00:00")  # 1h30m before the end
    subprocess.run(["git", "-C", str(root), "tag", "production-v1.1.0"], check=True)
    _commit(root, "feat: after the release", "2026-11-03T08:00:00+00:00")
    write_run(root / ".cockpit", deployed(0, "1.1.0", "1.0.0", 25))  # deploy ends 09:30
    doc, judged = history(Workspace.open(root), NOW)
    assert sorted(judged[0].lead_times_s or []) == [90 * 60, (21 * 60 + 30) * 60]
    lead = doc["dora"]["lead_time_for_changes"]
    assert (lead["commits"], lead["releases"]) == (2, 1)
    assert lead["median_s"] == ((90 + 21 * 60 + 30) * 60) / 2
    # the range's start recorded at the run's start wins over the previous version's tag
    one = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "production-v1.1.0~1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (root / ".cockpit" / "runs").rename(tmp_path / "old-runs")
    write_run(root / ".cockpit", deployed(0, "1.1.0", "1.0.0", 25, since_commit=one))
    _, judged = history(Workspace.open(root), NOW)
    assert judged[0].lead_times_s == [90 * 60]


def test_cli_prints_the_review_and_exports_one_report_per_run(
    ws: Workspace, tmp_path: Path
) -> None:
    out = subprocess.run(
        cockpit_cmd("--workspace", str(ws.root), "history"),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "deployment success rate   60% (3 of 5 deployments succeeded)" in out
    assert "NOT MET" in out and "rolled back" in out
    assert "change failure rate" in out
    export = tmp_path / "export"
    done = subprocess.run(
        cockpit_cmd(
            "--workspace",
            str(ws.root),
            "history",
            "--json",
            "--since",
            "2026-11-06",
            "--export",
            str(export),
        ),
        capture_output=True,
        text=True,
        check=True,
    )
    doc = json.loads(done.stdout)
    assert doc["v"] == 1 and len(doc["runs"]) == 4
    files = sorted(p.name for p in export.iterdir())
    assert files == sorted(f"{r['id']}.json" for r in doc["runs"])
    assert all((export / f).stat().st_mode & 0o777 == 0o600 for f in files)
    report = json.loads((export / files[0]).read_text())
    assert report["v"] == 1 and report["run"]["version"] == "1.3.0"
    assert "exported 4 report(s)" in done.stderr


def test_a_bad_date_is_refused_in_words(ws: Workspace) -> None:
    done = subprocess.run(
        cockpit_cmd("--workspace", str(ws.root), "history", "--since", "last month"),
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "a date like 2026-11-01" in done.stderr
    assert "Traceback" not in done.stderr
