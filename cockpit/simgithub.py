"""A GitHub REST API stand-in on loopback: workflow runs, check runs, commit statuses, releases.

Owns the demo's and the tests' GitHub: a threaded HTTP server on 127.0.0.1 (a free port)
answering, for one repository and with a bearer token it checks (401 "Bad credentials"
otherwise), the calls ``cockpit.github`` makes — dispatch a workflow (200 with the run's
details, 204 without as older servers do, or 422 for servers that refuse the key), list a
workflow's runs, get a run and its jobs with steps, cancel a run — and the ones the rest of
the cockpit will need: check runs and the combined status of a commit, creating a release.
A dispatched run goes queued → in_progress → completed over ``duration`` seconds, its jobs
and steps one after another, with the ``conclusion`` asked for (a failure fails the middle
step of ``failing_job``; later steps and jobs are skipped); a cancel ends it ``cancelled``.
``fail_next`` answers the next requests 502, as a proxy in front of GitHub does. Real
sockets, real JSON, as GitHub documents them; no mocks.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

JOBS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("build", ("Set up job", "Check out", "Install dependencies", "Run tests")),
    ("deploy", ("Set up job", "Run migrations", "Deploy to Vercel", "Smoke test")),
)
QUEUED = 0.2
"""The share of a run's duration it spends queued."""


def _iso(wall: float | None) -> str | None:
    if wall is None:
        return None
    return datetime.fromtimestamp(wall, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class SimRun:
    """One dispatched workflow run; its state is a function of the time since it was created."""

    id: int
    file: str
    ref: str
    inputs: dict[str, Any]
    created: float
    duration: float
    conclusion: str
    failing_job: str
    jobs: tuple[tuple[str, tuple[str, ...]], ...]
    cancelled_at: float | None = None

    def _plan(self) -> tuple[float, str]:
        """When (seconds after creation) the run ends, and how."""
        end, how = self.duration, self.conclusion
        if self.conclusion == "failure":
            start, slot = self.duration * QUEUED, self.duration * (1 - QUEUED) / len(self.jobs)
            for n, (name, steps) in enumerate(self.jobs):
                if name == self.failing_job:
                    end = start + n * slot + slot / len(steps) * (len(steps) // 2 + 1)
        if self.cancelled_at is not None and self.cancelled_at - self.created < end:
            return self.cancelled_at - self.created, "cancelled"
        return end, how

    def _part(self, a: float, b: float, t: float, stop: float, how: str) -> dict[str, Any]:
        """Status, conclusion and times of a job or step running ``a``..``b`` seconds in."""
        at = self.created
        if t >= stop and b > stop + 1e-9:  # the run ended before this part did
            if a >= stop:
                return {"status": "completed", "conclusion": "skipped"} | _times(None, None)
            halted = "cancelled" if how == "cancelled" else "failure"
            return {"status": "completed", "conclusion": halted} | _times(at + a, at + stop)
        if t < a:
            return {"status": "queued", "conclusion": None} | _times(None, None)
        if t < b:
            return {"status": "in_progress", "conclusion": None} | _times(at + a, None)
        ok = "failure" if how == "failure" and abs(b - stop) < 1e-9 else "success"
        return {"status": "completed", "conclusion": ok} | _times(at + a, at + b)

    def snapshot(self, base: str, repo: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The run and its jobs as GitHub shows them now."""
        t = time.time() - self.created
        stop, how = self._plan()
        start = self.duration * QUEUED
        slot = self.duration * (1 - QUEUED) / len(self.jobs)
        jobs = []
        for n, (name, steps) in enumerate(self.jobs):
            a = start + n * slot
            job = self._part(a, a + slot, t, stop, how)
            step_slot = slot / len(steps)
            job["steps"] = [
                {"name": s, "number": i + 1}
                | self._part(a + i * step_slot, a + (i + 1) * step_slot, t, stop, how)
                for i, s in enumerate(steps)
            ]
            job_id = self.id * 100 + n
            job |= {"id": job_id, "run_id": self.id, "name": name, "head_branch": self.ref}
            job["html_url"] = f"{base}/{repo}/actions/runs/{self.id}/job/{job_id}"
            jobs.append(job)
        status = "completed" if t >= stop else "queued" if t < start else "in_progress"
        run = {
            "id": self.id,
            "name": self.file,
            "path": f".github/workflows/{self.file}",
            "head_branch": self.ref,
            "event": "workflow_dispatch",
            "status": status,
            "conclusion": how if status == "completed" else None,
            "html_url": f"{base}/{repo}/actions/runs/{self.id}",
            "created_at": _iso(self.created),
            "run_started_at": _iso(self.created + min(start, stop)) if status != "queued" else None,
            "updated_at": _iso(self.created + min(t, stop)),
            "run_attempt": 1,
        }
        return run, jobs


def _times(a: float | None, b: float | None) -> dict[str, Any]:
    return {"started_at": _iso(a), "completed_at": _iso(b)}


NOT_FOUND = (404, {"message": "Not Found"})


def _invalid(code: str, name: str) -> tuple[int, Any]:
    error = {"resource": "Release", "code": code, "field": name}
    return 422, {"message": "Validation Failed", "errors": [error]}


@dataclass
class SimGitHub:
    """The stand-in; ``api_url`` is what config ``github.api_url`` points at."""

    repo: str = "acme/shop"
    token: str = "sim-token"
    workflows: tuple[str, ...] = ("deploy-production.yml",)
    duration: float = 2.0
    conclusion: str = "success"
    failing_job: str = "deploy"
    details: str = "return"
    """Dispatch answers: ``return`` (200 with the run), ``ignore`` (204), ``refuse`` (422)."""
    jobs: tuple[tuple[str, tuple[str, ...]], ...] = JOBS
    html_base: str = "https://github.com"
    runs: dict[int, SimRun] = field(default_factory=dict)
    cancels: list[int] = field(default_factory=list)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    """Each request: method, path, headers."""
    checks: dict[str, dict[str, str]] = field(default_factory=dict)
    statuses: dict[str, dict[str, str]] = field(default_factory=dict)
    releases: list[dict[str, Any]] = field(default_factory=list)
    commit_runs: list[dict[str, Any]] = field(default_factory=list)
    """Workflow runs for a commit (``set_workflow_run``), listed by ``?head_sha=``."""
    fail_flag: Path | None = None
    """A file whose presence makes the next dispatched run conclude ``failure`` (it is
    removed): the demo's "fail next" (``cockpit.demo_commands.FAIL_FLAG``)."""
    _fail: list[tuple[str, int]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.sim = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail_next(self, count: int, path_part: str = "", code: int = 502) -> None:
        """Answer the next ``count`` requests whose path contains ``path_part`` with ``code``
        (502: a proxy's HTML page; 429: rate limited, ``Retry-After: 1``)."""
        with self._lock:
            self._fail.extend([(path_part, code)] * count)

    def set_check(self, ref: str, name: str, conclusion: str | None) -> None:
        """A check run on ``ref`` (a sha or branch); None: still in progress."""
        self.checks.setdefault(ref, {})[name] = conclusion or ""

    def set_status(self, ref: str, context: str, state: str) -> None:
        """A commit status: ``success``, ``failure``, ``error`` or ``pending``."""
        self.statuses.setdefault(ref, {})[context] = state

    def set_workflow_run(self, file: str, sha: str, conclusion: str | None) -> None:
        """A run of ``file`` for the commit ``sha`` (newer than those set before); None:
        still in progress."""
        with self._lock:
            if file not in self.workflows:
                self.workflows = (*self.workflows, file)
            n = 5000 + len(self.commit_runs) + 1
            state = {"status": "completed" if conclusion else "in_progress"}
            self.commit_runs.append(
                {
                    "id": n,
                    "name": file.rsplit(".", 1)[0],
                    "path": f".github/workflows/{file}",
                    "head_sha": sha,
                    "event": "push",
                    "html_url": f"{self.html_base}/{self.repo}/actions/runs/{n}",
                    "created_at": _iso(time.time()),
                    "conclusion": conclusion,
                    **state,
                }
            )

    def start(self) -> SimGitHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SimGitHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answers: (code, body) --------------------------------------------------------------

    def answer(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        prefix = f"/repos/{self.repo}/"
        for pattern, want, handler in self._routes() if path.startswith(prefix) else []:
            match = re.fullmatch(pattern, path[len(prefix) :])
            if match and method == want:
                arg: Any = match.group(1) if match.groups() else None
                if pattern.startswith("actions/runs/"):  # a run's id: the run
                    arg = self.runs.get(int(arg))
                    if arg is None:
                        return NOT_FOUND
                return handler(arg, query, body)
        return NOT_FOUND

    def _routes(self) -> list[tuple[str, str, Any]]:
        return [
            (r"actions/workflows/([^/]+)/dispatches", "POST", self._dispatch),
            (r"actions/workflows/([^/]+)/runs", "GET", self._list),
            (r"actions/runs/(\d+)", "GET", self._run),
            (r"actions/runs/(\d+)/jobs", "GET", self._jobs),
            (r"actions/runs/(\d+)/cancel", "POST", self._cancel),
            (r"commits/([^/]+)/check-runs", "GET", self._check_runs),
            (r"commits/([^/]+)/status", "GET", self._status),
            (r"(releases)", "POST", self._release),
        ]

    def _dispatch(self, file: str, query: dict, body: Any) -> tuple[int, Any]:
        if file not in self.workflows:
            return NOT_FOUND
        if not isinstance(body, dict) or not isinstance(body.get("ref"), str):
            return 422, {"message": 'Invalid request.\n\n"ref" wasn\'t supplied.'}
        if self.details == "refuse" and "return_run_details" in body:
            return 422, {
                "message": 'Invalid request.\n\n"return_run_details" is not a permitted key.'
            }
        with self._lock:
            run_id = 1000 + len(self.runs) + 1
            ref = body["ref"].removeprefix("refs/heads/").removeprefix("refs/tags/")
            how = (self.duration, self.conclusion, self.failing_job, self.jobs)
            if self.fail_flag is not None and self.fail_flag.exists():
                self.fail_flag.unlink(missing_ok=True)
                how = (self.duration, "failure", self.failing_job, self.jobs)
            inputs = dict(body.get("inputs") or {})
            self.runs[run_id] = SimRun(run_id, file, ref, inputs, time.time(), *how)
        if self.details != "return" or not body.get("return_run_details"):
            return 204, None
        url = f"{self.html_base}/{self.repo}/actions/runs/{run_id}"
        return 200, {
            "workflow_run_id": run_id,
            "run_url": f"{self.api_url}/repos/{self.repo}/actions/runs/{run_id}",
            "html_url": url,
        }

    def _list(self, file: str, query: dict, body: Any) -> tuple[int, Any]:
        if file not in self.workflows:
            return NOT_FOUND
        if "head_sha" in query:  # a commit's runs, newest first
            path = f".github/workflows/{file}"
            mine = [r for r in self.commit_runs if r["path"] == path]
            found = [r for r in reversed(mine) if r["head_sha"] == query["head_sha"]]
            return 200, {"total_count": len(found), "workflow_runs": found}
        found = [
            r.snapshot(self.html_base, self.repo)[0]
            for r in sorted(self.runs.values(), key=lambda r: -r.id)
            if r.file == file and query.get("branch") in (None, r.ref)
        ]
        return 200, {"total_count": len(found), "workflow_runs": found}

    def _run(self, run: SimRun, query: dict, body: Any) -> tuple[int, Any]:
        return 200, run.snapshot(self.html_base, self.repo)[0]

    def _jobs(self, run: SimRun, query: dict, body: Any) -> tuple[int, Any]:
        jobs = run.snapshot(self.html_base, self.repo)[1]
        return 200, {"total_count": len(jobs), "jobs": jobs}

    def _cancel(self, run: SimRun, query: dict, body: Any) -> tuple[int, Any]:
        self.cancels.append(run.id)
        if run.snapshot(self.html_base, self.repo)[0]["status"] == "completed":
            return 409, {"message": "Cannot cancel a workflow run that is completed."}
        run.cancelled_at = time.time()
        return 202, {}

    def _check_runs(self, ref: str, query: dict, body: Any) -> tuple[int, Any]:
        runs = []
        for n, (name, c) in enumerate(self.checks.get(ref, {}).items(), 1):
            url = f"{self.html_base}/{self.repo}/runs/{n}"
            state = {"status": "completed" if c else "in_progress", "conclusion": c or None}
            runs.append({"id": n, "name": name, "head_sha": ref, "html_url": url, **state})
        return 200, {"total_count": len(runs), "check_runs": runs}

    def _status(self, ref: str, query: dict, body: Any) -> tuple[int, Any]:
        states = self.statuses.get(ref, {})
        values = set(states.values())
        bad, waiting = values & {"failure", "error"}, not values or "pending" in values
        combined = "failure" if bad else "pending" if waiting else "success"
        listed = [{"context": c, "state": s, "target_url": None} for c, s in states.items()]
        return 200, {"state": combined, "sha": ref, "total_count": len(listed), "statuses": listed}

    def _release(self, _: str, query: dict, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("tag_name"), str):
            return _invalid("missing_field", "tag_name")
        if any(r["tag_name"] == body["tag_name"] for r in self.releases):
            return _invalid("already_exists", "tag_name")
        release = {k: body.get(k) for k in ("tag_name", "name", "body", "draft", "prerelease")}
        release["id"] = len(self.releases) + 1
        release["html_url"] = f"{self.html_base}/{self.repo}/releases/tag/{body['tag_name']}"
        self.releases.append(release)
        return 201, release


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        sim: SimGitHub = self.server.sim  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        sim.requests.append((method, parts.path, dict(self.headers.items())))
        with sim._lock:
            hit = next((f for f in sim._fail if f[0] in parts.path), None)
            if hit is not None:
                sim._fail.remove(hit)
        if hit is not None and hit[1] == 429:
            return self._json(429, {"message": "API rate limit exceeded"}, {"Retry-After": "1"})
        if hit is not None:
            page = f"<html><body><h1>{hit[1]} Bad Gateway</h1></body></html>".encode()
            return self._send(hit[1], page, "text/html")
        if self.headers.get("Authorization") != f"Bearer {sim.token}":
            return self._json(401, {"message": "Bad credentials", "status": "401"})
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return self._json(400, {"message": "Problems parsing JSON"})
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        code, answer = sim.answer(method, parts.path, query, body)
        if answer is None:
            return self._send(code, b"", "application/json")
        self._json(code, answer)

    def _json(self, code: int, data: Any, headers: dict[str, str] | None = None) -> None:
        self._send(code, json.dumps(data).encode(), "application/json; charset=utf-8", headers)

    def _send(
        self, code: int, body: bytes, kind: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(code)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-GitHub-Api-Version-Selected", "2022-11-28")
        self.end_headers()
        self.wfile.write(body)
