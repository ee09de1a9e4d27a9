"""One release's record for the history: what a run's journal says, read as a stream.

Owns turning each run's journal into a ``RunRecord`` — type, version, start and end, the
production deployment (the runbook's ``kind: deploy`` phase: its wall clock and whether it
finished, failed or never started), the rollback (``kind: rollback``: done, when it was
decided and when it was verified), the decisions (incidents), the rollback criteria met and
every step's duration against its budget — without holding a journal in memory: lines are
read one at a time and only the event types a record needs are parsed (health samples and
the driver's view, the bulk of a long run, are skipped by their type before any JSON is
read). Records are cached in ``STATE/cache/history`` keyed by the journal's size and
modification time and the runbook's files, so a month of runs is read once; a cache that
cannot be written is only slower. The outcome across runs (and the metrics) is
``cockpit.trends``'s.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from cockpit.clock import parse_iso
from cockpit.errors import CockpitError
from cockpit.events import FINISHED, StepStatus, parse
from cockpit.journal import decode
from cockpit.phaseclock import phase_clock
from cockpit.progress import criteria_met, step_seconds, step_state
from cockpit.runbook import Runbook
from cockpit.safefiles import check_folder, private_dir, reading, replace_file
from cockpit.state import RunState, fold
from cockpit.workspace import Workspace

log = logging.getLogger(__name__)

FORMAT = 2
"""The record's (and the cache's) shape; a cached record of another shape is read again."""

NEEDED = frozenset(
    {
        b"run.started",
        b"run.closed",
        b"step.started",
        b"step.finished",
        b"step.skipped",
        b"window.started",
        b"window.ended",
        b"item.checked",
        b"item.unchecked",
        b"decision.recorded",
    }
)
"""The event types a record is folded from; every other line is skipped unparsed."""


@dataclass
class StepRecord:
    """One step of one run: how it ended and how long it took against its budget."""

    phase: str
    step: str
    title: str
    state: str
    duration_s: float | None
    budget_s: float | None

    @property
    def overrun_s(self) -> float | None:
        if self.duration_s is None or not self.budget_s or self.duration_s <= self.budget_s:
            return None
        return self.duration_s - self.budget_s


@dataclass
class RunRecord:
    """What the history keeps of one run (JSON-able: ``asdict``)."""

    id: str
    type: str
    version: str
    operator: str
    started_at: str
    previous_version: str | None = None
    since_commit: str | None = None
    """Where the release's commit range starts (recorded at start; None: not recorded)."""
    last_event_at: str | None = None
    closed_at: str | None = None
    deploy_started_at: str | None = None
    deploy_ended_at: str | None = None
    deployment_s: float | None = None
    """The production deployment's wall clock (None: it never started)."""
    deploy_running: bool = False
    """A deploy step runs now (its ``deployment_s`` counts up to the record's "now")."""
    deploy_finished: bool = False
    """Every deploy step finished (done, or skipped with a reason), at least one done."""
    deploy_failed: str | None = None
    """The deploy step that failed or was aborted last, in words (None: none did)."""
    rolled_back: bool = False
    rollback_decided_at: str | None = None
    rollback_verified_at: str | None = None
    """When the rollback phase's last step finished (every step of it finished)."""
    decisions: list[dict[str, Any]] = field(default_factory=list)
    criteria_met: list[str] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ended_at(self) -> str | None:
        return self.closed_at or self.last_event_at

    @property
    def overruns(self) -> list[StepRecord]:
        return [s for s in self.steps if s.overrun_s is not None]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        steps = [StepRecord(**s) for s in data.get("steps", [])]
        return cls(**{**data, "steps": steps})


def _ts_of(raw: bytes) -> str | None:
    """The timestamp of a compact journal line, without parsing it."""
    at = raw.find(b'"ts":"', 0, 40)
    if at < 0:
        return None
    end = raw.find(b'"', at + 6, at + 60)
    return raw[at + 6 : end].decode("ascii", "replace") if end > 0 else None


_WANTED = re.compile(rb'"type":\s*"(?:run\.|step\.|window\.|item\.(?:un)?checked|decision\.)')
"""A line of a type in ``NEEDED`` (a torn one too: it is read, and said to be torn)."""
_CHUNK = 4 << 20


def _wanted_lines(fh: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """The lines of a journal holding a wanted event type, with their byte offsets, read a
    chunk at a time (a journal is never in memory whole); the last line is yielded too
    (offset ``-1``: for its timestamp)."""
    base, rest, last = 0, b"", b""
    while True:
        chunk = fh.read(_CHUNK)
        data = rest + chunk
        if not chunk:
            complete, rest = data, b""
        else:
            cut = data.rfind(b"\n") + 1
            complete, rest = data[:cut], data[cut:]
        lines = complete.count(b"\n") + (0 if complete.endswith(b"\n") or not complete else 1)
        if complete.count(b'"type":') != lines:  # a line that is no event: find each one
            yield from _each_line(complete, base)
        else:
            pos = 0
            for match in _WANTED.finditer(complete):
                if match.start() < pos:
                    continue  # a second match on a line already yielded
                start = complete.rfind(b"\n", 0, match.start()) + 1
                end = complete.find(b"\n", match.end())
                end = len(complete) if end < 0 else end
                yield base + start, complete[start:end]
                pos = end
        stripped = complete.rstrip()
        if stripped:
            last = stripped[stripped.rfind(b"\n") + 1 :]
        base += len(complete)
        if not chunk:
            break
    yield -1, last


def _each_line(complete: bytes, base: int) -> Iterator[tuple[int, bytes]]:
    """The slow way through a chunk that holds a line without an event type (a torn or
    damaged line, a blank one): every wanted line, and every line that is no event at all
    (it is read, and said to be unreadable)."""
    offset = 0
    for line in complete.split(b"\n"):
        if _WANTED.search(line) or (line.strip() and b'"type":' not in line):
            yield base + offset, line
        offset += len(line) + 1


def _line_number(path: Path, offset: int, anchor: Path | None) -> int:
    """The line at byte ``offset`` (counted only for a warning: lines are rarely torn)."""
    with reading(path, anchor) as fh:
        return fh.read(offset).count(b"\n") + 1


def read_state(path: Path, anchor: Path | None = None) -> tuple[RunState, str | None, list[str]]:
    """The run's state folded from the lines a record needs, the last line's timestamp, and
    warnings (lines that could not be read)."""
    state = RunState()
    warnings: list[str] = []
    last: bytes = b""
    with reading(path, anchor) as fh:
        for offset, raw in _wanted_lines(fh):
            if offset < 0:
                last = raw
                break
            where = f"{path}:{{}}"
            event, warning = decode(raw, where)
            if warning:
                line = _line_number(path, offset, anchor)
                warnings.append(warning.replace(where, f"{path}:{line}", 1))
            if event is None:
                continue
            try:
                fold(parse(event), state)
            except (KeyError, TypeError, ValueError) as exc:
                line = _line_number(path, offset, anchor)
                warnings.append(f"{path}:{line}: {exc}; line skipped")
    return state, _ts_of(last) if last else None, warnings


def record_of(state: RunState, runbook: Runbook, last_ts: str | None, now: datetime) -> RunRecord:
    """The record of a run from its folded state (the runbook judges its phases)."""
    run = state.run
    assert run is not None
    rec = RunRecord(
        id=run.id,
        type=run.type,
        version=run.version,
        operator=run.operator,
        started_at=run.started_at,
        previous_version=run.previous_version,
        since_commit=getattr(run, "since_commit", None),
        last_event_at=last_ts,
        closed_at=state.closed.ts if state.closed is not None else None,
    )
    end = parse_iso(rec.closed_at) if rec.closed_at else now  # a step may still run
    for phase in runbook.for_type(run.type):
        for step in phase.steps_for(run.type):
            st = state.step(phase.id, step.id)
            shown = step_state(phase, step, state)
            if shown == StepStatus.PENDING and not st.attempts:
                continue
            budget = float(step.budget.high) if step.budget else None
            took = step_seconds(phase, step, state, end)
            rec.steps.append(StepRecord(phase.id, step.id, step.title, str(shown), took, budget))
    deploy = runbook.of_kind("deploy")
    if deploy is not None and deploy.applies_to(run.type):
        clock = phase_clock(deploy, state, end)
        rec.deploy_started_at, rec.deploy_ended_at = clock.started_at, clock.ended_at
        rec.deployment_s, rec.deploy_running = clock.wall_s, clock.running
        shown = [step_state(deploy, s, state) for s in deploy.steps_for(run.type)]
        rec.deploy_finished = (
            bool(shown)
            and any(s == StepStatus.DONE for s in shown)
            and all(s in FINISHED for s in shown)
        )
        for step, s in zip(deploy.steps_for(run.type), shown, strict=True):
            if s in (StepStatus.FAILED, StepStatus.ABORTED):
                reason = state.step(deploy.id, step.id).reason
                rec.deploy_failed = f"{step.title} {s}" + (f": {reason}" if reason else "")
    rec.decisions = [{"ts": d.ts, "choice": d.choice} for d in state.decisions]
    rollbacks = [d.ts for d in state.decisions if d.choice == "rollback"]
    rec.rollback_decided_at = rollbacks[0] if rollbacks else None
    back = runbook.of_kind("rollback")
    if back is not None:
        steps = back.steps_for(run.type)
        shown = [step_state(back, s, state) for s in steps]
        rec.rolled_back = any(s == StepStatus.DONE for s in shown)
        clock = phase_clock(back, state, end)
        if rec.rolled_back and clock.finished:
            rec.rollback_verified_at = clock.ended_at
    rec.criteria_met = [e.item.text for _, e in criteria_met(runbook, state)]
    return rec


def runbook_key(runbook: Runbook) -> str:
    """A digest of the runbook's files: a record judged by another runbook is read again."""
    digest = hashlib.sha256()
    for name, path in sorted(runbook.files.items()):
        digest.update(name.encode())
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"?")
    return digest.hexdigest()[:16]


class CacheFile:
    """A JSON file in ``STATE/cache/history`` that only saves time: read whole (an unreadable
    one is empty), replaced whole; one that cannot be written is left as it was."""

    def __init__(self, ws: Workspace, name: str):
        self.anchor = ws.state_dir
        self.path = ws.state_dir / "cache" / "history" / name

    def load(self) -> dict[str, Any]:
        try:
            if not check_folder(self.path.parent, self.anchor):
                return {}
            with reading(self.path, self.anchor) as fh:
                data = json.loads(fh.read())
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError, CockpitError):
            return {}

    def save(self, data: dict[str, Any]) -> None:
        try:
            private_dir(self.path.parent, self.anchor)
            replace_file(self.path, json.dumps(data, ensure_ascii=False).encode(), self.anchor)
        except (OSError, CockpitError):  # a read-only state folder: slower, never wrong
            log.debug("history cache %s not written", self.path, exc_info=True)


@dataclass
class Reader:
    """Reads the records of a workspace's runs, through the cache (one file, keyed per run
    by its journal's size and modification time, and the runbook's files)."""

    ws: Workspace
    now: datetime
    cache: bool = True
    warnings: list[str] = field(default_factory=list)
    read: int = 0
    """Journals read this time (the others came from the cache)."""

    def __post_init__(self) -> None:
        self._file = CacheFile(self.ws, "records.json")
        loaded = self._file.load() if self.cache else {}
        fresh = loaded.get("v") == FORMAT and loaded.get("runbook") == runbook_key(self.ws.runbook)
        self._runs: dict[str, Any] = loaded.get("runs", {}) if fresh else {}
        if not isinstance(self._runs, dict):
            self._runs = {}
        self._dirty = False

    def records(self) -> list[RunRecord]:
        """Every run's record, oldest first; a run that cannot be read is a warning. Many
        journals to read (a first review, a new runbook) are read by a process per core."""
        out: list[RunRecord] = []
        todo: list[tuple[Path, list[int]]] = []
        for journal in self.ws.journals(self.warnings):
            try:
                key = _key(journal)
            except OSError as exc:
                self.warnings.append(f"{exc}; the run is left out")
                continue
            cached = self._cached(journal.parent.name, key)
            if cached is not None:
                out.append(cached)
            else:
                todo.append((journal, key))
        for (journal, key), result in zip(todo, self._read_all(todo), strict=True):
            if isinstance(result, str):
                self.warnings.append(f"{result}; the run is left out")
            elif result is not None:
                rec, cacheable = result
                out.append(rec)
                if cacheable:
                    self._runs[journal.parent.name] = {"key": key, "record": rec.to_json()}
                    self._dirty = True
        if self._dirty and self.cache:
            key = runbook_key(self.ws.runbook)
            self._file.save({"v": FORMAT, "runbook": key, "runs": self._runs})
        return sorted(out, key=lambda r: (r.started_at, r.id))

    def _cached(self, run_id: str, key: list[int]) -> RunRecord | None:
        cached = self._runs.get(run_id)
        if isinstance(cached, dict) and cached.get("key") == key:
            try:
                return RunRecord.from_json(cached["record"])
            except (TypeError, KeyError, ValueError):
                pass  # a cache of another shape: read the journal
        return None

    def _read_all(self, todo: list[tuple[Path, list[int]]]) -> list[Any]:
        self.read += len(todo)
        args = [(path, self.ws.state_dir, self.now) for path, _ in todo]
        workers = min(os.cpu_count() or 1, 8)
        # forking is only safe from a process's one thread (the CLI; never the TUI's workers)
        if len(todo) < PARALLEL_FROM or workers < 2 or threading.active_count() > 1:
            return [_read_one(self.ws.runbook, *a) for a in args]
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(
            workers, context, initializer=_set_runbook, initargs=(self.ws.runbook,)
        ) as pool:
            return list(pool.map(_read_in_worker, args, chunksize=16))


PARALLEL_FROM = 64
"""Journals to read from which the reading is spread over a process per core."""
_RUNBOOK: Runbook | None = None


def _set_runbook(runbook: Runbook) -> None:
    global _RUNBOOK
    _RUNBOOK = runbook


def _read_in_worker(args: tuple[Path, Path, datetime]) -> Any:
    assert _RUNBOOK is not None
    return _read_one(_RUNBOOK, *args)


def _key(journal: Path) -> list[int]:
    stat = os.stat(journal, follow_symlinks=False)
    return [stat.st_size, stat.st_mtime_ns]


def _read_one(
    runbook: Runbook, path: Path, anchor: Path, now: datetime
) -> tuple[RunRecord, bool] | str | None:
    """One journal's record and whether it may be cached; the reason in words when it cannot
    be read; None for an empty journal (a run being started right now)."""
    try:
        state, last, warnings = read_state(path, anchor)
    except (OSError, CockpitError) as exc:
        return str(exc)
    if state.run is None:
        if not warnings and os.path.getsize(path) == 0:
            return None
        return f"{path}: no readable run.started event"
    rec = record_of(state, runbook, last, now)
    rec.warnings = warnings
    return rec, state.closed is not None or not _running(rec)  # a running step's time grows


def _running(rec: RunRecord) -> bool:
    return any(s.state == StepStatus.RUNNING for s in rec.steps)
