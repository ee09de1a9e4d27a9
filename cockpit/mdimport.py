"""Importing a team's markdown runbook: ``cockpit import`` and ``cockpit validate --against``.

Owns reading a markdown file as text and turning the drafts of phases read from it
(``cockpit.mdread``) into a runbook folder of phase files that the strict loader accepts:
one file per phase with content (``10-id.yaml``, ``20-…``, in document order), groups
holding commands or a budget (``cockpit.mdbudget``) as steps and the others as sections,
explicit unique ids, text written so the cockpit shows it as it is, and tables kept as
notes (YAML comments). It says what it could not place, with the markdown line, never
writes into a folder that holds files, and loads what it wrote before claiming success.
It also owns ``drift``: the checklist lines of a markdown runbook that have no item in a
runbook, and ``runbooks_for``, the runbooks ``cockpit validate`` compares it with.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any

import yaml

from cockpit.config import check_config, find_config, runbook_dir
from cockpit.errors import CockpitError, InputErrors, SourceError, display_path, error_words
from cockpit.mdbudget import budget_of
from cockpit.mdread import Draft, Leftover, Table, Unplaced, checklist_lines, read_drafts
from cockpit.mdshell import escape_text
from cockpit.placeholders import fill_text
from cockpit.runbook import CONFIG_FILE_NAMES, Runbook, load_runbook, slug

_NUMBERING = re.compile(r"^\s*\d+[.)]\s+")


def read_markdown(path: Path) -> str:
    """The text of a markdown file; CockpitError in words when it cannot be read as UTF-8."""
    name = display_path(path)
    if path.is_dir():
        raise CockpitError(f"{name} is a folder, not a markdown file")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CockpitError(f"{name}: no such file") from None
    except OSError as exc:
        raise CockpitError(f"{name}: cannot read it: {error_words(exc)}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CockpitError(
            f"{name}:{line}: not UTF-8 text (byte {exc.start}): save it as UTF-8 and try again"
        ) from None
    if "\0" in text:
        raise CockpitError(f"{name} is not a text file (it holds NUL bytes)")
    return text


# -- the phase files -------------------------------------------------------------------


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _table_words(table: Table) -> str:
    return f"table ({_count(table.rows, 'row')})"


def _unnumbered(title: str) -> str:
    return _NUMBERING.sub("", title) or title


def _unique_id(text: str, seen: set[str], fallback: str = "item") -> str:
    """The slug of ``text`` (``fallback`` when it has no words), made unique in ``seen``."""
    base = slug(text)
    base = fallback if base == "item" else base
    candidate, n = base, 2
    while candidate in seen:
        candidate = f"{base}-{n}"
        n += 1
    seen.add(candidate)
    return candidate


def _phase_data(draft: Draft, phase_id: str) -> dict[str, Any]:
    """The phase file's data: the groups holding commands or a budget as steps, the others
    as sections (a heading's items again after a step join its section)."""
    data: dict[str, Any] = {"id": phase_id, "title": escape_text(draft.title)}
    if draft.summary is not None and not draft.summary.used:
        draft.summary.used = True
        data["summary"] = escape_text(draft.summary.text)
    item_ids: set[str] = set()
    step_ids: set[str] = set()
    sections: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    for group in draft.groups:
        if not (group.items or group.commands):
            continue
        items = [{"text": escape_text(t), "id": _unique_id(t, item_ids)} for t in group.items]
        title, budget = budget_of(group.titles[-1])
        if group.commands or budget:
            steps.append(_step(_unnumbered(title), budget, group.commands, items, step_ids))
            continue
        title = escape_text(": ".join(_unnumbered(t) for t in group.titles))
        same = next((s for s in sections if s["title"] == title), None)
        if same is not None:
            same["items"].extend(items)
        else:
            sections.append({"title": title, "items": items})
    if sections:
        data["sections"] = sections
    if steps:
        data["steps"] = steps
    return data


def _step(
    title: str, budget: str | None, commands: list[str], items: list[dict[str, str]], ids: set[str]
) -> dict[str, Any]:
    step: dict[str, Any] = {"id": _unique_id(title, ids, "step"), "title": escape_text(title)}
    if budget:
        step["budget"] = budget
    if commands:
        step["commands"] = [{"run": run} for run in commands]
    if items:
        step["checks"] = items
    return step


class _Dumper(yaml.SafeDumper):
    """Block style with indented lists; multi-line commands as literal blocks."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)


def _file_text(source: str, draft: Draft, total_lines: int, data: dict[str, Any]) -> str:
    """The phase file: a comment saying where it came from, the tables, then the data."""
    out = [
        f"# Imported from {source} (lines {draft.line}-{draft.end or total_lines}) "
        "by `cockpit import`."
    ]
    for table in draft.tables:
        out.append(
            f"# Note from line {table.line}, a {_table_words(table)}, kept as it is (not items):"
        )
        out.extend(f"#   {row}".rstrip() for row in table.source)
    body = yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000, indent=2
    )
    return "\n".join(out) + "\n" + body


def _not_imported(draft: Draft) -> str:
    counts = Counter(lo.kind for lo in draft.leftovers)
    lists = len({lo.list_id for lo in draft.leftovers if lo.kind == "bullet"})
    kinds = [
        ("paragraph", counts["paragraph"]),
        ("list", lists),
        ("table", len(draft.tables)),
        ("code block", counts["code"]),
        ("HTML block", counts["html"]),
    ]
    parts = [_count(n, kind) for kind, n in kinds if n]
    what = f" ({', '.join(parts)})" if parts else ""
    return f"“{draft.title}” has nothing to tick{what}: not imported"


def _leftover_words(leftover: Leftover) -> str:
    if leftover.kind == "paragraph":
        text = leftover.text if len(leftover.text) <= 50 else leftover.text[:49] + "…"
        return f"paragraph not placed (“{text}”)"
    if leftover.kind == "code":
        return f"{leftover.text}: not placed"
    return "HTML block: not placed"


def _leftover_lines(draft: Draft, file_name: str) -> Unplaced:
    """The blocks of a phase not placed (the bullets of one list together), and its notes."""
    out: Unplaced = []
    unused = [lo for lo in draft.leftovers if not lo.used]
    for list_id, run in groupby(unused, lambda lo: lo.list_id if lo.kind == "bullet" else None):
        blocks = list(run)
        if list_id is None:
            out.extend((lo.line, _leftover_words(lo)) for lo in blocks)
        else:
            what = f"list of {len(blocks)} bullets" if len(blocks) > 1 else "bullet"
            out.append((blocks[0].line, f"{what} without a checkbox or inline code: not placed"))
    out.extend((t.line, f"{_table_words(t)} kept as a note in {file_name}") for t in draft.tables)
    return out


def _phase_files(
    drafts: list[Draft], source: str, total_lines: int
) -> tuple[list[tuple[str, str]], Unplaced]:
    """Each phase file's name and text, numbered in tens, and what it could not place."""
    kept = sum(1 for d in drafts if d.has_content())
    width = len(str(10 * kept))
    phase_ids: set[str] = set()
    files: list[tuple[str, str]] = []
    unplaced: Unplaced = []
    for draft in drafts:
        if not draft.has_content():
            if draft.leftovers or draft.tables:
                unplaced.append((draft.line, _not_imported(draft)))
            continue
        phase_id = _unique_id(draft.title, phase_ids, "phase")
        file_name = f"{10 * (len(files) + 1):0{width}d}-{phase_id}.yaml"
        data = _phase_data(draft, phase_id)
        files.append((file_name, _file_text(source, draft, total_lines, data)))
        unplaced.extend(_leftover_lines(draft, file_name))
    return files, unplaced


# -- the import --------------------------------------------------------------------------


@dataclass
class ImportSummary:
    """What ``import_markdown`` wrote and what it could not place, by markdown line."""

    source: str
    folder: Path
    files: list[Path]
    phases: int
    items: int
    steps: int
    commands: int
    tables: int
    unplaced: Unplaced

    def lines(self) -> list[str]:
        return [f"line {line}: {what}" for line, what in self.unplaced]


def _check_out(out: Path) -> None:
    folder = display_path(out)
    if out.exists() and not out.is_dir():
        raise CockpitError(f"{folder} is a file: --out needs a new or empty folder")
    if out.is_dir() and any(out.iterdir()):
        raise CockpitError(
            f"{folder} is not empty: import never writes over a runbook; "
            "give --out a new or empty folder"
        )


def _write_and_load(out: Path, files: list[tuple[str, str]]) -> Runbook:
    """Write the files into ``out`` and load them back as a runbook."""
    folder = display_path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for file_name, content in files:
            (out / file_name).write_text(content, encoding="utf-8")
    except OSError as exc:
        raise CockpitError(f"cannot write {folder}: {error_words(exc)}") from None
    try:
        return load_runbook(out, None)
    except InputErrors as exc:
        bug = SourceError(
            folder,
            0,
            "the imported runbook does not load (a bug in cockpit import: please "
            "report it); the files are left there to look at",
        )
        raise InputErrors([*exc.errors, bug]) from None


def import_markdown(source: Path, out: Path) -> ImportSummary:
    """Write the runbook folder ``out`` from the markdown runbook ``source``.

    Refuses (CockpitError) when ``source`` cannot be read, holds nothing to import, or
    ``out`` exists and is not an empty folder; raises InputErrors if what it wrote does
    not load (it never claims success on a folder that does not validate).
    """
    text = read_markdown(source)
    name = display_path(source)
    _check_out(out)
    drafts, unplaced = read_drafts(text, source.stem)
    if not any(d.has_content() for d in drafts):
        raise CockpitError(
            f"{name} has nothing to import: no checklist items (- [ ]), bullets with "
            "inline code, or shell code blocks"
        )
    files, not_placed = _phase_files(drafts, source.name, len(text.split("\n")))
    phases = list(_write_and_load(out, files).phases.values())
    return ImportSummary(
        source=name,
        folder=out,
        files=[out / f for f, _ in files],
        phases=len(phases),
        items=sum(1 for p in phases for _ in p.entries()),
        steps=sum(len(p.steps) for p in phases),
        commands=sum(len(s.commands) for p in phases for s in p.steps),
        tables=sum(len(d.tables) for d in drafts),
        unplaced=sorted(unplaced + not_placed),
    )


# -- drift -------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Text as ``drift`` compares it: markdown stripped, lower case, whitespace collapsed."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.replace("`", "").replace("**", "").replace("__", "")
    return " ".join(text.lower().split())


def drift(markdown_path: Path, runbook: Runbook | Iterable[Runbook]) -> list[tuple[int, str]]:
    """The checklist lines of the markdown whose text no item of the runbook has (compared
    normalised: markdown stripped, lower case, whitespace collapsed), with their lines."""
    runbooks = [runbook] if isinstance(runbook, Runbook) else list(runbook)
    known = {
        normalise(fill_text(entry.item.text, {}))
        for rb in runbooks
        for phase in rb.phases.values()
        for entry in phase.entries()
    }
    lines = checklist_lines(read_markdown(markdown_path))
    return [(line, text) for line, text in lines if normalise(text) not in known]


def runbooks_for(
    paths: Sequence[Path], workspace: Path, config_path: Path | None, runbook: Path | None
) -> list[Runbook]:
    """The runbooks ``cockpit validate`` checked for these arguments (already valid):
    the workspace's when no path is given, else each folder given (or holding a file given)."""
    config, errors = check_config(find_config(workspace, config_path))
    if errors or config is None:
        raise InputErrors(errors)
    if not paths:
        return [load_runbook(runbook_dir(config, workspace, runbook), config)]
    folders: list[tuple[Path, Any]] = []
    for path in paths:
        if path.is_dir():
            own = next((path / n for n in CONFIG_FILE_NAMES if (path / n).exists()), None)
            folder_config = check_config(own)[0] if own is not None else None
            folders.append((path, folder_config or config))
        elif path.name not in CONFIG_FILE_NAMES:
            folders.append((path.parent, config))
    if not folders:
        raise CockpitError("--against needs a runbook folder to compare with (only configs given)")
    seen: set[Path] = set()
    out = []
    for folder, folder_config in folders:
        if folder.resolve() not in seen:
            seen.add(folder.resolve())
            out.append(load_runbook(folder, folder_config))
    return out
