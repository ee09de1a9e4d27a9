"""The runbook as data: phases of checklist items and timed steps, loaded strictly.

Owns the models of a phase file (DESIGN.md "Runbook format"), loading a runbook
folder (every ``*.yaml`` but ``cockpit.yaml``, in file-name order), and every check
that needs more than one field: duplicate ids, unknown placeholders and
environments, unknown phases in ``after`` and cycles among them. All problems are
collected, each with its file and line; nothing is silently ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from cockpit.config import Config
from cockpit.durations import Budget, parse_duration, positive_duration
from cockpit.errors import CockpitError, InputErrors, SourceError, display_path
from cockpit.placeholders import known_names, names_in, problems_in, text_names
from cockpit.strict import StrictModel, validate
from cockpit.yamlsource import LList, LMap, line_of, load_yaml

"""The shipped release types; a team's are config ``release_types`` (``Config.release_types``)."""
KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CONFIG_FILE_NAMES = ("cockpit.yaml", "cockpit.yml")

PhaseKind = Literal["checklist", "deploy", "decision", "rollback", "hotfix", "review"]
"""What the cockpit does with a phase (DESIGN.md "Behaviour declared in the runbook"):
``deploy`` takes its environment's baseline and watches it for the rollback signal and
feeds the dashboard's deploy panel; ``decision`` is where ``d`` records the incident
commander's decision; ``rollback`` is opened by a decision to roll back (``R``); ``hotfix``
creates the hotfix branch (``b``); ``review`` writes the report (``r``). At most one phase
of each kind but ``checklist``."""
Records = Literal[
    "decision-call", "decision-rationale", "hotfix-branch", "signal-down", "signal-latency"
]
"""What the cockpit ticks an item with: the recorded decision (the commander's call, its
rationale), the created hotfix branch, or the deploy environment's health signal (DOWN;
p95 over 10x baseline)."""
ANSWERS = ("yes", "no", "unknown")
"""The answers to an ``answer: yes-no`` item (a question the runbook asks)."""
RECORDS_KIND: dict[str, str] = {
    "decision-call": "decision",
    "decision-rationale": "decision",
    "hotfix-branch": "hotfix",
    "signal-down": "decision",
    "signal-latency": "decision",
}
"""The phase kind each ``records:`` belongs in."""
ID_LIMIT = 48
CHOOSABLE = ("rollback_target",)
"""Run facts an ``offers:`` may set besides the config's vars."""


def slug(text: str, limit: int = ID_LIMIT) -> str:
    """A kebab-case id from an item's text, cut at a word boundary near ``limit``."""
    words = re.sub(r"[^a-z0-9]+", " ", text.lower()).split()
    out = ""
    for word in words:
        candidate = f"{out}-{word}" if out else word
        if len(candidate) > limit and out:
            break
        out = candidate
    return out or "item"


def _with_default_id(data: Any) -> Any:
    if isinstance(data, str):
        return {"text": data, "id": slug(data)}
    if isinstance(data, dict) and "id" not in data and isinstance(data.get("text"), str):
        return {**data, "id": slug(data["text"])}
    return data


def _env_names(value: dict[str, str]) -> dict[str, str]:
    for name in value:
        if not ENV_NAME.match(name):
            raise ValueError(f"{name!r} is not an environment variable name (like NODE_ENV)")
    return value


EnvVars = Annotated[dict[str, str], AfterValidator(_env_names)]
"""Environment variables a step's commands get (values may name placeholders)."""


def _kebab(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"id must be text like staging-healthy, got {value!r}")
    if not KEBAB.match(value):
        raise ValueError(f"id {value!r} must be kebab-case (like staging-healthy)")
    return value


Seconds = Annotated[float, BeforeValidator(parse_duration)]
PositiveSeconds = Annotated[float, BeforeValidator(positive_duration)]
BudgetField = Annotated[Budget, BeforeValidator(Budget.parse)]


def _release_type_name(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"a release type is a name like standard, got {value!r}")
    if not KEBAB.match(value):
        raise ValueError(f"release type {value!r} must be lowercase words joined by '-'")
    return value


ReleaseType = Annotated[str, BeforeValidator(_release_type_name)]
"""A release type's name; which names exist is the config's (``_release_type_errors``)."""
Types = list[ReleaseType] | None


AUTO_KINDS = ("health", "run", "github_check", "workflow")
CONCLUSIONS = (
    "success",
    "failure",
    "neutral",
    "cancelled",
    "skipped",
    "timed_out",
    "action_required",
    "stale",
)
"""What a GitHub check run or workflow run can conclude."""


class Auto(StrictModel):
    """How an item verifies itself: a health probe of an environment (``health``), a command's
    exit code (``run``), a CI check on the release commit (``github_check``: a check run or
    commit status of that name) or the latest run of a workflow for it (``workflow``: its
    file); ``conclusion``: what the check or run must have concluded (default ``success``)."""

    health: str | None = None
    run: str | None = None
    github_check: str | None = None
    workflow: str | None = None
    conclusion: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Auto:
        given = [k for k in AUTO_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "auto needs exactly one of 'health', 'run', 'github_check' or 'workflow'"
            )
        if self.conclusion is not None and self.kind not in ("github_check", "workflow"):
            raise ValueError("'conclusion' goes with 'github_check' or 'workflow'")
        if self.conclusion is not None and self.conclusion not in CONCLUSIONS:
            raise ValueError(
                f"unknown conclusion {self.conclusion!r} (one of {', '.join(CONCLUSIONS)})"
            )
        name = self.github_check if self.kind == "github_check" else self.workflow
        if self.kind in ("github_check", "workflow") and not (name or "").strip():
            raise ValueError(f"'{self.kind}' needs a name")
        if self.workflow is not None and "/" in self.workflow:
            raise ValueError("'workflow' is the workflow's file name (deploy-staging.yml), no path")
        return self

    @property
    def kind(self) -> str:
        """Which of ``health``, ``run``, ``github_check``, ``workflow`` this is."""
        return next(k for k in AUTO_KINDS if getattr(self, k) is not None)

    @property
    def wanted(self) -> str:
        """The conclusion a check or workflow run must have."""
        return self.conclusion or "success"

    @property
    def label(self) -> str:
        """What it verifies, in words: ``staging``, ``check 'ESLint'``, ``workflow deploy.yml``."""
        if self.github_check is not None:
            return f"check {self.github_check!r}"
        if self.workflow is not None:
            return f"workflow {self.workflow}"
        return str(self.health or self.run)

    @property
    def from_github(self) -> bool:
        return self.kind in ("github_check", "workflow")


class Item(StrictModel):
    """One checklist line of the runbook."""

    text: str
    id: Annotated[str, BeforeValidator(_kebab)]
    role: str | None = None
    release_types: Types = None
    auto: Auto | None = None
    note_required: bool = False
    records: Records | None = None
    """The cockpit ticks this item itself when it records that (see ``Records``)."""
    answer: Literal["yes-no"] | None = None
    """A question (``Can issue be fixed forward quickly?``): ticked with an answer — yes,
    no or unknown — and a note, never a bare tick."""


ItemField = Annotated[Item, BeforeValidator(_with_default_id)]


class Section(StrictModel):
    """A titled group of items, optionally only for some release types."""

    title: str
    kind: Literal["checklist", "criteria"] = "checklist"
    """``criteria``: each item is a condition that may be met (rollback criteria), not a task;
    criteria do not count toward the phase's completion."""
    role: str | None = None
    release_types: Types = None
    due: Seconds | None = None
    """Due this long after the production deployment ended (the runbook's 0-2 h, 2-24 h, 1-7 days)."""
    items: list[ItemField] = Field(min_length=1)


WORKFLOW_FILE = re.compile(r"^(?:[A-Za-z0-9_.-]+\.ya?ml|[0-9]+)$")
INPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _workflow_file(value: str) -> str:
    if not WORKFLOW_FILE.match(value):
        raise ValueError(
            f"{value!r} is not a workflow file name like deploy-production.yml "
            "(the file in .github/workflows/, or the workflow's numeric id)"
        )
    return value


def _input_names(value: dict[str, str]) -> dict[str, str]:
    for name in value:
        if not INPUT_NAME.match(name):
            raise ValueError(f"{name!r} is not a workflow input name (like confirm_production)")
    return value


class Workflow(StrictModel):
    """A GitHub Actions workflow to dispatch and follow to its conclusion (config ``github:``)."""

    file: Annotated[str, AfterValidator(_workflow_file)]
    ref: str = Field(min_length=1)
    """The branch or tag it runs on; placeholders filled as plain text."""
    inputs: Annotated[dict[str, str], AfterValidator(_input_names)] = Field(default_factory=dict)
    """The workflow's ``workflow_dispatch`` inputs (text; placeholders filled as plain text)."""


def _regex(pattern: str) -> str:
    if len(pattern) > 500:
        raise ValueError("a pattern longer than 500 characters")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None
    return pattern


Regex = Annotated[str, AfterValidator(_regex)]


class Offers(StrictModel):
    """What the operator picks from a command's output once its step is done: every match
    of ``pattern`` (its first group when it has one), in the order printed, lines matching
    ``skip`` left out; the choice is the value of ``{var}`` from then on (journaled)."""

    var: str
    pattern: Regex
    skip: Regex | None = None


class Command(StrictModel):
    """One command of a step: a shell command (``run``), a built-in health probe, or a
    GitHub Actions workflow followed to its conclusion (``workflow``)."""

    run: str | None = None
    health: str | None = None
    workflow: Workflow | None = None
    timeout: PositiveSeconds | None = None
    allow_failure: bool = False
    tty: bool | None = None
    """Run under a pseudo-terminal (colours, progress bars); default: the step's ``tty``."""
    cwd: str | None = None
    """Where it runs, relative to the workspace; default: the step's ``cwd``."""
    env: EnvVars = Field(default_factory=dict)
    """Environment variables for this command, over the step's ``env``."""
    offers: Offers | None = None
    """Values to pick from its output (``vercel list`` offers the deployment URLs)."""

    @model_validator(mode="after")
    def _one(self) -> Command:
        kinds = [self.run, self.health, self.workflow]
        if sum(k is not None for k in kinds) != 1:
            raise ValueError("a command needs exactly one of 'run', 'health' or 'workflow'")
        if self.offers is not None and self.run is None:
            raise ValueError("'offers' picks from a 'run' command's output")
        if self.workflow is not None and (self.tty is not None or self.cwd or self.env):
            raise ValueError(
                "a 'workflow' command runs on GitHub: 'tty', 'cwd' and 'env' do not apply"
            )
        return self


class Step(StrictModel):
    """A timed step of a procedure: commands to run and manual checks to tick."""

    id: Annotated[str, BeforeValidator(_kebab)]
    title: str
    budget: BudgetField | None = None
    confirm: str | None = None
    role: str | None = None
    release_types: Types = None
    commands: list[Command] = Field(default_factory=list)
    checks: list[ItemField] = Field(default_factory=list)
    tty: bool = False
    """Run the step's commands under a pseudo-terminal, as a person's terminal would."""
    when: str | None = None
    """A guard: a shell command run first; exit 0 runs the step, exit 1 skips it (its
    output the reason), anything else fails it."""
    cwd: str | None = None
    """Where its commands run, relative to the workspace (default: the workspace)."""
    env: EnvVars = Field(default_factory=dict)
    """Environment variables its commands get, over the cockpit's own."""


class Phase(StrictModel):
    """One phase file: a checklist (sections), a timed procedure (steps), or both."""

    id: Annotated[str, BeforeValidator(_kebab)]
    title: str
    summary: str | None = None
    kind: PhaseKind = "checklist"
    environment: str | None = None
    """``kind: deploy``: the environment it deploys to (baseline, rollback signal)."""
    release_types: Types = None
    after: list[str] = Field(default_factory=list)
    sections: list[Section] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_empty(self) -> Phase:
        if not self.sections and not self.steps:
            raise ValueError("a phase needs 'sections', 'steps', or both")
        if self.kind == "deploy" and not self.environment:
            raise ValueError("a 'kind: deploy' phase needs 'environment:' (the one it deploys to)")
        if self.environment and self.kind != "deploy":
            raise ValueError("'environment:' belongs to a 'kind: deploy' phase")
        return self

    def applies_to(self, release_type: str) -> bool:
        return applies(self.release_types, release_type)

    def entries(self) -> Iterator[Entry]:
        """Every tickable item of the phase in display order, with where it sits."""
        for section in self.sections:
            for item in section.items:
                types = _narrow(section.release_types, item.release_types)
                yield Entry(
                    item,
                    section.title,
                    None,
                    item.role or section.role,
                    types,
                    criterion=section.kind == "criteria",
                )
        for step in self.steps:
            for item in step.checks:
                types = _narrow(step.release_types, item.release_types)
                yield Entry(item, step.title, step.id, item.role or step.role, types)

    def items_for(self, release_type: str | None) -> list[Entry]:
        """The entries that apply to ``release_type`` (all of them when None)."""
        return [e for e in self.entries() if release_type is None or applies(e.types, release_type)]

    def steps_for(self, release_type: str) -> list[Step]:
        return [s for s in self.steps if applies(s.release_types, release_type)]

    def item(self, item_id: str) -> Entry | None:
        return next((e for e in self.entries() if e.item.id == item_id), None)


@dataclass(frozen=True)
class Entry:
    """An item in context: its section (or step) title, step id, effective role and types."""

    item: Item
    group: str
    step: str | None
    role: str | None
    types: tuple[str, ...] | None
    criterion: bool = False


def _narrow(outer: list[str] | None, inner: list[str] | None) -> tuple[str, ...] | None:
    if outer is None and inner is None:
        return None
    if outer is None or inner is None:
        return tuple(outer or inner or ())
    return tuple(t for t in inner if t in outer)


def applies(types: list[str] | tuple[str, ...] | None, release_type: str) -> bool:
    return types is None or release_type in types


@dataclass
class Runbook:
    """A loaded runbook: its phases in display order and where each came from."""

    folder: Path
    phases: dict[str, Phase]
    files: dict[str, Path]

    def phase(self, phase_id: str) -> Phase:
        try:
            return self.phases[phase_id]
        except KeyError:
            known = ", ".join(self.phases)
            raise UnknownPhase(f"no phase {phase_id!r} in the runbook (phases: {known})") from None

    def for_type(self, release_type: str) -> list[Phase]:
        return [p for p in self.phases.values() if p.applies_to(release_type)]

    def of_kind(self, kind: str) -> Phase | None:
        """The phase of that kind (``deploy``, ``decision``…), None when the runbook has none."""
        return next((p for p in self.phases.values() if p.kind == kind), None)

    def kind_id(self, kind: str) -> str | None:
        """The id of the phase of that kind, None when the runbook has none."""
        phase = self.of_kind(kind)
        return phase.id if phase else None

    @property
    def deploy_environment(self) -> str | None:
        """The environment the deploy phase deploys to: its baseline and rollback signal."""
        phase = self.of_kind("deploy")
        return phase.environment if phase else None

    def recorded(self, what: str, release_type: str | None = None) -> tuple[str, str] | None:
        """(phase id, item id) of the item marked ``records: WHAT`` (of a release of that
        type), None when there is none."""
        for phase in self.phases.values():
            if release_type is not None and not phase.applies_to(release_type):
                continue
            for entry in phase.items_for(release_type):
                if entry.item.records == what:
                    return phase.id, entry.item.id
        return None

    def has_text_placeholders(self) -> bool:
        """Whether any title or text names a ``{placeholder}`` or writes a literal brace as
        ``{{``/``}}`` (most runbooks: none), so it is shown filled."""
        return any(
            text_names(t) or "{{" in t or "}}" in t for p in self.phases.values() for t in _texts(p)
        )

    def with_texts(self, fill: Callable[[str], str]) -> Runbook:
        """A copy whose titles and texts went through ``fill`` (ids, commands unchanged)."""
        return Runbook(self.folder, {k: _fill(p, fill) for k, p in self.phases.items()}, self.files)


def _texts(phase: Phase) -> Iterator[str]:
    yield phase.title
    yield phase.summary or ""
    for section in phase.sections:
        yield section.title
        yield from (item.text for item in section.items)
    for step in phase.steps:
        yield step.title
        yield from (check.text for check in step.checks)


def _fill(phase: Phase, fill: Callable[[str], str]) -> Phase:
    def items(entries: list[Item]) -> list[Item]:
        return [i.model_copy(update={"text": fill(i.text)}) for i in entries]

    return phase.model_copy(
        update={
            "title": fill(phase.title),
            "summary": fill(phase.summary) if phase.summary else phase.summary,
            "sections": [
                s.model_copy(update={"title": fill(s.title), "items": items(s.items)})
                for s in phase.sections
            ],
            "steps": [
                s.model_copy(update={"title": fill(s.title), "checks": items(s.checks)})
                for s in phase.steps
            ],
        }
    )


class UnknownPhase(CockpitError, KeyError):
    """A phase id the runbook does not have: an error in words (and a KeyError for lookups)."""

    def __str__(self) -> str:
        return str(self.args[0])


def phase_files(folder: Path) -> list[Path]:
    """The phase files of a runbook folder, in display (file-name) order."""
    files = [*folder.glob("*.yaml"), *folder.glob("*.yml")]
    return sorted(f for f in files if f.name not in CONFIG_FILE_NAMES)


def _load_phase(path: Path) -> tuple[Phase | None, Any, list[SourceError]]:
    name = display_path(path)
    data, errors = load_yaml(path)
    if data is None:
        return None, None, errors
    if not isinstance(data, LMap):
        return (
            None,
            None,
            [*errors, SourceError(name, getattr(data, "line", 1), "expected a mapping")],
        )
    if "id" not in data:
        data["id"] = path.stem
    _derive_ids(data)
    phase, more = validate(Phase, data, name)
    return phase, data, errors + more


def _item_lists(data: LMap) -> Iterator[LList]:
    """The phase file's lists of items: each section's ``items``, each step's ``checks``."""
    for key, inner in (("sections", "items"), ("steps", "checks")):
        groups = data.get(key)
        if isinstance(groups, list):
            for group in groups:
                if isinstance(group, dict) and isinstance(group.get(inner), LList):
                    yield group[inner]


def _raw(data: Any, loc: tuple[Any, ...]) -> Any:
    node = data
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _derive_ids(data: LMap) -> None:
    """Give each item written without ``id:`` the slug of its text, in place.

    A slug cut at ``ID_LIMIT`` that another item's id already has gets ``-2``, ``-3`` (two
    long texts starting alike are two items); the same whole text twice stays a duplicate,
    which ``_semantic_errors`` reports with a hint to give one an ``id:``.
    """
    lists = list(_item_lists(data))
    taken = {
        raw["id"]
        for items in lists
        for raw in items
        if isinstance(raw, dict) and isinstance(raw.get("id"), str)
    }
    texts: set[str] = set()  # whole slugs: the same text twice is a duplicate, not a suffix
    for items in lists:
        for n, raw in enumerate(items):
            text = (
                raw if isinstance(raw, str) else raw.get("text") if isinstance(raw, dict) else None
            )
            if not isinstance(text, str) or (isinstance(raw, dict) and "id" in raw):
                continue
            derived, whole = slug(text), slug(text, limit=10_000)
            if derived in taken and derived != whole and whole not in texts:
                stem, k = derived, 2
                while f"{stem}-{k}" in taken:
                    k += 1
                derived = f"{stem}-{k}"
            taken.add(derived)
            texts.add(whole)
            items[n] = _Derived(
                {"text": text, "id": derived} if isinstance(raw, str) else {**raw, "id": derived}
            )
            if isinstance(raw, LMap):
                items[n].line, items[n].key_lines = raw.line, raw.key_lines


class _Derived(LMap):
    """An item whose ``id`` the loader derived from its text."""


def _semantic_errors(
    phase: Phase, data: Any, name: str, config: Config | None
) -> list[SourceError]:
    errors: list[SourceError] = []
    seen: dict[str, int] = {}
    locs: list[tuple[tuple[Any, ...], Item]] = []
    for si, section in enumerate(phase.sections):
        locs += [(("sections", si, "items", ii), it) for ii, it in enumerate(section.items)]
    for si, step in enumerate(phase.steps):
        locs += [(("steps", si, "checks", ii), it) for ii, it in enumerate(step.checks)]
    for loc, item in locs:
        line = line_of(data, loc)
        if item.id in seen:
            derived = isinstance(_raw(data, loc), _Derived)
            hint = (
                " — the id comes from the text; give one of them its own `id:`" if derived else ""
            )
            errors.append(
                SourceError(
                    name,
                    line,
                    f"duplicate item id {item.id!r} (first at line {seen[item.id]}){hint}",
                )
            )
        else:
            seen[item.id] = line
    for loc, item in locs:
        wanted = RECORDS_KIND.get(item.records or "")
        if wanted and phase.kind != wanted:
            errors.append(
                SourceError(
                    name,
                    line_of(data, (*loc, "records")),
                    f"'records: {item.records}' belongs in a 'kind: {wanted}' phase "
                    f"(this one is 'kind: {phase.kind}')",
                )
            )
    step_seen: dict[str, int] = {}
    for si, step in enumerate(phase.steps):
        line = line_of(data, ("steps", si))
        if step.id in step_seen:
            errors.append(
                SourceError(
                    name,
                    line,
                    f"duplicate step id {step.id!r} (first at line {step_seen[step.id]})",
                )
            )
        step_seen.setdefault(step.id, line)
    if config is None:
        return errors
    envs = set(config.environments)

    def check_env(env: str, loc: tuple[Any, ...]) -> None:
        if env not in envs:
            known = ", ".join(sorted(envs)) or "none configured"
            errors.append(
                SourceError(
                    name, line_of(data, loc), f"unknown environment {env!r} (environments: {known})"
                )
            )

    if phase.environment:
        check_env(phase.environment, ("environment",))
    for loc, item in locs:
        if item.auto and item.auto.health:
            check_env(item.auto.health, (*loc, "auto", "health"))
        if item.auto and item.auto.from_github and config.github is None:
            errors.append(
                SourceError(
                    name,
                    line_of(data, (*loc, "auto", item.auto.kind)),
                    f"'auto: {{{item.auto.kind}: …}}' needs GitHub configured: add "
                    "'github: {repo: owner/name, token_env: GH_TOKEN}' to cockpit.yaml",
                )
            )
    choosable = {*config.vars, *CHOOSABLE}
    for si, step in enumerate(phase.steps):
        for ci, command in enumerate(step.commands):
            if command.health is not None:
                check_env(command.health, ("steps", si, "commands", ci, "health"))
            if command.offers is not None and command.offers.var not in choosable:
                errors.append(
                    SourceError(
                        name,
                        line_of(data, ("steps", si, "commands", ci, "offers", "var")),
                        f"'offers' names {command.offers.var!r}, which cannot be chosen "
                        f"(a config var or {', '.join(CHOOSABLE)}: "
                        f"{', '.join(sorted(choosable))})",
                    )
                )
            if command.workflow is not None and config.github is None:
                errors.append(
                    SourceError(
                        name,
                        line_of(data, ("steps", si, "commands", ci)),
                        "a 'workflow:' command needs GitHub configured: add "
                        "'github: {repo: owner/name, token_env: GH_TOKEN}' to cockpit.yaml",
                    )
                )
    return errors


def _release_type_errors(data: Any, name: str, config: Config | None) -> list[SourceError]:
    """Release types named in ``release_types:`` (of the phase, a section, a step, an item)
    that the config does not define, read off the raw file so that a file with other errors
    gets them said in the same run. Without a config any well-formed name is accepted."""
    if config is None:
        return []
    known = config.release_types
    errors: list[SourceError] = []

    def walk(node: Any) -> None:
        if isinstance(node, LMap):
            for key, value in node.items():
                if key == "release_types" and isinstance(value, LList):
                    for i, t in enumerate(value):
                        if isinstance(t, str) and KEBAB.match(t) and t not in known:
                            errors.append(
                                SourceError(
                                    name,
                                    value.item_lines[i],
                                    f"unknown release type {t!r} "
                                    f"(release types: {', '.join(known)})",
                                )
                            )
                else:
                    walk(value)
        elif isinstance(node, LList):
            for value in node:
                walk(value)

    walk(data)
    return errors


def _placeholder_errors(data: Any, name: str, config: Config | None) -> list[SourceError]:
    """Every ``run:`` command's placeholder problems, and unknown placeholders in titles
    and texts, read off the raw file.

    Works on the YAML as written, so a file with structural errors still gets its
    placeholders checked in the same run.
    """
    names = known_names(config.vars, config.environments) if config is not None else None
    errors: list[SourceError] = []

    def text(value: str, line: int) -> None:
        for placeholder in dict.fromkeys(text_names(value)):
            if names is not None and placeholder not in names:
                errors.append(
                    SourceError(
                        name,
                        line,
                        f"unknown placeholder {{{placeholder}}} in a text (known: "
                        f"{', '.join(sorted(names))}; write {{{{{placeholder}}}}} for the "
                        f"literal text {{{placeholder}}})",
                    )
                )

    def walk(node: Any, key: Any = None) -> None:
        if isinstance(node, LMap):
            for k, value in node.items():
                line = node.key_lines.get(k, getattr(node, "line", 0))
                if k in ("run", "when") and isinstance(value, str):
                    errors.extend(
                        SourceError(name, line, m) for m in _command_problems(value, names)
                    )
                elif k in _TEXT_KEYS and isinstance(value, str):
                    text(value, line)
                elif k == "env" and isinstance(value, LMap):
                    for var, val in value.items():
                        if isinstance(val, str):
                            text(val, value.key_lines.get(var, line))
                elif k == "workflow" and isinstance(value, LMap):
                    ref, inputs = value.get("ref"), value.get("inputs")
                    if isinstance(ref, str):  # ref and inputs: filled as plain text
                        text(ref, value.key_lines.get("ref", line))
                    if isinstance(inputs, LMap):
                        for var, val in inputs.items():
                            if isinstance(val, str):
                                text(val, inputs.key_lines.get(var, line))
                else:
                    walk(value, k)
        elif isinstance(node, LList):
            for n, value in enumerate(node):
                if key in ("items", "checks") and isinstance(value, str):
                    text(value, node.item_lines[n])  # an item written as plain text
                else:
                    walk(value)

    walk(data)
    return errors


_TEXT_KEYS = ("text", "title", "summary", "cwd")


def _command_problems(command: str, names: set[str] | None) -> list[str]:
    problems = problems_in(command)
    if names is None:
        return problems
    for placeholder in dict.fromkeys(names_in(command)):
        if placeholder not in names:
            problems.append(
                f"unknown placeholder {{{placeholder}}} (known: {', '.join(sorted(names))}; "
                f"write {{{{{placeholder}}}}} for the literal text {{{placeholder}}})"
            )
    return problems


def _order_errors(phases: dict[str, tuple[Phase, Any, str]]) -> list[SourceError]:
    errors = []
    for phase, data, name in phases.values():
        for i, dep in enumerate(phase.after):
            if dep not in phases:
                errors.append(
                    SourceError(
                        name, line_of(data, ("after", i)), f"'after' names unknown phase {dep!r}"
                    )
                )
    state: dict[str, int] = {}
    reported: set[frozenset[str]] = set()

    def visit(pid: str, path: list[str]) -> None:
        state[pid] = 1
        for dep in phases[pid][0].after:
            if dep not in phases:
                continue
            if state.get(dep) == 1:
                cycle = [*path[path.index(dep) :], dep]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    for member in cycle[:-1]:
                        _, data, name = phases[member]
                        errors.append(
                            SourceError(
                                name,
                                line_of(data, ("after",)),
                                "cycle in 'after': " + " → ".join(cycle),
                            )
                        )
            elif state.get(dep) is None:
                visit(dep, [*path, dep])
        state[pid] = 2

    for pid in phases:
        if state.get(pid) is None:
            visit(pid, [pid])
    return errors


def _declared_once(phases: dict[str, tuple[Phase, Any, str]]) -> list[SourceError]:
    """At most one phase of each kind but ``checklist``, and one item for each ``records:``."""
    errors: list[SourceError] = []
    kinds: dict[str, str] = {}
    records: dict[str, str] = {}
    for phase, data, name in phases.values():
        if phase.kind != "checklist":
            line = line_of(data, ("kind",)) or 1
            if phase.kind in kinds:
                errors.append(
                    SourceError(
                        name,
                        line,
                        f"a second 'kind: {phase.kind}' phase (the first is {kinds[phase.kind]}); "
                        "a runbook has at most one",
                    )
                )
            kinds.setdefault(phase.kind, f"{phase.id!r} in {name}:{line}")
        for si, section in enumerate(phase.sections):
            for ii, item in enumerate(section.items):
                _once(records, errors, item, name, data, ("sections", si, "items", ii))
        for si, step in enumerate(phase.steps):
            for ii, item in enumerate(step.checks):
                _once(records, errors, item, name, data, ("steps", si, "checks", ii))
    return errors


def _once(
    seen: dict[str, str],
    errors: list[SourceError],
    item: Item,
    name: str,
    data: Any,
    loc: tuple[Any, ...],
) -> None:
    if item.records is None:
        return
    line = line_of(data, (*loc, "records"))
    if item.records in seen:
        errors.append(
            SourceError(
                name,
                line,
                f"a second item 'records: {item.records}' (the first is {seen[item.records]})",
            )
        )
    seen.setdefault(item.records, f"{item.id!r} in {name}:{line}")


def check_runbook(
    files: list[Path], config: Config | None
) -> tuple[dict[str, tuple[Phase, Path]], list[SourceError]]:
    """Load and check phase files; returns the phases that loaded and every error."""
    errors: list[SourceError] = []
    loaded: dict[str, tuple[Phase, Any, str]] = {}
    paths: dict[str, Path] = {}
    for path in files:
        phase, data, more = _load_phase(path)
        name = display_path(path)
        errors += more + _placeholder_errors(data, name, config)
        errors += _release_type_errors(data, name, config)
        if phase is None:
            continue
        if phase.id in loaded:
            first = loaded[phase.id][2]
            errors.append(
                SourceError(
                    name,
                    line_of(data, ("id",)) or 1,
                    f"duplicate phase id {phase.id!r} (also in {first})",
                )
            )
            continue
        errors += _semantic_errors(phase, data, name, config)
        loaded[phase.id] = (phase, data, name)
        paths[phase.id] = path
    errors += _order_errors(loaded) + _declared_once(loaded)
    return {pid: (p, paths[pid]) for pid, (p, _, _) in loaded.items()}, errors


def load_runbook(folder: Path, config: Config | None) -> Runbook:
    """The runbook in ``folder``; raises InputErrors with every problem found."""
    if not folder.is_dir():
        raise InputErrors([SourceError(display_path(folder), 0, "runbook folder not found")])
    files = phase_files(folder)
    if not files:
        raise InputErrors(
            [SourceError(display_path(folder), 0, "no phase files (*.yaml) in the runbook folder")]
        )
    phases, errors = check_runbook(files, config)
    if errors:
        raise InputErrors(errors)
    return Runbook(
        folder,
        {pid: p for pid, (p, _) in phases.items()},
        {pid: f for pid, (_, f) in phases.items()},
    )
