"""``cockpit validate``: check runbook and config files, reporting every error with its line.

Owns deciding what each path is (a runbook folder, a config file, a phase file)
and checking it in context: a phase file is checked with the rest of its folder
(so ``after`` can name its siblings) and the config that gives placeholders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cockpit.config import Config, check_config, find_config, runbook_dir
from cockpit.errors import SourceError, display_path
from cockpit.runbook import CONFIG_FILE_NAMES, check_runbook, phase_files


@dataclass
class Report:
    """What validation found."""

    errors: list[SourceError] = field(default_factory=list)
    phases: int = 0
    items: int = 0
    steps: int = 0
    configs: int = 0


def _folder(folder: Path, config: Config | None, only: Path | None, report: Report) -> None:
    files = phase_files(folder)
    if only is not None and only.resolve() not in {f.resolve() for f in files}:
        files.append(only)
    if not files:
        report.errors.append(SourceError(display_path(folder), 0, "no phase files (*.yaml) here"))
        return
    phases, errors = check_runbook(files, config)
    if only is not None:
        wanted = display_path(only)
        errors = [e for e in errors if e.file == wanted]
        phases = {k: v for k, v in phases.items() if v[1].resolve() == only.resolve()}
    report.errors += errors
    report.phases += len(phases)
    for phase, _ in phases.values():
        report.items += sum(1 for _ in phase.entries())
        report.steps += len(phase.steps)


def _named_runbook(cfg_file: Path | None, workspace: Path) -> Path | None:
    """The ``runbook:`` folder a config that failed validation names, read leniently (None:
    it names none, or it cannot be read at all)."""
    from cockpit.yamlsource import load_yaml  # its limits: depth, aliases, size

    try:
        raw = load_yaml(cfg_file)[0] if cfg_file is not None else None
    except Exception:  # anything at all: its errors are said already
        return None
    named = raw.get("runbook") if isinstance(raw, dict) else None
    if not isinstance(named, str) or not named.strip():
        return None
    folder = (workspace / named).resolve()
    return folder if folder.is_dir() else None


def validate_paths(
    paths: list[Path], workspace: Path, config_path: Path | None, runbook: Path | None
) -> Report:
    """Validate ``paths`` (or, when empty, the workspace's config and runbook)."""
    report = Report()
    cfg_file = find_config(workspace, config_path)
    config, errors = check_config(cfg_file)
    if not paths:
        report.errors += errors
        report.configs += 1
        if config is not None:
            _folder(runbook_dir(config, workspace, runbook), config, None, report)
        elif (folder := runbook or _named_runbook(cfg_file, workspace)) is not None:
            _folder(folder, None, None, report)  # a bad config hides no runbook mistake
        report.errors = sorted(set(report.errors))
        return report
    for path in paths:
        if not path.exists():
            report.errors.append(SourceError(display_path(path), 0, "no such file or folder"))
        elif path.is_dir():
            own = next((path / n for n in CONFIG_FILE_NAMES if (path / n).exists()), None)
            folder_config = config
            if own is not None:
                folder_config, more = check_config(own)
                report.errors += more
                report.configs += 1
            _folder(path, folder_config or config, None, report)
        elif path.name in CONFIG_FILE_NAMES:
            _, more = check_config(path)
            report.errors += more
            report.configs += 1
        else:
            _folder(path.parent, config, path, report)
    report.errors = sorted(set(report.errors))
    return report
