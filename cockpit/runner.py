"""Running a step: its commands as real subprocesses, every line kept, abortable.

Owns executing one runbook step: placeholders substituted (shell-quoted), each
command run with ``/bin/sh -c`` in its own session with stdin from /dev/null and
the step token in its environment; stdout and stderr read in chunks as they
arrive, each line timestamped, secrets masked, and appended to
``runs/ID/logs/PHASE/STEP.log`` at once (a killed cockpit loses nothing that was
printed); per-command timeouts; built-in health probes; the first failing command
stops the step unless ``allow_failure``; and abort (SIGINT, SIGTERM, SIGKILL to the
whole tree, verified). Every start, exit and outcome is journaled through the
``record`` callback, so the TUI, headless mode and watchers see the same run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil

from cockpit.durations import format_duration
from cockpit.errors import CockpitError
from cockpit.health import READY, probe_once
from cockpit.placeholders import substitute
from cockpit.proctree import TOKEN_VAR, new_token, stop_tree
from cockpit.runbook import Command, Step
from cockpit.secrets import Redactor
from cockpit.session import Intent, RunSession
from cockpit.workspace import ensure_private_dir

CHUNK = 256 * 1024
LONGEST_LINE = 64 * 1024
PIPE_GRACE = 2.0
"""Seconds to wait for the output pipes after a command exits (a background child may hold them)."""

OutputSink = Callable[[str, list[bytes], str], None]
Record = Callable[[Intent], Awaitable[None]]


def stamp() -> str:
    """A log timestamp: UTC, milliseconds."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class StepLog:
    """The append-only log of one step: ``TS O|E|# text`` per line, owner-only."""

    def __init__(self, path: Path, redactor: Redactor):
        ensure_private_dir(path.parent)
        self.path = path
        self.redactor = redactor
        self._secrets = [v.encode() for v in redactor.values]
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.lines = 0
        self.error: str | None = None

    def mask(self, data: bytes) -> bytes:
        for secret in self._secrets:
            if secret in data:
                data = data.replace(secret, b"***")
        return data

    def write(self, tag: str, lines: list[bytes], ts: str) -> None:
        """Append ``lines`` (already masked) with one timestamp; a full disk is remembered."""
        if not lines or self.error:
            return
        prefix = f"{ts} {tag} ".encode()
        data = prefix + (b"\n" + prefix).join(lines) + b"\n"
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            self.lines += len(lines)
        except OSError as exc:
            self.error = f"cannot write the step log {self.path}: {exc.strerror or exc}"

    def note(self, text: str) -> list[bytes]:
        """A line of the cockpit's own (``#``): banners, exits, outcomes."""
        line = self.mask(text.encode())
        self.write("#", [line], stamp())
        return [line]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.fsync(self._fd)
        os.close(self._fd)


@dataclass
class StepOutcome:
    """How a step ended."""

    state: str
    exit_code: int | None
    reason: str | None
    duration_s: float


def exit_words(returncode: int | None) -> str:
    if returncode is None:
        return "no exit status"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit {returncode}"


def probe_url(session: RunSession, step: Step, env: str) -> str:
    config = session.ws.config
    if env not in config.environments:
        raise CockpitError(f"step {step.id!r}: environment {env!r} is not configured")
    return config.environments[env].url + config.health.path


def render_commands(session: RunSession, step: Step) -> list[str]:
    """Each command of ``step`` as it will run (placeholders substituted) or the probe it is."""
    values = session.placeholder_values()
    out = []
    for command in step.commands:
        if command.health is not None:
            out.append(f"probe {command.health} {probe_url(session, step, command.health)}")
            continue
        assert command.run is not None
        try:
            out.append(substitute(command.run, values))
        except KeyError as exc:
            raise CockpitError(f"step {step.id!r}: no value for {{{exc.args[0]}}}") from None
    return out


class StepRunner:
    """Runs one step of one phase of a session; ``abort()`` stops it from anywhere."""

    def __init__(
        self,
        session: RunSession,
        phase_id: str,
        step_id: str,
        record: Record,
        on_output: OutputSink | None = None,
        grace: float = 2.0,
    ):
        self.session = session
        self.phase_id = phase_id
        self.step: Step = session.step_spec(phase_id, step_id)
        self.record = record
        self.on_output = on_output or (lambda stream, lines, ts: None)
        self.grace = grace
        self.token = new_token()
        self.current_pid: int | None = None
        self._abort = asyncio.Event()
        self._stopped_by_log = False
        self.commands = self.render_commands()

    def render_commands(self) -> list[str]:
        return render_commands(self.session, self.step)

    def _probe_url(self, env: str) -> str:
        return probe_url(self.session, self.step, env)

    def abort(self) -> None:
        """Ask the running step to stop; the command's whole tree is stopped."""
        self._abort.set()

    async def run(self) -> StepOutcome:
        started = time.monotonic()
        session = self.session
        await self.record(session.plan_step_start(self.phase_id, self.step.id, self.commands))
        path = session.log_path(self.phase_id, self.step.id)
        log = await asyncio.to_thread(StepLog, path, session.redactor)  # mkdir/open off the loop
        attempt = session.state.step(self.phase_id, self.step.id).attempts
        self._emit(
            "#", log.note(f"=== {self.step.title} (attempt {attempt}) by {session.operator}")
        )
        outcome = StepOutcome("done", 0, None, 0.0)
        try:
            for index, (command, shown) in enumerate(
                zip(self.step.commands, self.commands, strict=True)
            ):
                if self._abort.is_set():
                    outcome = StepOutcome("aborted", None, "aborted by the operator", 0.0)
                    break
                self._emit("#", log.note(f"$ {shown}"))
                code, words = await self._run_one(index, command, shown, log)
                self._emit("#", log.note(f"→ {words}"))
                if log.error:
                    self._emit("#", [log.error.encode()])
                    outcome = StepOutcome("failed", code, log.error, 0.0)
                    break
                if words == "aborted":
                    outcome = StepOutcome("aborted", code, "aborted by the operator", 0.0)
                    break
                if code != 0 and not command.allow_failure:
                    outcome = StepOutcome("failed", code, f"`{shown}` failed: {words}", 0.0)
                    break
                if code != 0:
                    self._emit("#", log.note(f"(allowed to fail: {words})"))
        finally:
            outcome.duration_s = time.monotonic() - started
            self._emit(
                "#",
                log.note(
                    f"=== step {outcome.state} after {format_duration(outcome.duration_s)}"
                    + (f": {outcome.reason}" if outcome.reason else "")
                ),
            )
            await asyncio.to_thread(log.close)  # fsync off the event loop
            await self.record(
                session.plan_step_finished(
                    self.phase_id,
                    self.step.id,
                    outcome.state,
                    outcome.exit_code,
                    outcome.reason,
                    outcome.duration_s,
                )
            )
        return outcome

    def _emit(self, stream: str, lines: list[bytes]) -> None:
        with contextlib.suppress(Exception):  # a display problem must never stop a deploy
            self.on_output(stream, lines, stamp())

    async def _run_one(
        self, index: int, command: Command, shown: str, log: StepLog
    ) -> tuple[int | None, str]:
        started = time.monotonic()
        if command.health is not None:
            code, words = await self._probe(index, command.health, log)
        else:
            code, words = await self._spawn(index, shown, command.timeout, log)
        await self.record(
            self.session.plan_command_finished(
                self.phase_id,
                self.step.id,
                index,
                code,
                words,
                time.monotonic() - started,
            )
        )
        return code, words

    async def _probe(self, index: int, env: str, log: StepLog) -> tuple[int | None, str]:
        config = self.session.ws.config
        await self.record(
            self.session.plan_command_started(
                self.phase_id, self.step.id, index, f"probe {env}", None, None, self.token
            )
        )
        sample = await probe_once(env, self._probe_url(env), config.health.timeout)
        checks = ", ".join(f"{k} {v}" for k, v in sample.checks.items())
        line = (
            f"{env}: {sample.state} {sample.http_status or ''} in {sample.latency_ms:.0f}ms"
            + (f" ({checks})" if checks else "")
            + (f" — {sample.reason}" if sample.reason else "")
        )
        self._emit("O", [line.encode()])
        log.write("O", [line.encode()], stamp())
        return (0, "READY") if sample.state == READY else (1, f"{sample.state}: {sample.reason}")

    async def _spawn(
        self, index: int, shown: str, timeout: float | None, log: StepLog
    ) -> tuple[int | None, str]:
        env = dict(os.environ)
        env[TOKEN_VAR] = self.token
        env["COCKPIT_RUN_ID"] = self.session.run_id
        try:
            proc = await asyncio.create_subprocess_exec(
                "/bin/sh",
                "-c",
                shown,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                cwd=self.session.ws.root,
                env=env,
            )
        except OSError as exc:
            return None, f"could not start: {exc.strerror or exc}"
        self.current_pid = proc.pid
        try:
            create_time = psutil.Process(proc.pid).create_time()
        except psutil.Error:
            create_time = None
        await self.record(
            self.session.plan_command_started(
                self.phase_id, self.step.id, index, shown, proc.pid, create_time, self.token
            )
        )
        assert proc.stdout is not None and proc.stderr is not None
        readers = [
            asyncio.create_task(self._pump(proc.stdout, "O", log)),
            asyncio.create_task(self._pump(proc.stderr, "E", log)),
        ]
        waiter = asyncio.create_task(proc.wait())
        aborter = asyncio.create_task(self._abort.wait())
        words: str | None = None
        try:
            done, _ = await asyncio.wait(
                {waiter, aborter}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if waiter not in done:
                if aborter in done:
                    words = (
                        "stopped: the step log cannot be written"
                        if self._stopped_by_log
                        else "aborted"
                    )
                else:
                    words = f"timed out after {format_duration(timeout or 0)}"
                survivors = await stop_tree(proc.pid, self.token, self.grace)
                if survivors:
                    self._emit("#", log.note(f"processes still alive after SIGKILL: {survivors}"))
                await waiter
            if log.error and proc.returncode is None:
                await stop_tree(proc.pid, self.token, self.grace)
            # a background child may keep the pipes open: do not wait for it forever
            _, pending = await asyncio.wait(readers, timeout=PIPE_GRACE)
            for reader in pending:
                reader.cancel()
            if pending:
                self._emit(
                    "#", log.note("a background process still holds the output; stopped reading")
                )
        finally:
            aborter.cancel()
            self.current_pid = None
        code = proc.returncode
        return code, words or exit_words(code)

    async def _pump(self, stream: asyncio.StreamReader, tag: str, log: StepLog) -> None:
        """Read a pipe in chunks; write whole lines (masked, timestamped) as they arrive."""
        tail = b""
        while True:
            chunk = await stream.read(CHUNK)
            if not chunk:
                break
            data = tail + chunk
            end = data.rfind(b"\n")
            if end < 0:
                if len(data) < LONGEST_LINE:
                    tail = data
                    continue
                end = len(data)  # an endless line: cut it
                data += b"\n"
            lines = log.mask(data[:end]).split(b"\n")
            tail = data[end + 1 :]
            ts = stamp()
            log.write(tag, lines, ts)
            self._emit(tag, lines)
            if log.error and not self._abort.is_set():
                self._stopped_by_log = True  # nothing may run unlogged: stop the command
                self._abort.set()
        if tail:
            lines = [log.mask(tail)]
            log.write(tag, lines, stamp())
            self._emit(tag, lines)
