"""A small client of GitHub's REST API (httpx, asyncio): the workflow-run calls a step uses.

Owns the requests (``Authorization: Bearer``, ``Accept: application/vnd.github+json``,
``X-GitHub-Api-Version: 2022-11-28``) for dispatching a workflow (asking for the run's
details; an older server answers 204 without them), listing a workflow's dispatched runs
and finding the one a dispatch started, getting a run and its jobs with their steps, and
cancelling a run; a commit's check runs, statuses and workflow runs (items that verify
themselves from CI) and creating a release; and what an answer means. A transient
failure (a 5xx, 429, a rate limit, a timeout, a connection error) is retried with
back-off (``first_backoff`` doubling to 30 s, or what ``Retry-After`` says) for as long
as it lasts — except a dispatch or a release that may have reached GitHub, which is
never sent twice (``Unanswered``: find its run instead). Anything else (401, 403, 404,
422 …) is a ``GitHubError`` in words naming the request and GitHub's reason; the token
never appears in any of them.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from cockpit.durations import format_duration
from cockpit.errors import CockpitError
from cockpit.probe import describe_error

API_VERSION = "2022-11-28"
MAX_BACKOFF = 30.0
LONGEST_WAIT = 900.0
"""The longest a ``Retry-After`` or rate-limit reset is honoured for in one wait."""
HINTS = {
    401: "the token is wrong or expired",
    403: "the token lacks the permission (Actions: read and write)",
    404: "no such repository, workflow or run, or the token cannot see it",
    422: "GitHub refused the request as written",
}


class GitHubError(Exception):
    """An answer that retrying will not change, in words (the token never in them)."""


class Unanswered(GitHubError):
    """A request that may have reached GitHub but got no usable answer (a 5xx, a read
    timeout): a dispatch is not sent again; its run is looked for instead."""


@dataclass(frozen=True)
class RunRef:
    """A workflow run: its id and its page on GitHub."""

    id: int
    url: str


def parse_time(text: Any) -> datetime | None:
    """GitHub's ``2026-11-25T10:00:00Z`` as an aware datetime (None: missing or not a time)."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


class GitHub:
    """One repository's API; ``on_retry`` hears each transient failure in words."""

    def __init__(
        self,
        api_url: str,
        repo: str,
        token: str,
        *,
        timeout: float = 10.0,
        first_backoff: float = 1.0,
        on_retry: Callable[[str], None] | None = None,
    ):
        self.base = api_url.rstrip("/")
        self.repo = repo
        self._token = token
        self.timeout = timeout
        self.first_backoff = first_backoff
        self.on_retry = on_retry or (lambda words: None)
        self.client = httpx.AsyncClient(
            timeout=timeout,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "release-cockpit",
            },
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    def url(self, path: str) -> str:
        return f"{self.base}/repos/{self.repo}{path}"

    def _words(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    # -- requests ------------------------------------------------------------------------

    async def request(
        self, method: str, path: str, *, body: Any = None, params: Any = None, once: bool = False
    ) -> httpx.Response:
        """The answer to one call, transient failures retried (``once``: a request that must
        not be sent twice is retried only when it surely never reached GitHub)."""
        url = self.url(path)
        what = f"{method} {url}"
        delay = self.first_backoff
        while True:
            try:
                answer = await self.client.request(method, url, json=body, params=params)
            except httpx.TransportError as exc:
                words = describe_error(exc, url, self.timeout)
                sent = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if once and sent:
                    raise Unanswered(self._words(f"{what}: {words}")) from None
                wait = delay
            else:
                wait = self._transient(answer)
                if wait is None:
                    if answer.is_success:
                        return answer
                    raise GitHubError(self._words(refusal(what, answer)))
                words = f"GitHub answered {answer.status_code} {answer.reason_phrase}"
                if once and answer.status_code >= 500:
                    raise Unanswered(self._words(f"{what}: {words}"))
                wait = max(wait, delay)
            self.on_retry(self._words(f"{what}: {words}; retrying in {format_duration(wait)}"))
            await asyncio.sleep(wait)
            delay = min(delay * 2, MAX_BACKOFF)

    @staticmethod
    def _transient(answer: httpx.Response) -> float | None:
        """Seconds to wait before asking again when the answer is transient, else None."""
        code = answer.status_code
        limited = code == 403 and (
            "retry-after" in answer.headers or answer.headers.get("x-ratelimit-remaining") == "0"
        )
        if code < 500 and code != 429 and not limited:
            return None
        after = answer.headers.get("retry-after", "")
        reset = answer.headers.get("x-ratelimit-reset", "")
        wait = 0.0
        if after.isdigit():
            wait = float(after)
        elif after:
            try:
                wait = parsedate_to_datetime(after).timestamp() - time.time()
            except (TypeError, ValueError):
                wait = 0.0
        elif reset.isdigit() and answer.headers.get("x-ratelimit-remaining") == "0":
            wait = float(reset) - time.time()
        return min(max(wait, 0.0), LONGEST_WAIT)

    async def _json(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        answer = await self.request(method, path, **kw)
        try:
            data = answer.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise GitHubError(f"{method} {self.url(path)}: the answer is not a JSON object")
        return data

    # -- calls -----------------------------------------------------------------------------

    async def dispatch(self, file: str, ref: str, inputs: dict[str, str]) -> RunRef | None:
        """Start the workflow; its run when GitHub says which (``return_run_details``)."""
        path = f"/actions/workflows/{file}/dispatches"
        body: dict[str, Any] = {"ref": ref, "inputs": inputs, "return_run_details": True}
        try:
            answer = await self.request("POST", path, body=body, once=True)
        except GitHubError as exc:  # a server that does not know the key refused it: no run
            if isinstance(exc, Unanswered) or "return_run_details" not in str(exc):
                raise
            del body["return_run_details"]
            answer = await self.request("POST", path, body=body, once=True)
        if answer.status_code == 204 or not answer.content:
            return None
        try:
            data = answer.json()
            return RunRef(int(data["workflow_run_id"]), str(data["html_url"]))
        except (ValueError, KeyError, TypeError):
            return None  # details we cannot read: the run is found by listing

    async def runs(self, file: str, ref: str) -> list[dict[str, Any]]:
        """The workflow's newest dispatched runs on ``ref`` (a branch or tag name)."""
        branch = ref.removeprefix("refs/heads/").removeprefix("refs/tags/")
        params = {"event": "workflow_dispatch", "branch": branch, "per_page": 30}
        data = await self._json("GET", f"/actions/workflows/{file}/runs", params=params)
        runs = data.get("workflow_runs")
        return [r for r in runs if isinstance(r, dict)] if isinstance(runs, list) else []

    async def find_run(
        self, file: str, ref: str, since: datetime, known: set[int], skew: float = 60.0
    ) -> RunRef | None:
        """The newest dispatched run of ``file`` on ``ref`` that is not one of ``known`` (the
        runs listed before the dispatch) and was created at or after ``since`` (less
        ``skew`` seconds of clock difference); None while there is none."""
        found = []
        for run in await self.runs(file, ref):
            created = parse_time(run.get("created_at"))
            rid = run.get("id")
            if not isinstance(rid, int) or rid in known or created is None:
                continue
            if created.timestamp() >= since.timestamp() - skew:
                found.append((created, rid, str(run.get("html_url") or "")))
        if not found:
            return None
        _, rid, url = max(found)
        return RunRef(rid, url)

    async def run(self, run_id: int) -> dict[str, Any]:
        """The run: ``status`` (queued, in_progress, completed …) and ``conclusion``."""
        return await self._json("GET", f"/actions/runs/{run_id}")

    async def jobs(self, run_id: int) -> list[dict[str, Any]]:
        """The run's jobs, each with its ``steps``."""
        data = await self._json("GET", f"/actions/runs/{run_id}/jobs", params={"per_page": 100})
        jobs = data.get("jobs")
        return [j for j in jobs if isinstance(j, dict)] if isinstance(jobs, list) else []

    async def cancel(self, run_id: int) -> None:
        """Ask GitHub to cancel the run (202: accepted; it ends as ``cancelled`` soon)."""
        await self.request("POST", f"/actions/runs/{run_id}/cancel")

    async def check_runs(self, sha: str, name: str) -> list[dict[str, Any]]:
        """The check runs named ``name`` on the commit ``sha`` (newest attempt of each)."""
        params = {"check_name": name, "per_page": 100}
        data = await self._json("GET", f"/commits/{sha}/check-runs", params=params)
        runs = data.get("check_runs")
        found = [r for r in runs if isinstance(r, dict)] if isinstance(runs, list) else []
        return [r for r in found if r.get("name") == name]

    async def statuses(self, sha: str) -> list[dict[str, Any]]:
        """The commit's statuses, the latest of each context (its combined status)."""
        data = await self._json("GET", f"/commits/{sha}/status", params={"per_page": 100})
        listed = data.get("statuses")
        return [s for s in listed if isinstance(s, dict)] if isinstance(listed, list) else []

    async def runs_for_commit(self, file: str, sha: str) -> list[dict[str, Any]]:
        """The runs of workflow ``file`` for the commit ``sha``, any event."""
        params = {"head_sha": sha, "per_page": 30}
        data = await self._json("GET", f"/actions/workflows/{file}/runs", params=params)
        runs = data.get("workflow_runs")
        found = [r for r in runs if isinstance(r, dict)] if isinstance(runs, list) else []
        return [r for r in found if r.get("head_sha") in (None, sha)]

    async def create_release(self, tag: str, name: str, notes: str, commit: str) -> dict[str, Any]:
        """Publish the release of ``tag`` (created at ``commit`` if GitHub lacks the tag)."""
        body = {
            "tag_name": tag,
            "target_commitish": commit,
            "name": name,
            "body": notes,
            "draft": False,
            "prerelease": False,
        }
        return await self._json("POST", "/releases", body=body, once=True)


def connect(api_url: str, repo: str, token_env: str, **kw: Any) -> GitHub:
    """A client for config ``github:`` (its ``api_url``, ``repo``, ``token_env``), the
    token read from the environment; CockpitError in words when it is not set."""
    token = os.environ.get(token_env, "")
    if not token:
        raise CockpitError(
            f"${token_env} is not set: the GitHub token (config github.token_env names the "
            "variable)"
        )
    return GitHub(api_url, repo, token, **kw)


def connect_to(settings: Any, **kw: Any) -> GitHub:
    """``connect`` for a ``GitHubSettings``."""
    return connect(settings.api_url, settings.repo, settings.token_env, **kw)


def refusal(what: str, answer: httpx.Response) -> str:
    """A refused request in words: the request, the code, GitHub's message and a hint."""
    try:
        data = answer.json()
    except ValueError:
        data = None
    message = data.get("message") if isinstance(data, dict) else None
    reason = str(message) if message else answer.reason_phrase
    if isinstance(data, dict) and isinstance(data.get("errors"), list):
        details = [
            str(e.get("message") or e.get("code") or e) if isinstance(e, dict) else str(e)
            for e in data["errors"][:3]
        ]
        reason += ": " + "; ".join(details)
    hint = HINTS.get(answer.status_code)
    text = " ".join(f"{answer.status_code} {reason}".split())[:300]
    return f"GitHub refused {what}: {text}" + (f" ({hint})" if hint else "")
