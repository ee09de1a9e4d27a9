"""The step supervisor: a small detached process that runs one step and outlives the cockpit.

Owns everything between a step's commands and the disk. The driver starts it as
``python -m cockpit.supervisor`` in a session of its own, with no terminal, and hands
it the step (a ``StepSpec`` as JSON on stdin, so secrets never touch the disk). It runs
each command with ``/bin/sh -c`` (own session, stdin /dev/null, the step token in its
environment), reads stdout and stderr, writes every line timestamped and masked to the
step log (``TS O|E|# text``), enforces timeouts, stops the whole tree on abort
(SIGUSR1 from a cockpit, or SIGTERM), journals ``command.started``,
``command.finished`` and ``step.finished``, and keeps the step's status file beside
the log (its own pid, each command's pid, exit code or signal, end time), replaced
atomically and fsynced at every change; each of those files is opened through
``cockpit.safefiles`` from the state folder down (never through a link). The cockpit
only follows those files: killing it at any moment leaves the command running to its end
with its outcome on disk. A background process that keeps the output open is still read after the step ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import json
import os
import pty
import signal
import struct
import sys
import termios
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from cockpit.clock import Clock, iso
from cockpit.durations import format_duration
from cockpit.errors import error_words
from cockpit.events import CommandFinished, CommandStarted, Event, StepFinished, StepStatus
from cockpit.journal import Journal
from cockpit.logsearch import tail_lines
from cockpit.proctree import TOKEN_VAR, stop_tree
from cockpit.safefiles import append_whole, open_file, private_dir, read_bytes, replace_file
from cockpit.secrets import Redactor, mask_userinfo_bytes
from cockpit.termtext import clean_chunk, has_controls, plain

CHUNK = 256 * 1024
LONGEST_LINE = 64 * 1024
PIPE_GRACE = 0.5
"""Seconds the output is drained after the command's shell exits (its exit is the command's
end); a background process that holds the pipes longer is still read, after the step's
outcome is recorded, until it closes them."""
STATUS_FORMAT = 1
ABORT_SIGNAL = signal.SIGUSR1
"""What a cockpit sends the supervisor to abort the step ("aborted by the operator")."""
LEAVE_SIGNAL = signal.SIGUSR2
"""An abort that leaves a followed GitHub workflow run running (not cancelled on GitHub)."""


def stamp() -> str:
    """A log timestamp: UTC, milliseconds."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def exit_words(returncode: int | None) -> str:
    """How a process ended, in words: "exit 3", "killed by SIGKILL"."""
    if returncode is None:
        return "no exit status"
    if returncode < 0:
        return f"killed by {signal_name(-returncode)}"
    return f"exit {returncode}"


def command_ended(shown: str, words: str) -> str:
    """How a command ended, as a failed step's reason that reads once after "failed: ":
    "`migrate` exited 1", "`migrate` was killed by SIGKILL", "`migrate` timed out after
    5m", "`gh …`: workflow run 42 concluded failure"."""
    if words.startswith("exit "):
        words = "exited " + words.removeprefix("exit ")
    elif words.startswith("killed by "):
        words = "was " + words
    elif words == "no exit status":
        words = "ended with no exit status"
    elif not words.startswith(("timed out", "could not start")):
        return f"`{shown}`: {words}"
    return f"`{shown}` {words}"


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


@dataclass
class CommandSpec:
    """One command of a step: a shell line (as shown, substituted) or a built-in probe."""

    shown: str
    run: bool = True
    timeout: float | None = None
    allow_failure: bool = False
    env: str | None = None
    """For a probe: the environment's name."""
    url: str | None = None
    """For a probe: the ready endpoint."""
    probe_timeout: float = 3.0
    p95_budget_ms: float = 800.0
    """For a probe: the environment's latency budget (judged as its health panel does)."""
    baseline_p95_ms: float | None = None
    """For a probe: the baseline's p95 when one is taken (the rollback signal)."""
    tty: bool = False
    """Run under a pseudo-terminal (``columns`` wide) instead of pipes."""
    columns: int = 120
    cwd: str | None = None
    """Where it runs (None: the step's ``cwd``, the workspace)."""
    environ: dict[str, str] = field(default_factory=dict)
    """Environment variables over the cockpit's own."""
    place: str = ""
    """``in api, NODE_ENV=production``: said after the command in its log banner."""
    guard: bool = False
    """The step's ``when:``: exit 0 runs the rest, exit 1 skips the step, else it fails."""
    workflow: dict[str, Any] | None = None
    """A GitHub Actions workflow to dispatch and follow (``runner.workflow_call``): the
    token's variable NAME only; the supervisor reads the token from its environment."""


@dataclass
class StepSpec:
    """Everything the supervisor needs to run one attempt of one step, and where to write."""

    run_id: str
    phase: str
    step: str
    title: str
    attempt: int
    operator: str
    token: str
    cwd: str
    journal: str
    log: str
    status: str
    commands: list[CommandSpec]
    mask: list[str] = field(default_factory=list)
    """Secret values to mask (handed over on stdin; never written)."""
    grace: float = 2.0
    state_dir: str = ""
    """The state folder the journal, log and status are checked from ("": their own)."""
    resume: dict[str, Any] | None = None
    """Re-attach to this attempt after its supervisor died following a workflow run:
    ``{"status": the attempt's status file}``; its last command (a workflow run, id
    journaled) is followed, not dispatched again, and the commands after it run."""

    @property
    def anchor(self) -> Path | None:
        return Path(self.state_dir) if self.state_dir else None

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_json(cls, data: bytes) -> StepSpec:
        raw = json.loads(data)
        raw["commands"] = [CommandSpec(**c) for c in raw["commands"]]
        return cls(**raw)


def new_status(spec: StepSpec, pid: int, create_time: float | None, state: str) -> dict[str, Any]:
    """A status file's content before any command ran (the cockpit's "starting", then the
    supervisor's own "running")."""
    return {
        "v": STATUS_FORMAT,
        "run": spec.run_id,
        "phase": spec.phase,
        "step": spec.step,
        "attempt": spec.attempt,
        "state": state,
        "supervisor": {"pid": pid, "create_time": create_time},
        "token": spec.token,
        "started_at": None,
        "finished_at": None,
        "exit_code": None,
        "signal": None,
        "reason": None,
        "duration_s": None,
        "commands": [],
    }


def status_path(log: Path) -> Path:
    """The step's status file, beside its log: ``STEP.status``."""
    return log.with_suffix(".status")


def write_status(path: Path, status: dict[str, Any], anchor: Path | None = None) -> None:
    """Replace the status file atomically (write, fsync, rename, fsync the folder)."""
    replace_file(path, json.dumps(status, ensure_ascii=False).encode(), anchor)


def read_status(path: Path, anchor: Path | None = None) -> dict[str, Any] | None:
    """The status file's content, or None when it is missing, unreadable or not a status
    (a hand-edited one with a supervisor that is not ``{"pid": N, "create_time": T}``)."""
    try:
        data = json.loads(read_bytes(path, anchor) or b"")
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    sup = data.get("supervisor")
    if sup is None:
        return data
    if not isinstance(sup, dict):
        return None
    pid, created = sup.get("pid"), sup.get("create_time")
    if isinstance(pid, bool) or not isinstance(pid, int | None):
        return None
    if isinstance(created, bool) or not isinstance(created, int | float | None):
        return None
    return data


class CommandCrashed(Exception):
    """A command the supervisor could not see through (its probe or its pipes raised): the
    step fails whatever ``allow_failure`` says, with ``words`` saying why."""

    def __init__(self, shown: str, words: str):
        super().__init__(words)
        self.shown, self.words = shown, words


class StepLog:
    """The append-only log of one step: ``TS O|E|# text`` per line, owner-only, masked."""

    def __init__(self, path: Path, redactor: Redactor, anchor: Path | None = None):
        private_dir(path.parent, anchor)
        self.path = path
        self._secrets = [v.encode() for v in redactor.values]
        self.keep_back = max((len(v) for v in self._secrets), default=1) - 1
        """Bytes an endless line's cut keeps back: a secret's start is never cut from its end."""
        self._fd = open_file(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, anchor)
        self.lines = 0
        self.error: str | None = None

    def mask(self, data: bytes) -> bytes:
        """Secrets replaced by ``***`` — also one that control characters split (``a\\e[0mbc``
        shows as ``abc``): such a line is kept as its plain text, masked."""
        for secret in self._secrets:
            if secret in data:
                data = data.replace(secret, b"***")
        data = mask_userinfo_bytes(data)  # http://user:***@host, configured or not
        if self._secrets and has_controls(data):
            # the chunk's plain text by C-level passes first (``clean_chunk``, the same as
            # ``plain`` line by line): no secret in it, no line below would change
            shown = clean_chunk(data, colour=False)
            if not any(secret in shown for secret in self._secrets):
                return data
            lines = data.split(b"\n")
            for n, line in enumerate(lines):
                if has_controls(line):
                    text = plain(line.decode("utf-8", "replace")).encode()
                    if any(secret in text for secret in self._secrets):
                        lines[n] = self.mask(text)
            data = b"\n".join(lines)
        return data

    def write(self, tag: str, lines: list[bytes], ts: str) -> None:
        """Append ``lines`` (already masked) with one timestamp; a full disk is remembered."""
        if not lines or self.error:
            return
        prefix = f"{ts} {tag} ".encode()
        data = prefix + (b"\n" + prefix).join(lines) + b"\n"
        try:
            append_whole(self._fd, data, self.path)  # whole lines or none
            self.lines += len(lines)
        except OSError as exc:
            why = os.strerror(exc.errno) if exc.errno else str(exc)
            self.error = f"cannot write the step log {self.path}: {why}"

    def note(self, text: str) -> None:
        """A line of the supervisor's own (``#``): banners, exits, outcomes."""
        lines = text.rstrip("\n").split("\n")  # a multi-line command: a log line each
        self.write("#", [self.mask(line.encode()) for line in lines], stamp())

    def sync(self) -> None:
        with contextlib.suppress(OSError):
            os.fsync(self._fd)

    def close(self) -> None:
        self.sync()
        os.close(self._fd)


class Supervisor:
    """Runs one step from its spec; see the module docstring."""

    def __init__(self, spec: StepSpec):
        self.spec = spec
        self.redactor = Redactor(spec.mask)
        self.clock = Clock()
        self.journal = Journal(
            Path(spec.journal), spec.operator, self.clock, self.redactor, anchor=spec.anchor
        )
        self.log = StepLog(Path(spec.log), self.redactor, spec.anchor)
        self.status_file = Path(spec.status)
        self.abort_reason: str | None = None
        self._abort = asyncio.Event()
        self._lingering: list[asyncio.Task[None]] = []
        self.cancel_run = True
        """An abort cancels a followed workflow run (False: it is left running)."""
        me = psutil.Process()
        self.status = new_status(spec, me.pid, me.create_time(), "running")
        self.status["started_at"] = iso(self.clock.now())
        self.first = 0
        """The first command this supervisor runs: past 0 when it re-attached."""
        self.reattached = bool(spec.resume)
        """This supervisor took over a step whose supervisor died following a workflow."""
        self.began = time.monotonic()
        if spec.resume:
            before = spec.resume["status"]
            self.status.update(started_at=before["started_at"], commands=before["commands"])
            self.first = len(before["commands"]) - 1
            if not 0 <= self.first < len(spec.commands):
                raise ValueError("a re-attach names a command the step does not have")
            since = datetime.fromisoformat(before["started_at"].replace("Z", "+00:00"))
            self.began -= max(0.0, (datetime.now(UTC) - since).total_seconds())

    # -- recording ---------------------------------------------------------------------

    def _save(self) -> None:
        with contextlib.suppress(OSError):  # a full disk: the journal line says what happened
            write_status(self.status_file, self.status, self.spec.anchor)

    def _journal(self, kind: type[Event], **fields: Any) -> None:
        event = kind(phase=self.spec.phase, step=self.spec.step, **fields)
        try:
            self.journal.append(event.TYPE, **event.fields())
        except OSError as exc:
            self.log.note(f"could not write the journal: {exc.strerror or exc}")

    def request_abort(self, reason: str, cancel_run: bool = True) -> None:
        if self.abort_reason is None:
            self.abort_reason = reason
            self.cancel_run = cancel_run
        self._abort.set()

    # -- running -------------------------------------------------------------------------

    async def run(self) -> StepStatus:
        spec = self.spec
        self._save()
        started = self.began
        if self.reattached:
            self.log.note(
                f"=== re-attached: {spec.title} (attempt {spec.attempt}), its supervisor "
                f"having stopped; supervisor pid {os.getpid()} follows it on"
            )
        else:
            self.log.note(
                f"=== {spec.title} (attempt {spec.attempt}) by {spec.operator}, "
                f"supervisor pid {os.getpid()}"
            )
        state: StepStatus = StepStatus.DONE
        code: int | None = 0
        reason: str | None = None
        try:
            for index, command in enumerate(spec.commands):
                if index < self.first:
                    continue  # ran under the supervisor that died
                if self._abort.is_set():
                    state, code, reason = StepStatus.ABORTED, None, self.abort_reason
                    break
                if not (self.reattached and index == self.first):
                    self.log.note(
                        f"$ {command.shown}" + (f"  # {command.place}" if command.place else "")
                    )
                code, words = await self._run_one(index, command)
                self.log.note(f"→ {words}")
                if self.log.error:
                    state, reason = StepStatus.FAILED, self.log.error
                    break
                if self._abort.is_set() and words.startswith("aborted"):
                    state, reason = StepStatus.ABORTED, self.abort_reason
                    break
                if command.guard and code == 1:
                    said = self._last_output()
                    state, reason = (
                        StepStatus.SKIPPED,
                        "its guard said skip"
                        + (f": {said}" if said else f" (`{command.shown}` exited 1)"),
                    )
                    break
                if command.guard and code != 0 and not self._abort.is_set():
                    state, reason = (
                        StepStatus.FAILED,
                        "its guard " + command_ended(command.shown, words),
                    )
                    break
                if code != 0 and not command.allow_failure:
                    state, reason = StepStatus.FAILED, command_ended(command.shown, words)
                    break
                if code != 0:
                    self.log.note(f"(allowed to fail: {words})")
        except CommandCrashed as exc:  # fail closed, even when the command may fail
            state, code, reason = StepStatus.FAILED, None, f"`{exc.shown}` {exc.words}"
        except Exception as exc:  # fail closed: an error in here is never a success
            words = error_words(exc)
            state, code, reason = StepStatus.FAILED, None, f"the supervisor failed: {words}"
        duration = time.monotonic() - started
        self.log.note(
            f"=== step {state} after {format_duration(duration)}"
            + (f": {reason}" if reason else "")
        )
        self.log.sync()
        last = self.status["commands"][-1] if self.status["commands"] else {}
        self.status.update(
            state=state,
            exit_code=code,
            signal=last.get("signal"),
            reason=reason,
            finished_at=iso(self.clock.now()),
            duration_s=round(duration, 3),
        )
        self._save()
        self._journal(
            StepFinished,
            state=state,
            exit_code=code,
            reason=reason,
            duration_s=round(duration, 3),
        )
        if self._lingering:
            await asyncio.gather(*self._lingering, return_exceptions=True)
            self.log.note("the background process closed the output: capture ended")
        self.log.close()
        self.journal.close()
        return state

    def _last_output(self, limit: int = 300) -> str:
        """The last line the last command printed (the log read back; "" when none)."""
        self.log.sync()
        try:
            tail = tail_lines(Path(self.spec.log), 100)
        except OSError:
            return ""
        for line in reversed(tail):
            parts = line.split(" ", 2)
            if len(parts) == 3 and parts[1] == "#" and parts[2].startswith("$ "):
                return ""  # the command's banner: it printed nothing
            if len(parts) == 3 and parts[1] in ("O", "E") and parts[2].strip():
                return self.redactor.text(plain(parts[2]).strip())[:limit]
        return ""

    async def _run_one(self, index: int, command: CommandSpec) -> tuple[int | None, str]:
        started = time.monotonic()
        if self.reattached and index == self.first:  # the workflow run re-attached to
            entry: dict[str, Any] = self.status["commands"][index]
            since = datetime.fromisoformat(str(entry["started_at"]).replace("Z", "+00:00"))
            started -= max(0.0, (datetime.now(UTC) - since).total_seconds())
        else:
            entry = {
                "index": index,
                "command": self.redactor.text(command.shown),
                "pid": None,
                "create_time": None,
                "started_at": iso(self.clock.now()),
                "finished_at": None,
                "exit_code": None,
                "signal": None,
                "outcome": None,
            }
            self.status["commands"].append(entry)
        crashed: Exception | None = None
        try:
            if command.run:
                code, words = await self._spawn(index, command, entry)
            elif command.workflow is not None:
                code, words = await self._workflow(index, command, entry)
            else:
                code, words = await self._probe(index, command)
        except Exception as exc:  # fail closed: recorded as this command's failure, in words
            crashed = exc
            code, words = None, f"failed in the supervisor: {error_words(exc)}"
            self.log.note(f"→ {words}")
            if entry["pid"] is not None:  # nothing keeps running unwatched
                with contextlib.suppress(Exception):
                    await stop_tree(entry["pid"], self.spec.token, self.spec.grace)
        entry.update(finished_at=iso(self.clock.now()), exit_code=code, outcome=words)
        if code is not None and code < 0:
            entry["signal"] = signal_name(-code)
        self._save()
        self._journal(
            CommandFinished,
            index=index,
            exit_code=code,
            outcome=words,
            duration_s=round(time.monotonic() - started, 3),
        )
        if crashed is not None:
            raise CommandCrashed(command.shown, words) from crashed
        return code, words

    async def _probe(self, index: int, command: CommandSpec) -> tuple[int | None, str]:
        from cockpit.monitor import EnvHealth  # only steps that probe pay for httpx
        from cockpit.verdict import judge, top_up

        self._journal(
            CommandStarted,
            index=index,
            command=f"probe {command.env}",
            pid=None,
            create_time=None,
            token=self.spec.token,
        )
        assert command.env is not None and command.url is not None
        health = EnvHealth(command.env, command.url, p95_budget_ms=command.p95_budget_ms)
        await top_up(health, command.probe_timeout, self.clock)
        for sample in health.samples:
            checks = ", ".join(f"{k} {v}" for k, v in sample.dependencies.items())
            line = (
                f"{command.env}: {sample.state} {sample.http_status or ''} in "
                f"{sample.latency_ms or 0:.0f}ms"
                + (f" ({checks})" if checks else "")
                + (f" — {sample.reason}" if sample.reason else "")
            )
            self.log.write("O", [self.log.mask(line.encode())], stamp())
        verdict = judge(health, command.baseline_p95_ms)  # as the health panel judges
        self.log.write("O", [self.log.mask(verdict.words.encode())], stamp())
        return (0, verdict.words) if verdict.healthy else (1, verdict.words)

    async def _workflow(
        self, index: int, command: CommandSpec, entry: dict[str, Any]
    ) -> tuple[int | None, str]:
        """Dispatch a GitHub Actions workflow and follow its run to its conclusion
        (``cockpit.workflows``); the run's id and page go into the status and the journal."""
        from cockpit.github import RunRef
        from cockpit.workflows import follow  # only steps with a workflow pay for httpx

        assert command.workflow is not None

        def say(line: str) -> None:
            self.log.write("O", [self.log.mask(line.encode())], stamp())

        def found(run_id: int, url: str) -> None:
            entry.update(workflow_run=run_id, url=self.redactor.text(url))
            self._save()
            self._journal(
                CommandStarted,
                index=index,
                command=self.redactor.text(command.shown),
                pid=None,
                create_time=None,
                token=self.spec.token,
                url=self.redactor.text(url),
                workflow_run=run_id,
            )

        attach, timeout = None, command.timeout
        if self.reattached and index == self.first:
            attach = RunRef(int(entry["workflow_run"]), str(entry.get("url") or ""))
            since = datetime.fromisoformat(str(entry["started_at"]).replace("Z", "+00:00"))
            if timeout is not None:  # the time it already had counts
                timeout = max(0.001, timeout - (datetime.now(UTC) - since).total_seconds())
        return await follow(
            command.workflow,
            say,
            found,
            self._abort,
            lambda: self.abort_reason,
            timeout,
            attach=attach,
            cancel_on_abort=lambda: self.cancel_run,
        )

    async def _spawn(
        self, index: int, command: CommandSpec, entry: dict[str, Any]
    ) -> tuple[int | None, str]:
        env = dict(os.environ)
        env.update(command.environ)
        env[TOKEN_VAR] = self.spec.token
        cwd = command.cwd or self.spec.cwd
        if not os.path.isdir(cwd):
            return None, f"could not start: its working directory {cwd} is not a folder"
        env["COCKPIT_RUN_ID"] = self.spec.run_id
        # Pipes of our own, not asyncio's: its wait() would also wait for them to close, and
        # a background process that keeps them open would hold the step forever.
        if command.tty:  # one terminal for both, as a person's: output is all "O"
            out_r, out_w = open_terminal(command.columns)
            err_r, err_w = None, os.dup(out_w)
            env["COLUMNS"] = str(command.columns)
            env.setdefault("TERM", "xterm-256color")
        else:
            (out_r, out_w), (err_r, err_w) = os.pipe(), os.pipe()
        try:
            proc = await asyncio.create_subprocess_exec(
                "/bin/sh",
                "-c",
                command.shown,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out_w,
                stderr=err_w,
                start_new_session=True,
                cwd=cwd,
                env=env,
            )
        except OSError as exc:
            for fd in (out_r, err_r):
                if fd is not None:
                    os.close(fd)
            return None, f"could not start: {exc.strerror or exc}"
        finally:
            os.close(out_w)
            os.close(err_w)
        try:
            create_time = psutil.Process(proc.pid).create_time()
        except psutil.Error:
            create_time = None
        entry.update(pid=proc.pid, create_time=create_time)
        self._save()
        self._journal(
            CommandStarted,
            index=index,
            command=self.redactor.text(command.shown),
            pid=proc.pid,
            create_time=create_time,
            token=self.spec.token,
        )
        readers = [asyncio.create_task(self._pump(out_r, "O"))]
        if err_r is not None:
            readers.append(asyncio.create_task(self._pump(err_r, "E")))
        waiter = asyncio.create_task(proc.wait())
        aborter = asyncio.create_task(self._abort.wait())
        words: str | None = None
        try:
            done, _ = await asyncio.wait(
                {waiter, aborter}, timeout=command.timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if waiter not in done:
                if aborter in done:
                    words = f"aborted: {self.abort_reason}"
                else:
                    words = f"timed out after {format_duration(command.timeout or 0)}"
                survivors = await stop_tree(proc.pid, self.spec.token, self.spec.grace)
                if survivors:
                    self.log.note(f"processes still alive after SIGKILL: {survivors}")
                await waiter
            done_reading, pending = await asyncio.wait(readers, timeout=PIPE_GRACE)
            for reader in done_reading:  # a reader that broke lost output: never "done"
                if not reader.cancelled() and reader.exception() is not None:
                    raise CommandCrashed(
                        command.shown,
                        f"its output could not be read: {error_words(reader.exception())}",
                    )
            if pending:
                self.log.note(
                    "the command has ended; a background process it started still holds "
                    "the output: its later lines are kept below, after the step's outcome"
                )
                self._lingering.extend(pending)
        finally:
            aborter.cancel()
        code = proc.returncode
        return code, words or exit_words(code)

    async def _pump(self, fd: int, tag: str) -> None:
        """Read a pipe in chunks until every writer closed it; write whole lines (masked,
        timestamped) as they arrive. The pipe is closed however this ends."""
        _widen_pipe(fd)
        loop = asyncio.get_running_loop()
        stream = asyncio.StreamReader(limit=CHUNK)
        pipe = os.fdopen(fd, "rb", buffering=0)
        try:
            transport, _ = await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(stream), pipe
            )
        except BaseException:
            pipe.close()
            raise
        try:
            await self._copy(stream, tag)
        finally:
            transport.close()

    def _progress(self, tail: bytes, tag: str) -> bytes:
        """A line still being written that has rewritten itself with ``\r`` (a progress
        bar): its text up to the last such ``\r`` is logged now as a line in progress
        (tag ``o``/``e``: "a ``\r`` follows; the line goes on in the next line of this
        stream"), so a screen can show it update. Returns what is left to wait for. A
        ``\r`` at the very end may be a CRLF's first half: it waits."""
        cut = tail.rfind(b"\r", 0, len(tail) - 1)
        if cut < 0:
            return tail
        self.log.write(tag.lower(), [self.log.mask(tail[:cut])], stamp())
        return tail[cut + 1 :]

    async def _copy(self, stream: asyncio.StreamReader, tag: str) -> None:
        log = self.log
        tail = b""
        while True:
            try:
                if tail.endswith(b"\r"):  # a progress bar's update, or half of a CRLF
                    try:
                        chunk = await asyncio.wait_for(stream.read(CHUNK), PROGRESS_WAIT)
                    except TimeoutError:  # nothing followed: show the update now
                        log.write(tag.lower(), [log.mask(tail[:-1])], stamp())
                        tail = b""
                        continue
                else:
                    chunk = await stream.read(CHUNK)
            except OSError as exc:  # a terminal's master reads EIO once every writer is gone
                if exc.errno != errno.EIO:
                    raise
                break
            if not chunk:
                break
            data = tail + chunk
            end = data.rfind(b"\n")
            if end < 0:
                if len(data) < LONGEST_LINE:
                    tail = self._progress(data, tag)
                    continue
                # an endless line: cut it, masked first, keeping back what could be the
                # start of a secret that the next chunk ends
                data = log.mask(data)
                end = len(data) - log.keep_back
                tail = data[end:]
                log.write(tag, [data[:end]], stamp())
                continue
            tail = data[end + 1 :]
            log.write(tag, log.mask(data[:end]).split(b"\n"), stamp())
            tail = self._progress(tail, tag)
            if log.error and not self._abort.is_set():
                # nothing may run unlogged: stop the command
                self.request_abort("the step log cannot be written")
        if tail:
            log.write(tag, [log.mask(tail)], stamp())


def open_terminal(columns: int, rows: int = 40) -> tuple[int, int]:
    """A pseudo-terminal ``columns`` wide for a ``tty: true`` command: (master, slave).

    Output post-processing is off (no ``\n`` → ``\r\n``), so the log keeps exactly the
    bytes the command wrote; echo is off, and its stdin stays ``/dev/null`` regardless."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.OPOST
    attrs[3] &= ~termios.ECHO
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    return master, slave


PROGRESS_WAIT = 0.1
"""How long a line ending in ``\r`` waits for a ``\n`` (CRLF) before it is a progress update."""
F_SETPIPE_SZ = 1031
PIPE_SIZE = 1024 * 1024


def _widen_pipe(fd: int) -> None:
    """Ask Linux for a 1 MiB pipe: a flooding command wakes the supervisor far less often."""
    with contextlib.suppress(OSError, ValueError):
        fcntl.fcntl(fd, F_SETPIPE_SZ, PIPE_SIZE)


_EARLY: list[tuple[str, bool]] = []
"""Aborts asked for while the spec was being read (answered as soon as the step starts)."""


def _early_aborts() -> None:
    """Until the loop's handlers take over, an abort is remembered, never fatal."""
    words = {
        ABORT_SIGNAL: ("aborted by the operator", True),
        LEAVE_SIGNAL: ("aborted by the operator", False),
        signal.SIGTERM: ("the step's supervisor was sent SIGTERM", True),
    }
    for sig, said in words.items():
        signal.signal(sig, lambda *_, said=said: _EARLY.append(said))


def _read_spec() -> StepSpec:
    data = sys.stdin.buffer.read()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    return StepSpec.from_json(data)


async def _main(spec: StepSpec) -> int:
    try:
        supervisor = Supervisor(spec)
    except (OSError, ValueError):
        return 2  # its log cannot be used (refused, a full disk): nothing ran
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, lambda: None)
    loop.add_signal_handler(ABORT_SIGNAL, supervisor.request_abort, "aborted by the operator")
    loop.add_signal_handler(
        LEAVE_SIGNAL, supervisor.request_abort, "aborted by the operator", False
    )
    loop.add_signal_handler(
        signal.SIGTERM, supervisor.request_abort, "the step's supervisor was sent SIGTERM"
    )
    for reason, cancel in _EARLY:  # an abort that came before the step was handed over
        supervisor.request_abort(reason, cancel)
    state = await supervisor.run()
    return 0 if state == StepStatus.DONE else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m cockpit.supervisor`` (started by the driver, never by hand).

    Anything unexpected is one line in words on stderr and exit 2 (``--debug``: the
    traceback); the step itself has already failed closed in ``Supervisor.run``."""
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    # Only an explicit abort stops a step: a terminal's Ctrl-C or hang-up is not one. A
    # handler (not SIG_IGN) so that the commands, after exec, get the default back.
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: None)
    _early_aborts()
    try:
        try:
            spec = _read_spec()
        except (ValueError, TypeError, KeyError):
            return 2  # the cockpit died before handing the step over: nothing ran
        return asyncio.run(_main(spec))
    except Exception as exc:
        if debug:
            raise
        print(f"cockpit supervisor: {error_words(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
