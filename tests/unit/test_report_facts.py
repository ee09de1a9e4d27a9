"""The one-run report and the messages state facts: the release range recorded when the run
started (tagging the release never empties its notes), time DOWN up to now or the close,
the worst p95 of every journaled sample, nothing scored before there is something to
score, and an environment never reached reads UNKNOWN, not DOWN. Real git repositories,
real loopback servers, real journals."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import git

from cockpit.changelog import draft, range_commits, release_range
from cockpit.clock import iso
from cockpit.describe import describe
from cockpit.driver import RunDriver
from cockpit.eventcheck import problem
from cockpit.events import HealthSampled, StepFinished, StepStarted
from cockpit.monitor import EnvHealth, rollback_signal
from cockpit.notify import facts_for, slack_message
from cockpit.probe import DOWN, READY, UNKNOWN, Sample, probe_once
from cockpit.release_actions import do_tag, release_view
from cockpit.report import build, markdown
from cockpit.runbook import load_runbook
from cockpit.session import RunSession
from cockpit.simservice import SimService
from cockpit.state import replay

DEPLOY = "production-deploy"
CHECKLISTS = Path(__file__).resolve().parents[2] / "checklists"


def record(session: RunSession, event) -> None:
    session.write(event)
    session.refresh()


def commit(root, message: str) -> str:
    repo = git.Repo(root)
    with (root / "CHANGES.txt").open("a") as fh:
        fh.write(message + "\n")
    repo.index.add(["CHANGES.txt"])
    return repo.index.commit(message).hexsha


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- 1. the release range is the run's, fixed when it started ----------------------------


def test_tagging_the_release_keeps_its_notes_and_messages(session):
    root = session.ws.root
    run = session.state.run
    previous = git.Repo(root).tags["production-v1.2.0"].commit.hexsha
    record(session, do_tag(session, "production"))  # T on the release screen: at HEAD
    commit(root, "feat: after the release, not in it")
    view = release_view(session, "READY")
    assert "Features: Customer survey after each job (#131)" in view.slack
    assert "Bug Fixes: Calendar sync drops recurring jobs (#137)" in view.slack
    assert view.draft is not None and view.draft.commits == 5, view.draft
    assert view.draft.since_tag == "production-v1.2.0"
    assert view.draft.until_label == "production-v1.3.0"
    assert "Customer survey after each job (#131)" in view.draft.render()
    assert "after the release" not in view.draft.render()
    assert (run.since_tag, run.since_commit) == ("production-v1.2.0", previous)
    since, until, label, since_tag = release_range(root, run, session.ws.versioning)
    assert (since, label, since_tag) == (previous, "production-v1.3.0", "production-v1.2.0")
    assert len(range_commits(root, since, until)) == 5


def test_the_rc_tag_ends_the_range_until_the_production_tag_exists(session):
    root = session.ws.root
    record(session, do_tag(session, "rc"))
    commit(root, "feat: landed after the release candidate")
    view = release_view(session, None)
    assert (view.draft.commits, view.draft.until_label) == (5, "rc-v1.3.0")
    untagged = commit(root, "fix: one more")
    git.Repo(root).delete_tag("rc-v1.3.0")
    since, until, label, _ = release_range(root, session.state.run, session.ws.versioning)
    assert label == "HEAD"
    commits = range_commits(root, since, until)
    assert len(commits) == 7 and commits[-1][0] == untagged  # oldest first, HEAD last


def test_retagging_the_previous_release_does_not_move_a_runs_range(session):
    root = session.ws.root
    repo = git.Repo(root)
    repo.create_tag("production-v1.2.0", ref=repo.head.commit, force=True)  # moved later
    view = release_view(session, None)
    assert view.draft is not None and view.draft.commits == 5, view.draft
    assert view.draft.since_tag == "production-v1.2.0"


def test_a_run_journaled_before_ranges_were_recorded_falls_back_to_its_previous_version(
    workspace_dir,
):
    repo = git.Repo(workspace_dir)
    line = {"v": 1, "ts": "2026-11-24T14:00:00+00:00", "type": "run.started", "by": "ana"}
    run = {"id": "r", "type": "standard", "version": "1.3.0", "previous_version": "1.1.1"}
    old = replay([line | {"run": run}]).run
    assert old.since_commit is None
    since, _, label, since_tag = release_range(workspace_dir, old)
    assert label == "HEAD"  # neither its production nor its rc tag exists yet
    assert (since, since_tag) == (repo.tags["production-v1.1.1"].commit.hexsha, "production-v1.1.1")
    repo.create_tag("production-v1.3.0")  # tagged at HEAD: the old draft said 0 commits
    assert draft(workspace_dir, "1.3.0", run=old).commits == 7
    gone = replay([line | {"run": run | {"previous_version": "0.9.0"}}]).run  # no such tag
    assert draft(workspace_dir, "1.3.0", run=gone).since_tag == "production-v1.2.0"


def test_range_commits_are_tolerant_and_carry_sha_time_and_subject(workspace_dir, tmp_path):
    repo = git.Repo(workspace_dir)
    since = repo.tags["production-v1.2.0"].commit.hexsha
    commits = range_commits(workspace_dir, since, "HEAD")
    assert commits.reason is None and len(commits) == 5
    sha, at, subject = commits[0]
    assert sha == repo.commit("HEAD~4").hexsha  # oldest first: the first after the tag
    assert subject == "feat: customer survey after each job (#131)"
    assert at.startswith("2026-") and "T" in at
    assert [c[2] for c in commits][-1] == "Update SMS templates for holidays"
    missing = range_commits(workspace_dir, "0" * 40, "HEAD")
    assert list(missing) == [] and "0000000" in missing.reason
    no_tag = range_commits(workspace_dir, since, "refs/tags/production-v9.9.9")
    assert list(no_tag) == [] and "production-v9.9.9" in no_tag.reason
    option = range_commits(workspace_dir, "--output=/tmp/x", "HEAD")
    assert list(option) == [] and option.reason
    (tmp_path / "plain").mkdir()
    nowhere = range_commits(tmp_path / "plain", None, "HEAD")
    assert list(nowhere) == [] and "not a git repository" in nowhere.reason
    everything = range_commits(workspace_dir, None, "HEAD")
    assert len(everything) == 11


# -- 2. an outage still going counts up to now; a closed run's up to the close -----------


def down(session: RunSession, previous: str = "READY") -> None:
    summary = {"env": "production", "state": DOWN, "error": "HTTP 503", "reason": "HTTP 503"}
    record(session, session.plan_health_change(summary, previous))


def test_an_outage_still_going_counts_up_to_now(session, clock):
    down(session)
    clock.advance(120)
    doc = build(session, clock)
    assert doc["health"]["down_s"] == {"production": 120.0}
    assert "production DOWN for 2m in total" in markdown(doc)


def test_a_closed_runs_outage_counts_up_to_the_close(session, clock):
    session.take_lock()
    down(session)
    clock.advance(60)
    record(session, session.plan_close("done"))
    clock.advance(3600)
    session.release()  # journaled after the close (as `cockpit close` does)
    assert build(session, clock)["health"]["down_s"] == {"production": 60.0}


# -- 3. the worst p95 of every sample ------------------------------------------------------


def probe_at(clock, ms: float, status: int = 200, state: str = READY) -> Sample:
    return Sample("production", "u", iso(clock.now()), state, status, ms)


async def test_samples_are_journaled_once_an_interval_and_the_report_takes_their_worst(
    session, clock
):
    interval = session.ws.config.health.interval
    env = EnvHealth("production", "u", window=4, p95_budget_ms=800)
    driver = RunDriver(session)

    def observe(ms: float) -> None:
        driver.observe_health(env, env.add(probe_at(clock, ms)))

    observe(40.04)  # UNKNOWN → READY: the change and its sample at once
    observe(42)  # sooner than the interval: dropped
    clock.advance(interval)
    observe(1376)  # READY → DEGRADED (p95 over the budget): journaled at once
    clock.advance(interval / 2)
    observe(1925)  # still DEGRADED, sooner than the interval: dropped
    clock.advance(interval / 2)
    observe(1900)  # due: p95 1925 ms is only in this sample
    await driver.close()
    lines = [json.loads(x) for x in session.journal_path.read_text().splitlines()]
    samples = [x for x in lines if x["type"] == "health.sample"]
    changes = [x for x in lines if x["type"] == "health.changed"]
    assert [c["state"] for c in changes] == ["READY", "DEGRADED"]
    assert [s["state"] for s in samples] == ["READY", "DEGRADED", "DEGRADED"]
    first = samples[0]
    assert first["latency_ms"] == 40.0 and first["http_status"] == 200 and first["env"]
    assert first["p50_ms"] == 40.0 and first["p95_ms"] == 40.0
    assert "reason" not in first and "error" not in first  # compact: only what is set
    assert samples[1]["reason"] == "p95 1376ms over the 800ms budget"
    assert all(problem(s) is None for s in samples)
    state = session.state
    assert state.health_samples["production"].p95_ms == 1925
    assert state.worst_p95["production"] == 1925
    assert max(c["p95_ms"] for c in changes) == 1376
    doc = build(session)
    assert doc["health"]["worst_p95_ms"] == 1925
    assert doc["health"]["worst_p95_env"] == "production"
    assert "worst production p95 seen: 1925ms" in markdown(doc)
    assert not any(e["type"] == "health.sample" for e in doc["timeline"])
    assert not any(isinstance(e, HealthSampled) for e in state.recent)  # never in the feed


def test_a_sample_line_is_checked_like_every_event():
    line = {"v": 1, "ts": "2026-11-24T14:00:00+00:00", "type": "health.sample", "env": "x"}
    assert problem(line) == "health.sample without state"
    assert problem(line | {"state": "READY", "p95_ms": "slow"}) == (
        "health.sample: p95_ms is the text 'slow', not a number"
    )
    fine = line | {"state": "READY", "p95_ms": 12.5, "http_status": 200}
    assert problem(fine) is None
    assert describe(fine, load_runbook(CHECKLISTS, None)) == "x READY (HTTP 200, p95 12ms)"
    run = {"id": "r", "type": "standard", "version": "1.3.0", "since_tag": "production-v1.2.0"}
    started = {"v": 1, "ts": line["ts"], "type": "run.started", "by": "ana"}
    assert problem(started | {"run": run | {"since_commit": "a1b2c3d4e5f6a7b8"}}) is None
    assert problem(started | {"run": run | {"since_commit": "--output=/tmp/x"}}) == (
        "run.started: the run's since_commit is the text '--output=/tmp/x', not a commit's sha"
    )


# -- 4. facts only: nothing scored before there is something to score ----------------------


def test_before_the_deployment_nothing_is_scored_and_the_json_has_its_version(session):
    doc = build(session)
    assert next(iter(doc)) == "v" and doc["v"] == 1
    metrics = doc["metrics"]
    assert metrics["deployment_time_met"] is None and metrics["deployment_succeeded"] is None
    text = markdown(doc)
    assert "| deployment time | not started | < 1h |" in text, text
    assert "| deployment succeeded | not started |" in text
    assert "(not met)" not in text


def test_while_the_deployment_runs_it_is_still_running_not_yet_succeeded(session, clock):
    steps = [s.id for s in session.runbook.phase(DEPLOY).steps_for("standard")]
    record(session, StepStarted(phase=DEPLOY, step=steps[0], attempt=1, commands=["true"]))
    clock.advance(90)
    doc = build(session, clock)
    metrics = doc["metrics"]
    assert metrics["deployment_time_met"] is None and metrics["deployment_succeeded"] is None
    text = markdown(doc)
    assert "(still running) | < 1h |" in text, text
    assert "| deployment succeeded | not yet |" in text
    facts = facts_for(doc, draft(session.ws.root, "1.3.0"), "READY", None)
    assert facts.status == "⏳ In progress"
    finished = StepFinished(phase=DEPLOY, step=steps[0], state="failed", exit_code=1)
    record(session, finished)
    metrics = build(session, clock)["metrics"]
    assert metrics["deployment_succeeded"] is False  # a failed step is a fact


def test_monitoring_is_a_fact_like_the_health_check(session):
    doc = build(session)
    changes = draft(session.ws.root, "1.3.0")
    unmeasured = slack_message(facts_for(doc, changes, None, None))
    assert "Health Check: not measured" in unmeasured
    assert "Monitoring: not measured" in unmeasured
    assert "performance normal" not in unmeasured
    ready = facts_for(doc, changes, "READY", None)
    assert ready.monitoring == "📊 No alerts, performance normal"
    degraded = facts_for(doc, changes, "DEGRADED", None)
    assert "performance normal" not in degraded.monitoring
    # an environment never reached is not measured, and is named as the runbook names it
    unknown = facts_for(
        doc | {"metrics": doc["metrics"] | {"deploy_environment": "live"}}, changes, "UNKNOWN", None
    )
    assert (unknown.health, unknown.monitoring) == ("not measured", "not measured")
    down = facts_for(
        doc | {"metrics": doc["metrics"] | {"deploy_environment": "live"}}, changes, "DOWN", None
    )
    assert down.health == "⚠️ live DOWN"


# -- 5. never reached: UNKNOWN, not DOWN ---------------------------------------------------


async def test_an_environment_never_reached_is_unknown_and_no_rollback_signal():
    url = f"http://127.0.0.1:{free_port()}/api/ready"
    env = EnvHealth("production", url)
    refused = await probe_once("production", url, 1.0)
    assert (refused.state, refused.http_status) == (DOWN, None)  # one probe: as it was
    env.add(refused)
    assert env.state == UNKNOWN
    assert env.reason == "unreachable — no answer since the cockpit opened: connection refused"
    assert rollback_signal(env, 40.0) is None


async def test_once_it_answered_a_refusal_is_down_and_a_503_always_is():
    with SimService(envs=("production",), latency_s=0.001) as service:
        url = service.url("production") + "/api/ready"
        env = EnvHealth("production", url)
        env.add(await probe_once("production", url, 1.0))
        assert env.state == READY
        service.set_mode("production", "down")
        fresh = EnvHealth("production", url)
        fresh.add(await probe_once("production", url, 1.0))
        assert (fresh.state, fresh.reason) == (DOWN, "HTTP 503")  # an answer: DOWN at once
    env.add(await probe_once("production", url, 1.0))  # the server is gone now
    assert (env.state, env.last_error) == (DOWN, "connection refused")
    assert rollback_signal(env, 40.0)[1]["signal"] == "production DOWN"


async def test_a_reopened_run_with_its_service_gone_never_flags_production_down(session, clock):
    url = f"http://127.0.0.1:{free_port()}/api/ready"
    record(session, session.plan_baseline({"env": "production", "p50_ms": 30, "p95_ms": 40}))
    summary = {"env": "production", "state": READY, "http_status": 200, "p95_ms": 40}
    record(session, session.plan_health_change(summary, None))  # as the last session left it
    env = EnvHealth("production", url)
    driver = RunDriver(session)
    for _ in range(3):
        driver.observe_health(env, env.add(await probe_once("production", url, 1.0, clock)))
        clock.advance(session.ws.config.health.interval)
    await driver.close()
    assert not session.state.item("rollback-decision", "critical-broken").checked
    assert session.state.health["production"].state == UNKNOWN  # the journal says so too
    assert session.state.health["production"].previous == READY
    clock.advance(600)
    assert build(session, clock)["health"]["down_s"] == {}


def test_the_range_is_recorded_in_the_report(session):
    run = build(session)["run"]
    assert run["since_tag"] == "production-v1.2.0" and len(run["since_commit"]) == 40


def test_a_rolled_back_deployment_is_not_called_a_success(session):
    doc = build(session)
    doc["metrics"] |= {"deployment_succeeded": True, "rolled_back": True}
    row = next(line for line in markdown(doc).splitlines() if "deployment succeeded" in line)
    assert "deployed, then rolled back: not a success" in row
