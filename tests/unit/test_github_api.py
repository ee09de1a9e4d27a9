"""The GitHub REST client and a workflow followed in-process, against ``SimGitHub`` on
loopback (real httpx, real sockets): run details or finding the run by listing, transient
answers retried (502, 429 with Retry-After) and never a dispatch sent twice, refusals in
words naming the request without the token, a timeout that cancels the run, and the sim's
check runs, commit status and releases for the gates and the release action to come."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from cockpit.github import GitHub, GitHubError, Unanswered
from cockpit.simgithub import SimGitHub
from cockpit.workflows import follow

TOKEN = "ghp-unit-Secret-9f2c"
FILE = "deploy-production.yml"


@pytest.fixture
def sim():
    with SimGitHub(token=TOKEN, duration=1.0) as server:
        yield server


def client(sim, token=TOKEN, retries=None):
    said = retries if retries is not None else []
    return GitHub(sim.api_url, sim.repo, token, first_backoff=0.05, on_retry=said.append)


def run(coro):
    return asyncio.run(coro)


def test_a_dispatch_returns_its_run_or_the_run_is_found_by_listing(sim):
    async def go():
        gh = client(sim)
        try:
            first = await gh.dispatch(FILE, "main", {"confirm_production": "true"})
            assert first is not None and first.url.endswith(f"/acme/shop/actions/runs/{first.id}")
            assert sim.runs[first.id].inputs == {"confirm_production": "true"}
            sim.details = "ignore"  # an older server: 204 without a body
            known = {r["id"] for r in await gh.runs(FILE, "main")}
            since = datetime.now(UTC)
            assert await gh.dispatch(FILE, "refs/heads/main", {}) is None
            found = await gh.find_run(FILE, "main", since, known)
            assert found is not None and found.id != first.id and found.id in sim.runs
            assert await gh.find_run(FILE, "other-branch", since, set()) is None
        finally:
            await gh.aclose()

    run(go())
    method, path, headers = sim.requests[0]
    assert (method, path) == ("POST", f"/repos/acme/shop/actions/workflows/{FILE}/dispatches")
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["X-GitHub-Api-Version"] == "2022-11-28"


def test_transient_answers_are_retried_and_a_dispatch_is_never_sent_twice(sim):
    said: list[str] = []

    async def go():
        gh = client(sim, retries=said)
        try:
            ref = await gh.dispatch(FILE, "main", {})
            sim.fail_next(2, "/actions/runs/")
            sim.fail_next(1, "/jobs", code=429)
            assert (await gh.run(ref.id))["id"] == ref.id
            assert isinstance(await gh.jobs(ref.id), list)
            sim.fail_next(1, "/dispatches")
            with pytest.raises(Unanswered, match="502"):
                await gh.dispatch(FILE, "main", {})
        finally:
            await gh.aclose()

    run(go())
    assert len([w for w in said if "502 Bad Gateway; retrying in" in w]) == 2
    assert any("429 Too Many Requests; retrying in 1s" in w for w in said)  # Retry-After
    posts = [p for m, p, _ in sim.requests if m == "POST"]
    assert len(posts) == 2 and len(sim.runs) == 1  # the 502 dispatch was not repeated


def test_refusals_are_words_naming_the_request_never_the_token(sim):
    async def go(gh, call):
        try:
            return await call(gh)
        finally:
            await gh.aclose()

    wrong = "ghp-wrong-1234"
    with pytest.raises(GitHubError) as bad:
        run(go(client(sim, token=wrong), lambda gh: gh.dispatch(FILE, "main", {})))
    words = str(bad.value)
    assert words.startswith(f"GitHub refused POST {sim.api_url}/repos/acme/shop/actions/")
    assert "401 Bad credentials (the token is wrong or expired)" in words
    assert wrong not in words
    with pytest.raises(GitHubError, match=r"404 Not Found \(no such repository, workflow"):
        run(go(client(sim), lambda gh: gh.dispatch("nope.yml", "main", {})))
    with pytest.raises(GitHubError, match=r"/actions/runs/999999: 404"):
        run(go(client(sim), lambda gh: gh.run(999999)))
    sim.details = "refuse"  # a server that does not know return_run_details: asked again
    assert run(go(client(sim), lambda gh: gh.dispatch(FILE, "main", {}))) is None
    assert len(sim.runs) == 1


def test_a_follow_past_its_timeout_cancels_the_run(sim, monkeypatch):
    sim.duration = 60.0
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    call = {"api_url": sim.api_url, "repo": sim.repo, "token_env": "GH_TOKEN", "poll": 0.1}
    call |= {"file": FILE, "ref": "main", "inputs": {}}
    lines: list[str] = []
    found: list[int] = []
    code, words = run(
        follow(call, lines.append, lambda i, u: found.append(i), asyncio.Event(), str, 0.5)
    )
    assert code is None and words.startswith("timed out after 500ms; workflow run")
    assert sim.cancels == found and f"run {found[0]}: completed, cancelled" in lines


def test_the_sim_answers_check_runs_commit_status_and_releases(sim):
    sim.set_check("abc123", "TypeScript", "success")
    sim.set_check("abc123", "ESLint", None)
    sim.set_status("abc123", "vercel/staging", "success")
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/vnd.github+json"}
    base = f"{sim.api_url}/repos/acme/shop"
    with httpx.Client(headers=headers) as http:
        checks = http.get(f"{base}/commits/abc123/check-runs").json()["check_runs"]
        assert [(c["name"], c["status"], c["conclusion"]) for c in checks] == [
            ("TypeScript", "completed", "success"),
            ("ESLint", "in_progress", None),
        ]
        assert http.get(f"{base}/commits/abc123/status").json()["state"] == "success"
        assert http.get(f"{base}/commits/fff/status").json()["state"] == "pending"
        made = http.post(f"{base}/releases", json={"tag_name": "production-v1.4.0", "body": "n"})
        assert made.status_code == 201 and made.json()["html_url"].endswith("production-v1.4.0")
        again = http.post(f"{base}/releases", json={"tag_name": "production-v1.4.0"})
        assert again.status_code == 422 and again.json()["errors"][0]["code"] == "already_exists"
