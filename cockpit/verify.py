"""Items that verify themselves: a health probe, or CI on GitHub for the release commit.

Owns turning a verification into intents, one ``verify_item`` for every kind. ``auto:
{health: ENV}`` judges the environment as its health panel does (``cockpit.verdict``: the
state, p95 against the latency budget, against the baseline once taken), on the driver's
monitor window, else on a few probes made now: healthy ticks the item with the evidence
(the words with the figures, the last answer's code, latency, checks, a body excerpt);
a refusal says why with the figures. ``auto: {github_check: NAME}`` reads the
check run of that name (else the commit status of that context) on the release commit,
``auto: {workflow: FILE}`` the latest run of that workflow for it: the conclusion asked
for (``conclusion:``, default ``success``) ticks the item with the evidence (name,
conclusion, URL, sha). The release commit is the one being released: the commit of the
run's production tag when the workspace's repository has it, else HEAD. Anything else — a
check still queued or running, another conclusion, no such check or run, GitHub refusing
or not answering, a probe that fails in any unexpected way — records a failed
verification with its evidence and leaves the item unticked, the reason in words (a
check still running says so and is ``pending``). No token, no ``github:`` config or no
git repository is a CockpitError in words and nothing is journaled. Used by the
checklist screen, the driver and ``cockpit check``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from cockpit.errors import CockpitError, error_words
from cockpit.events import Event
from cockpit.github import GitHub, GitHubError, connect_to
from cockpit.monitor import EnvHealth, HealthMonitor
from cockpit.probe import Sample
from cockpit.runbook import Auto
from cockpit.session import RunSession
from cockpit.termtext import inert
from cockpit.verdict import JUDGED_ON, judge, top_up

VERIFIABLE = ("health", "github_check", "workflow")
"""The ``auto:`` kinds the cockpit verifies itself (``run:`` is not one yet)."""
ASK_WITHIN = 30.0
"""How long GitHub may take to answer, transient failures retried, before it is a failure."""
COMPLETED = "completed"
HEALTH_SAMPLES = JUDGED_ON


@dataclass
class Verification:
    """What a verification found and the intent that records it."""

    ok: bool
    reason: str
    """What was found, in words: ``staging READY``, ``check 'ESLint' success on 1a2b3c4``."""
    where: str
    """What was asked: the URL probed, the check's or run's page on GitHub."""
    intent: Event
    sample: Sample | None = None
    """A health verification's last answer (None for CI)."""
    pending: bool = False
    """The check or run is still queued or running: ask again when it ends."""

    @property
    def said(self) -> str:
        """The one line a passed verification shows (its words, with the figures)."""
        return self.reason


def auto_of(session: RunSession, phase_id: str, item_id: str) -> Auto | None:
    """How the item verifies itself, when it is one the cockpit verifies; else None."""
    entry = session.runbook.phase(phase_id).item(item_id)
    auto = entry.item.auto if entry else None
    return auto if auto is not None and auto.kind in VERIFIABLE else None


async def verify_item(
    session: RunSession,
    phase_id: str,
    item_id: str,
    note: str | None = None,
    monitor: HealthMonitor | None = None,
) -> Verification:
    """Verify the item once, whatever its kind; plan the tick or the failed verification.

    ``monitor``: the driver's health monitor, whose window a health item is judged on (as
    its panel shows it); without one the environment is probed a few times now."""
    auto = auto_of(session, phase_id, item_id)
    if auto is None:
        raise CockpitError(f"item {item_id!r} does not verify itself")
    session.tick_allowed(phase_id, item_id)
    if auto.health is not None:
        return await _verify_health(session, phase_id, item_id, auto.health, note, monitor)
    return await _verify_ci(session, phase_id, item_id, auto, note)


async def _window(
    session: RunSession, env: str, url: str, monitor: HealthMonitor | None
) -> tuple[EnvHealth, str]:
    """The window to judge and where it came from: the health panel's own (the driver's
    monitor) when it holds ``HEALTH_SAMPLES`` answers; else that window (if any) topped up
    with probes made now, one after another, until it does or the environment is not
    READY any more."""
    settings = session.ws.config.health
    shown = monitor.envs.get(env) if monitor is not None else None
    if shown is not None and len(shown.samples) >= HEALTH_SAMPLES:
        return shown, f"the health panel's window ({len(shown.samples)} samples)"
    health = EnvHealth(env, url, settings.window, settings.p95_budget * 1000)
    for sample in shown.samples if shown is not None else ():
        health.add(sample)
    probed = await top_up(health, settings.timeout, session.clock, HEALTH_SAMPLES)
    kept = len(health.samples) - probed
    return health, f"{probed} probes now" + (f" after {kept} of the panel's" if kept else "")


async def _verify_health(
    session: RunSession,
    phase_id: str,
    item_id: str,
    env: str,
    note: str | None,
    monitor: HealthMonitor | None = None,
) -> Verification:
    """Judge the environment as its health panel does (``cockpit.verdict``): healthy ticks,
    anything else is a failed verification saying why with the figures."""
    config = session.ws.config
    if env not in config.environments:
        raise CockpitError(f"environment {env!r} is not configured")
    url = config.ready_url(env)
    health, source = await _window(session, env, url, monitor)
    baseline = session.state.baselines.get(env)
    verdict = judge(health, baseline.p95_ms if baseline else None)
    evidence = verdict.evidence(health, source)
    if verdict.healthy:
        intent = session.plan_check(phase_id, item_id, note, evidence)
        return Verification(True, verdict.words, url, intent, health.last)
    intent = session.plan_verification_failed(phase_id, item_id, evidence)
    return Verification(False, verdict.words, url, intent, health.last)


def release_commit(session: RunSession) -> tuple[str, str]:
    """The commit being released and how it was found: the run's production tag when the
    workspace's repository has it, else its release-candidate tag, else HEAD (said as
    such in the evidence; blocking: call it from a thread)."""
    import git

    root = session.ws.root
    try:
        repo = git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise CockpitError(
            f"{root} is not in a git repository: the release commit is unknown"
        ) from None
    run = session.state.run
    versioning = session.ws.versioning
    tags = [versioning.tag_for(run.version, kind) for kind in ("production", "rc")] if run else []
    try:
        for tag in tags:
            if tag in repo.tags:
                return repo.tags[tag].commit.hexsha, tag
        return repo.head.commit.hexsha, "HEAD"
    except ValueError:
        raise CockpitError(
            f"the repository at {root} has no commit yet: the release commit is unknown"
        ) from None


async def _verify_ci(
    session: RunSession, phase_id: str, item_id: str, auto: Auto, note: str | None
) -> Verification:
    """Ask GitHub about the release commit's check or workflow run: the wanted conclusion
    ticks; anything else is a failed verification."""
    settings = session.ws.config.github
    if settings is None:
        raise CockpitError(
            f"item {item_id!r} verifies itself from GitHub, but cockpit.yaml has no 'github:'"
        )
    sha, ref = await asyncio.to_thread(release_commit, session)
    name = auto.github_check or auto.workflow or ""
    retries: list[str] = []
    gh = connect_to(settings, on_retry=retries.append)
    evidence: dict[str, Any] = {"kind": auto.kind, "name": name, "sha": sha, "ref": ref}
    try:
        found = await asyncio.wait_for(_look(gh, auto, sha), ASK_WITHIN)
    except GitHubError as exc:
        found = {"status": "error", "reason": str(exc)}
    except TimeoutError:
        last = f" (last: {retries[-1]})" if retries else ""
        found = {
            "status": "error",
            "reason": f"GitHub did not answer within {ASK_WITHIN:g} s{last}",
        }
    except Exception as exc:  # fail closed: whatever went wrong, the item is not verified
        found = {"status": "error", "reason": f"could not ask GitHub: {error_words(exc)}"}
    finally:
        await gh.aclose()
    evidence |= found
    status, conclusion = evidence.get("status"), evidence.get("conclusion")
    on = f"on {sha[:7]} ({ref})"
    if status == COMPLETED:
        evidence["state"] = conclusion or "unknown"
        words = f"{auto.label} concluded {conclusion or 'nothing'} {on}"
    elif status in ("missing", "error"):
        evidence["state"] = status
        words = f"{auto.label} {on}: {evidence.get('reason')}"
    else:
        evidence["state"] = "running"
        words = f"{auto.label} is still running ({status}) {on}; verify again when it ends"
    words = inert(session.redactor.text(words))  # GitHub's words reach a screen
    evidence["reason"] = words
    where = inert(str(evidence.get("url") or f"{settings.repo}: {name}"))
    if status == COMPLETED and conclusion == auto.wanted:
        intent = session.plan_check(phase_id, item_id, note, evidence)
        return Verification(True, words, where, intent)
    if status == COMPLETED:
        words += f", not {auto.wanted}"
        evidence["reason"] = words
    intent = session.plan_verification_failed(phase_id, item_id, evidence)
    pending = evidence["state"] == "running"
    return Verification(False, words, where, intent, pending=pending)


async def _look(gh: GitHub, auto: Auto, sha: str) -> dict[str, Any]:
    """The check's or workflow run's ``status`` (``completed``, ``queued``, ``in_progress`` …,
    or ``missing``), ``conclusion``, ``url`` and ``source``, as GitHub has them now."""
    if auto.workflow is not None:
        runs = await gh.runs_for_commit(auto.workflow, sha)
        if not runs:
            return {"status": "missing", "reason": f"no run of {auto.workflow} for this commit"}
        run = max(runs, key=lambda r: (str(r.get("created_at") or ""), _int(r.get("id"))))
        return _found(run, "workflow run", run.get("status"), run.get("conclusion"))
    name = auto.github_check or ""
    checks = await gh.check_runs(sha, name)
    if checks:
        check = max(checks, key=lambda r: (str(r.get("started_at") or ""), _int(r.get("id"))))
        return _found(check, "check run", check.get("status"), check.get("conclusion"))
    statuses = [s for s in await gh.statuses(sha) if s.get("context") == name]
    if statuses:  # the combined status lists the latest status of each context
        state = str(statuses[0].get("state") or "")
        ended = state in ("success", "failure", "error")
        status, conclusion = (COMPLETED, state) if ended else (state or "pending", None)
        return _found(statuses[0], "commit status", status, conclusion, "target_url")
    return {"status": "missing", "reason": f"no check run or commit status named {name!r}"}


def _found(
    data: dict[str, Any], source: str, status: Any, conclusion: Any, url_key: str = "html_url"
) -> dict[str, Any]:
    return {
        "status": str(status or "unknown"),
        "conclusion": str(conclusion) if conclusion else None,
        "url": str(data.get(url_key) or ""),
        "source": source,
    }


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0
