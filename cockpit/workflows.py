"""A step's ``workflow:`` command: a GitHub Actions run dispatched and followed to its end.

Owns what the supervisor does for such a command (``follow``): read the token from the
variable the config names, dispatch the workflow, find the run it started (the dispatch's
run details, else the newest new dispatched run of that workflow and ref), say its id and
page (``found``), then poll it every ``poll`` seconds and say one line per change — the
run's status, each job's and step's state with durations, and finally the conclusion.
``success`` is exit 0; any other conclusion is a failure naming it and the failed jobs.
Transient API errors are said and retried, never a failure by themselves. The supervisor's
abort (or the command's ``timeout``) cancels the run through the API and says so, unless
the operator chose to leave it running. A follow can also re-attach to a run already
dispatched (``attach``: its journaled id), when an earlier supervisor died following it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from cockpit.durations import format_duration
from cockpit.errors import CockpitError, error_words
from cockpit.github import GitHub, GitHubError, RunRef, Unanswered, connect, parse_time

FIND_WITHIN = 120.0
"""How long after the dispatch its run may take to be listed before the command fails."""
CANCEL_WAIT = 20.0
"""How long an abort waits for GitHub to accept the cancel and end the run (the cockpit
waits 30 s for a supervisor to record an abort)."""
OK = ("success", "skipped", "neutral")
T = TypeVar("T")


class Stopped(Exception):
    """The follow was stopped: aborted (the supervisor's abort) or past the timeout."""


class Follow:
    """One workflow command being followed; see the module docstring."""

    def __init__(
        self,
        call: dict[str, Any],
        say: Callable[[str], None],
        abort: asyncio.Event,
        timeout: float | None,
    ):
        self.call, self.say, self.abort = call, say, abort
        self.poll = float(call.get("poll") or 5.0)
        self.deadline = time.monotonic() + timeout if timeout else None
        self.run: RunRef | None = None
        self.seen: dict[Any, tuple[Any, Any]] = {}
        self.known: set[int] = set()
        """The runs listed before the dispatch (never taken for the one it started)."""
        self.since: datetime | None = None
        """When the dispatch was sent (None: not yet)."""
        self._failing = False

    def _retrying(self, words: str) -> None:
        if not self._failing:  # said once per outage, and when it is over
            self.say(f"GitHub API: {words}")
        self._failing = True

    async def _call(self, call: Awaitable[T]) -> T:
        """``call``'s result, unless the abort or the deadline comes first (Stopped)."""
        task = asyncio.ensure_future(call)
        stop = asyncio.ensure_future(self.abort.wait())
        left = None if self.deadline is None else max(0.0, self.deadline - time.monotonic())
        try:
            await asyncio.wait({task, stop}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            raise Stopped
        result = task.result()
        if self._failing:
            self.say("GitHub API answers again")
            self._failing = False
        return result

    async def _pause(self) -> None:
        await self._call(asyncio.sleep(self.poll))

    # -- the command ---------------------------------------------------------------------

    async def start(self, gh: GitHub) -> RunRef:
        """Dispatch; the run it started (found by listing when GitHub does not say)."""
        file, ref, inputs = self.call["file"], self.call["ref"], self.call.get("inputs") or {}
        self.known = {r["id"] for r in await self._call(gh.runs(file, ref)) if "id" in r}
        since = self.since = datetime.now(UTC)
        shown = ", ".join(f"{k}={v}" for k, v in inputs.items())
        try:
            run = await self._call(gh.dispatch(file, ref, inputs))
            self.say(f"dispatched {file} @ {ref} on {gh.repo}" + (f" ({shown})" if shown else ""))
        except Unanswered as exc:  # it may have started: look, never dispatch twice
            self.say(f"the dispatch got no answer ({exc}); looking for the run it may have started")
            run = None
        if run is not None:
            return run
        self.say("GitHub did not say which run it started: looking for it")
        while True:
            run = await self._call(gh.find_run(file, ref, since, self.known))
            if run is not None:
                return run
            if (datetime.now(UTC) - since).total_seconds() > FIND_WITHIN:
                raise GitHubError(
                    f"no new run of {file} on {ref} appeared within "
                    f"{format_duration(FIND_WITHIN)} of the dispatch (see "
                    f"{gh.base}/repos/{gh.repo}/actions/workflows/{file}/runs)"
                )
            await self._pause()

    async def watch(self, gh: GitHub, run: RunRef) -> tuple[int | None, str]:
        """Poll until the run completes; (0, words) on success, (1, words) otherwise."""
        while True:
            data = await self._call(gh.run(run.id))
            jobs = await self._call(gh.jobs(run.id))
            for line in self.changes(run, data, jobs):
                self.say(line)
            if data.get("status") == "completed":
                return self.outcome(run, data, jobs)
            await self._pause()

    def changes(self, run: RunRef, data: dict[str, Any], jobs: list[dict[str, Any]]) -> list[str]:
        """One line per state that changed since the last look."""
        out = []
        status = data.get("status")
        if self._new("run", status, None) and status != "completed":  # the outcome says it
            out.append(f"run {run.id}: {_word(data.get('status'))}")
        for job in jobs:
            name = str(job.get("name") or job.get("id"))
            head = self._new(("job", job.get("id")), job.get("status"), job.get("conclusion"))
            line = f"job {name}: {_state(job)}"
            if head and job.get("status") != "completed":
                out.append(line)
            for step in job.get("steps") or []:
                if not isinstance(step, dict) or step.get("status") in ("queued", "pending"):
                    continue
                key = ("step", job.get("id"), step.get("number"))
                if self._new(key, step.get("status"), step.get("conclusion")):
                    out.append(f"job {name} › {step.get('name')}: {_state(step)}")
            if head and job.get("status") == "completed":
                out.append(line)
        return out

    def _new(self, key: Any, status: Any, conclusion: Any) -> bool:
        if self.seen.get(key) == (status, conclusion):
            return False
        self.seen[key] = (status, conclusion)
        return True

    def outcome(
        self, run: RunRef, data: dict[str, Any], jobs: list[dict[str, Any]]
    ) -> tuple[int | None, str]:
        conclusion = data.get("conclusion")
        took = _took(data.get("run_started_at") or data.get("created_at"), data.get("updated_at"))
        self.say(f"run {run.id}: completed, {conclusion or 'no conclusion'}{took}")
        if conclusion == "success":
            return 0, f"workflow run {run.id} concluded success ({run.url})"
        failed = []
        for job in jobs:
            if job.get("conclusion") not in (*OK, None):
                steps = [
                    s.get("name")
                    for s in job.get("steps") or []
                    if isinstance(s, dict) and s.get("conclusion") not in (*OK, None)
                ]
                at = f" at step {steps[0]!r}" if steps else ""
                failed.append(f"{job.get('name')} ({job.get('conclusion')}{at})")
        jobs_words = f"; failed job{'s' if len(failed) > 1 else ''}: {', '.join(failed)}"
        return 1, (
            f"workflow run {run.id} concluded {conclusion or 'without a conclusion'}"
            f"{jobs_words if failed else ''} ({run.url})"
        )

    async def stop(self, gh: GitHub, why: str) -> str:
        """Cancel the run (or one the dispatch may have started); what happened, in words.
        Bounded by ``CANCEL_WAIT`` (well within the cockpit's wait for an abort)."""
        ends = time.monotonic() + CANCEL_WAIT
        run = self.run
        looked = True
        if run is None and self.since is not None:
            try:
                run = await asyncio.wait_for(
                    gh.find_run(self.call["file"], self.call["ref"], self.since, self.known), 5
                )
            except Exception:  # not knowing is not "nothing started"
                looked = False
        if run is None and not looked:
            return (
                f"{why}; the dispatch was sent but GitHub did not say which run it started: "
                f"a run may be going on, look at {gh.base}/repos/{gh.repo}/actions"
            )
        if run is None:
            return f"{why}; no workflow run had started to cancel"
        self.say(f"cancelling workflow run {run.id} on GitHub ({why})")
        try:
            await asyncio.wait_for(gh.cancel(run.id), ends - time.monotonic())
        except (GitHubError, TimeoutError) as exc:
            words = str(exc) or f"no answer within {format_duration(CANCEL_WAIT)}"
            self.say(f"the cancel failed: {words}")
            return (
                f"{why}; workflow run {run.id} could NOT be cancelled, it may still run ({run.url})"
            )
        self.say("GitHub accepted the cancel")
        while time.monotonic() < ends:
            with contextlib.suppress(Exception):
                data = await asyncio.wait_for(gh.run(run.id), max(0.1, ends - time.monotonic()))
                if data.get("status") == "completed":
                    self.say(f"run {run.id}: completed, {data.get('conclusion')}")
                    return f"{why}; workflow run {run.id} cancelled ({run.url})"
            await asyncio.sleep(min(self.poll, 2.0))
        return f"{why}; workflow run {run.id} is being cancelled ({run.url})"


async def follow(
    call: dict[str, Any],
    say: Callable[[str], None],
    found: Callable[[int, str], None],
    abort: asyncio.Event,
    abort_reason: Callable[[], str | None],
    timeout: float | None = None,
    attach: RunRef | None = None,
    cancel_on_abort: Callable[[], bool] = lambda: True,
) -> tuple[int | None, str]:
    """Run one ``workflow:`` command (``runner.workflow_call``); (exit code, words) as a
    shell command's. Words starting ``aborted`` when the supervisor's abort stopped it.

    ``attach``: follow this run (dispatched by an earlier supervisor) instead of
    dispatching; ``cancel_on_abort``: asked when aborted, False leaves the run running."""
    job = Follow(call, say, abort, timeout)
    try:
        gh = connect(
            call["api_url"],
            call["repo"],
            call["token_env"],
            first_backoff=min(1.0, job.poll),
            on_retry=job._retrying,
        )
    except CockpitError as exc:
        where = f" (workflow run {attach.id} may still run: {attach.url})" if attach else ""
        return None, f"no GitHub token: {exc}{where}"
    try:
        try:
            if attach is not None:
                job.run = attach
                say(f"re-attached to workflow run {attach.id}: {attach.url}")
            else:
                job.run = await job.start(gh)
                found(job.run.id, job.run.url)
                say(f"workflow run {job.run.id}: {job.run.url}")
            return await job.watch(gh, job.run)
        except Stopped:
            if abort.is_set() and not cancel_on_abort():
                left = (
                    f"workflow run {job.run.id} left running on GitHub ({job.run.url})"
                    if job.run
                    else "its run was not found yet: look on GitHub"
                    if job.since
                    else "nothing was dispatched"
                )
                say(f"stopped following: {left}")
                return None, f"aborted: {abort_reason() or 'aborted'}; {left}"
            if abort.is_set():
                return None, "aborted: " + await job.stop(gh, abort_reason() or "aborted")
            waited = f"timed out after {format_duration(timeout or 0)}"
            return None, await job.stop(gh, waited)
        except Exception as exc:  # fail closed, and say where the run may go on
            where = f" (workflow run {job.run.id} may still run: {job.run.url})" if job.run else ""
            words = str(exc) if isinstance(exc, GitHubError) else error_words(exc)
            return None, f"{words}{where}"
    finally:
        await gh.aclose()


def _word(status: Any) -> str:
    return str(status or "unknown").replace("_", " ")


def _state(part: dict[str, Any]) -> str:
    """``in progress``, or ``success (12s)`` once completed."""
    if part.get("status") != "completed":
        return _word(part.get("status"))
    took = _took(part.get("started_at"), part.get("completed_at"))
    return f"{part.get('conclusion') or 'no conclusion'}{took}"


def _took(start: Any, end: Any) -> str:
    a, b = parse_time(start), parse_time(end)
    if a is None or b is None or b < a:
        return ""
    return f" ({format_duration((b - a).total_seconds())})"
