"""The monthly release review: a workspace's history document, its text, and the export.

Owns putting the history together for ``cockpit history`` and the TUI's history screen —
every run's record (``cockpit.history``), judged across runs (``cockpit.trends``), the
release types that are hotfixes (the runbook's ``kind: hotfix`` phase), and each deployed
release's commits from git for the lead time (the range from where the run recorded it
started, else the previous version's production tag, to the release's production tag,
else its rc tag; one ``git log`` per release, cached by the two commits) — then the text
``cockpit history`` prints, and ``--export DIR``: one report JSON per run
(``cockpit.report``, with its ``v``) for a team's own store.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from cockpit.changelog import range_commits
from cockpit.clock import parse_iso
from cockpit.durations import format_duration
from cockpit.errors import CockpitError
from cockpit.history import CacheFile, Reader, RunRecord
from cockpit.safefiles import reason
from cockpit.termtext import inert
from cockpit.trends import Judged, attach_lead_times, document, dora_rows, judge, metric_rows
from cockpit.workspace import Workspace

log = logging.getLogger(__name__)


def hotfix_types(ws: Workspace) -> set[str]:
    """The release types that are hotfixes: those the runbook's hotfix phase is for."""
    phase = ws.runbook.of_kind("hotfix")
    if phase is not None and phase.release_types:
        return set(phase.release_types)
    return {"hotfix"} & set(ws.config.release_types)


@dataclass
class CommitTimes:
    """The commit times of each release's range, from git (cached by the range's ends)."""

    ws: Workspace
    warnings: list[str] = field(default_factory=list)
    _repo: Any = None
    _tags: dict[str, str] | None = None
    _cache: dict[str, Any] = field(default_factory=dict)
    _dirty: bool = False

    def _open(self) -> bool:
        if self._tags is not None:
            return self._repo is not None
        self._tags = {}
        try:
            import git

            self._repo = git.Repo(self.ws.root, search_parent_directories=True)
            self._tags = {t.name: t.commit.hexsha for t in self._repo.tags}
        except Exception as exc:  # not a repository, unreadable: lead time not measured
            self.warnings.append(f"lead time not measured: {exc.__class__.__name__}: {exc}")
            self._repo = None
            return False
        self._cache = CacheFile(self.ws, "lead-times.json").load()
        return True

    def __call__(self, rec: RunRecord) -> list[str] | None:
        if not self._open():
            return None
        assert self._tags is not None
        rules = self.ws.versioning
        since = rec.since_commit
        if since is None and rec.previous_version:
            since = self._tags.get(rules.tag_for(rec.previous_version))
        until = self._tags.get(rules.tag_for(rec.version)) or self._tags.get(
            rules.tag_for(rec.version, "rc")
        )
        if since is None or until is None:
            return None
        key = f"{since}..{until}"
        if not isinstance(self._cache.get(key), list):
            commits = range_commits(self.ws.root, since, until)
            if commits.reason:  # a commit gone (a rewritten history): not measured
                self.warnings.append(f"{rec.version}: lead time not measured: {commits.reason}")
                return None
            self._cache[key] = [at for _, at, _ in commits]
            self._dirty = True
        return self._cache[key]

    def save(self) -> None:
        if self._dirty:
            CacheFile(self.ws, "lead-times.json").save(self._cache)


def history(
    ws: Workspace, now: datetime, since: date | None = None, cache: bool = True
) -> tuple[dict[str, Any], list[Judged]]:
    """The history document over the runs started since ``since`` (all when None)."""
    reader = Reader(ws, now, cache=cache)
    judged = judge(reader.records(), hotfix_types(ws))
    times = CommitTimes(ws)
    attach_lead_times(judged, times)
    if cache:
        times.save()
    warnings = [*reader.warnings, *times.warnings]
    warnings += [w for j in judged for w in j.record.warnings]
    return document(judged, ws.config.targets, now, since, warnings), judged


def _d(seconds: float | None) -> str:
    return "—" if seconds is None else format_duration(seconds)


def _table(rows: list[tuple[str, ...]], head: tuple[str, ...]) -> list[str]:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [head, *rows]
    ]


def text(doc: dict[str, Any]) -> str:
    """``cockpit history`` as text: the runs, the metrics against targets, the bottlenecks,
    the DORA keys, warnings."""
    since = f" since {doc['since']}" if doc["since"] else ""
    runs = doc["runs"]
    out = [f"Release history{since}: {len(runs)} run{'' if len(runs) == 1 else 's'}", ""]
    if not runs:
        out.append(
            "no runs in this period" if since else "no runs yet: start one with cockpit start"
        )
    rows = [
        (
            parse_iso(r["started_at"]).strftime("%Y-%m-%d %H:%M"),
            r["type"],
            inert(r["version"]),
            r["outcome"] + (f" (hotfix {r['hotfix_after']})" if r["hotfix_after"] else ""),
            ("running " if r["deployment_running"] else "") + _d(r["deployment_s"]),
            str(r["incidents"]),
            ", ".join(
                f"{inert(o['title'])} +{format_duration(o['overrun_s'])}" for o in r["overruns"]
            )
            or "—",
        )
        for r in runs
    ]
    if rows:
        head = ("started", "type", "version", "outcome", "deployment", "incidents", "overruns")
        out += _table(rows, head)
    out += ["", "Success metrics against the config's targets", ""]
    rows = [row[:4] for row in metric_rows(doc)]
    out += _table(rows, ("metric", "this period", "target", "judged"))
    out += ["", "Bottlenecks: each step's median against its budget", ""]
    if doc["bottlenecks"]:
        out += _table(
            [
                (
                    inert(b["title"]),
                    inert(b["phase"]),
                    str(b["runs"]),
                    _d(b["median_s"]),
                    _d(b["budget_s"]) if b["budget_s"] else "—",
                    "OVER BUDGET" if b["over_budget"] else "within budget",
                    str(b["overruns"]),
                )
                for b in doc["bottlenecks"]
            ],
            ("step", "phase", "runs", "median", "budget", "median vs budget", "overruns"),
        )
    else:
        out.append("no step has run yet")
    out += ["", "DORA keys", ""]
    out += _table(dora_rows(doc), ("key", "this period"))
    for warning in doc["warnings"]:
        out.append(f"warning: {inert(warning)}")
    return "\n".join(out) + "\n"


def export(ws: Workspace, doc: dict[str, Any], folder: Path) -> list[Path]:
    """One report JSON per run of the document in ``folder`` (``RUN_ID.json``)."""
    from cockpit.report import build
    from cockpit.session import RunSession

    if folder.exists() and not folder.is_dir():
        raise CockpitError(f"--export {folder}: not a folder")
    written = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for run in doc["runs"]:
            report = build(RunSession(ws, run["id"]))
            path = folder / f"{run['id']}.json"
            data = (json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode()
            # names and rationales: readable by its owner only, as the state files are
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            written.append(path)
    except OSError as exc:
        raise CockpitError(f"--export {folder}: cannot write there: {reason(exc)}") from None
    return written
