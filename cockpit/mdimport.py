"""Importing a team's markdown runbook: ``cockpit import`` and ``cockpit validate --against``.

Owns reading a markdown runbook (CommonMark with tables, parsed by markdown-it-py) and
turning it into a runbook folder of phase files that the strict loader accepts: the
headings of the shallowest level used more than once become phases (in document order,
files ``10-id.yaml``, ``20-…``), deeper headings and bold labels title their sections and
steps, ``- [ ]`` task items and bullets holding inline code become checklist items with
explicit unique ids, shell code blocks become steps with one command per line (braces
written ``{{``/``}}`` so the cockpit runs exactly what the markdown says), a duration in a
step's title becomes its budget, and tables are kept as notes (YAML comments). It says
what it could not place, with the markdown line, never writes into a folder that holds
files, and loads what it wrote before claiming success. It also owns ``drift``: the
checklist lines of a markdown runbook that have no item in a runbook.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from cockpit import shellscan
from cockpit.config import check_config, find_config, runbook_dir
from cockpit.durations import Budget, DurationError, format_duration
from cockpit.errors import CockpitError, InputErrors, SourceError, display_path, error_words
from cockpit.placeholders import PlaceholderError, fill_text, substitute
from cockpit.runbook import CONFIG_FILE_NAMES, Runbook, load_runbook, slug

SHELL_LANGUAGES = frozenset(
    {"bash", "sh", "shell", "zsh", "ksh", "console", "shell-session", "shellsession", "terminal"}
)
"""Fenced code languages whose lines are commands to run."""
PROMPT_LANGUAGES = frozenset({"console", "shell-session", "shellsession", "terminal"})
"""Languages that show a session: only the ``$ `` lines are commands, the rest is output."""

_TASK = re.compile(r"^\[([ xX])\]\s+")
_PROMPT = re.compile(r"^\s*\$\s")
_NUMBERING = re.compile(r"^\s*\d+[.)]\s+")
_TEXT_BRACES = re.compile(r"\{\{|\}\}|\{[A-Za-z_][A-Za-z0-9_]*\}")
_HEREDOC = re.compile(r"(?<!<)<<(?!<)(-?)\s*(['\"]?)([A-Za-z_][\w.-]*)\2")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")

# Durations in a title: "(15 minutes)", "(2-4 hours)", "30 min", "1h", "1h30m".
_UNIT = r"(?:weeks?|wks?|w|days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)"
_NUM = r"\d+(?:\.\d+)?"
_START = r"(?<![\w.<>≤≥~+/-])"
_RANGE = re.compile(
    rf"{_START}(?P<a>{_NUM})\s*(?P<au>{_UNIT})?(?![A-Za-z])\s*(?:-|–|—|to)\s*"
    rf"(?P<b>{_NUM})\s*(?P<bu>{_UNIT})(?![A-Za-z])"
)
_SINGLE = re.compile(rf"{_START}(?:{_NUM}\s*{_UNIT}(?![A-Za-z])\s*)+")
_PAIR = re.compile(rf"({_NUM})\s*({_UNIT})(?![A-Za-z])")
_UNIT_SECONDS = {"w": 7 * 86400.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}

# First words that make a line of an unlabelled code block look like a command.
# fmt: off
_COMMAND_WORDS = frozenset({
    "ansible", "ansible-playbook", "apt", "apt-get", "aws", "az", "bash", "brew", "bun",
    "bundle", "cargo", "cat", "cd", "chmod", "chown", "composer", "consul", "cp", "curl",
    "cypress", "deno", "df", "dig", "docker", "docker-compose", "doctl", "dotnet", "du",
    "echo", "env", "eslint", "export", "find", "firebase", "flask", "fly", "flyctl", "gcloud",
    "gh", "git", "go", "gpg", "gradle", "grep", "gzip", "head", "helm", "heroku", "http",
    "jest", "journalctl", "jq", "kill", "kubectl", "kustomize", "less", "ln", "ls", "make",
    "mkdir", "mongosh", "mv", "mvn", "mysql", "netlify", "nc", "node", "nomad", "npm", "npx",
    "nslookup", "openssl", "php", "ping", "pip", "pip3", "pipx", "pkill", "playwright", "pnpm",
    "podman", "poetry", "printf", "prisma", "ps", "psql", "pulumi", "pytest", "python",
    "python3", "rails", "rake", "redis-cli", "rg", "rm", "rsync", "ruby", "ruff", "scp", "sed",
    "serverless", "service", "set", "sh", "sleep", "sls", "sort", "source", "ssh", "sudo",
    "supabase", "systemctl", "tail", "tar", "tee", "terraform", "tofu", "touch", "tox", "tsc",
    "tsx", "ts-node", "unzip", "uv", "vault", "vercel", "vitest", "watch", "wc", "wget",
    "xargs", "yarn", "yq", "zip", "zsh",
})
# fmt: on


# -- reading -----------------------------------------------------------------------


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


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table")


def _front_matter(text: str) -> tuple[str, int]:
    """``text`` with a leading ``---`` front matter blanked out (lines kept), and its length."""
    lines = text.split("\n")
    if lines and lines[0].strip() == "---":
        for n in range(1, len(lines)):
            if lines[n].strip() in ("---", "..."):
                return "\n" * (n + 1) + "\n".join(lines[n + 1 :]), n + 1
    return text, 0


def _plain(inline: Token) -> str:
    """The text of an inline token without markdown: emphasis dropped, code and links kept
    as their text, line breaks as spaces."""
    parts: list[str] = []
    for child in inline.children or []:
        if child.type in ("text", "code_inline", "image"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return " ".join("".join(parts).split())


def _has_code(inline: Token) -> bool:
    return any(child.type == "code_inline" for child in inline.children or [])


def _label(inline: Token) -> str | None:
    """A paragraph that titles what follows: all bold (``**Build Verification:**``), or one
    short line ending in a colon (``Before you deploy:``)."""
    kids = [c for c in inline.children or [] if not (c.type == "text" and not c.content.strip())]
    if kids and kids[-1].type == "text" and kids[-1].content.strip() == ":":
        kids = kids[:-1]
    opens = {"strong_open": "strong_close", "em_open": "em_close"}
    if (
        len(kids) >= 3
        and kids[0].type in opens
        and kids[-1].type == opens[kids[0].type]
        and not any(c.type in ("softbreak", "hardbreak", *opens) for c in kids[1:-1])
    ):
        return _plain(inline).rstrip(":").strip() or None
    text = _plain(inline)
    if "\n" not in inline.content.strip() and text.endswith(":") and len(text) <= 80:
        return text[:-1].strip() or None
    return None


def normalise(text: str) -> str:
    """Text as ``drift`` compares it: markdown stripped, lower case, whitespace collapsed."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.replace("`", "").replace("**", "").replace("__", "")
    return " ".join(text.lower().split())


# -- durations ----------------------------------------------------------------------


def _unit_seconds(unit: str) -> float:
    return _UNIT_SECONDS[unit[0]]


def budget_of(title: str) -> tuple[str, str | None]:
    """``title`` without its duration, and the duration as a budget (``15m``, ``2h-4h``).

    A range keeps both ends (the cockpit warns past the low end); a range from zero ("0-2
    hours") keeps its upper bound. The duration is taken out of the title when it stands in
    parentheses or at the end; a title without one comes back as it was, with None.
    """
    spans = [(m, True) for m in _RANGE.finditer(title)]
    taken = [m.span() for m, _ in spans]
    for m in _SINGLE.finditer(title):
        if not any(a < m.end() and m.start() < b for a, b in taken):
            spans.append((m, False))
    if not spans:
        return title, None

    def in_parens(m: re.Match[str]) -> bool:
        return bool(re.search(r"\(\s*$", title[: m.start()])) and bool(
            re.match(r"\s*\)", title[m.end() :])
        )

    spans.sort(key=lambda s: (not in_parens(s[0]), s[0].start()))
    match, is_range = spans[0]
    budget: str | None
    if is_range:
        high_unit = match.group("bu")
        low_unit = match.group("au") or high_unit
        low = float(match.group("a")) * _unit_seconds(low_unit)
        high = float(match.group("b")) * _unit_seconds(high_unit)
        if 0 < low < high:
            budget = f"{format_duration(low)}-{format_duration(high)}"
        else:
            budget = format_duration(high) if high > 0 else None
    else:
        total = sum(float(n) * _unit_seconds(u) for n, u in _PAIR.findall(match.group(0)))
        budget = format_duration(total) if total > 0 else None
    if budget is not None:
        try:
            Budget.parse(budget)
        except (DurationError, ValueError):
            budget = None
    if budget is None:
        return title, None
    before, after = title[: match.start()], title[match.end() :]
    if in_parens(match):
        before = re.sub(r"\(\s*$", "", before)
        after = re.sub(r"^\s*\)", "", after)
        cleaned = f"{before.rstrip()} {after.lstrip()}".strip()
    elif not after.strip(" .:)"):
        cleaned = re.sub(r"[\s:,;–—-]*$", "", before)
    else:
        cleaned = title
    return " ".join(cleaned.split()) or title, budget


# -- commands -----------------------------------------------------------------------


def escape_text(text: str) -> str:
    """A title or item text written so the cockpit shows it as it is: ``{name}``, ``{{``
    and ``}}`` doubled (everything else, ``{`` alone included, is shown as written)."""
    return _TEXT_BRACES.sub(lambda m: m.group(0).replace("{", "{{").replace("}", "}}"), text)


def _literal(template: str, command: str) -> bool:
    """Whether the cockpit runs ``template`` as exactly ``command``: no placeholder in it."""
    try:
        return not shellscan.sites(template) and substitute(template, {}) == command
    except (KeyError, PlaceholderError):
        return False


def escape_command(command: str) -> str | None:
    """``command`` written for a ``run:`` so the cockpit runs exactly it, or None when its
    braces cannot be written so.

    ``{name}`` is a placeholder and ``{{``/``}}`` literal braces, except where the shell's
    own syntax hides them (``${VAR}`` in code stays as written; in single quotes or a
    here-document it is doubled). The cockpit's own scanner is the judge: the result must
    hold no placeholder and substitute to the command itself.
    """
    matches = list(_TEXT_BRACES.finditer(command))
    if not matches:
        return command if _literal(command, command) else None
    escape: list[bool] = []
    opened = 0
    for m in matches:
        token = m.group(0)
        if token == "{{":
            escape.append(True)
            opened += 1
        elif token == "}}":
            escape.append(opened > 0)
            opened = max(0, opened - 1)
        else:
            escape.append(command[m.start() - 1 : m.start()] != "$")

    def build(decisions: list[bool]) -> tuple[str, list[tuple[int, int]]]:
        out: list[str] = []
        spans: list[tuple[int, int]] = []
        pos = length = 0
        for m, doubled in zip(matches, decisions, strict=True):
            out.append(command[pos : m.start()])
            length += m.start() - pos
            token = m.group(0)
            if doubled:
                token = token.replace("{", "{{").replace("}", "}}")
            spans.append((length, length + len(token)))
            out.append(token)
            length += len(token)
            pos = m.end()
        out.append(command[pos:])
        return "".join(out), spans

    tried: set[tuple[bool, ...]] = set()
    for _ in range(2 * len(matches) + 1):
        tried.add(tuple(escape))
        text, spans = build(escape)
        sites = shellscan.sites(text)
        if not sites:
            break
        hit = next((k for k, (a, b) in enumerate(spans) if a <= sites[0].start < b), None)
        if hit is None:
            return None
        escape[hit] = not escape[hit]
        if tuple(escape) in tried:
            return None
    text, _ = build(escape)
    if _literal(text, command):
        return text
    for k in range(len(matches)):  # one decision off (a }} that closes nothing of ours)
        trial = list(escape)
        trial[k] = not trial[k]
        text, _ = build(trial)
        if _literal(text, command):
            return text
    return None


def _odd_backslash(line: str) -> bool:
    return (len(line) - len(line.rstrip("\\"))) % 2 == 1


_OPENERS = frozenset({"if", "case", "for", "while", "until", "select"})
_CLOSERS = frozenset({"fi", "esac", "done"})
_LEADS = frozenset({"then", "do", "else", "elif", "{", "!", "time", "if", "while", "until"})


def _unfinished(text: str) -> bool:
    """Whether the shell would read on past the end of ``text``: an open quote, parenthesis,
    ``if``/``case``/loop/``{`` group, a trailing ``|``/``&&``/``||`` or backslash."""
    stripped = text.rstrip()
    if _odd_backslash(stripped) or stripped.endswith(("|", "&&")):
        return True
    depth = parens = 0
    quote = ""
    word = ""
    command = True
    i, n = 0, len(text)

    def end_word() -> None:
        nonlocal word, depth, command
        if not word:
            return
        if word == "{":
            depth += 1
        elif word == "}":
            depth = max(0, depth - 1)
        elif command and word in _OPENERS:
            depth += 1
        elif command and word in _CLOSERS:
            depth = max(0, depth - 1)
        command = word in _LEADS or bool(command and _ASSIGNMENT.match(word))
        word = ""

    while i < n:
        c = text[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 2
                continue
            if c == quote:
                quote = ""
            i += 1
            continue
        if c == "\\":
            word += text[i : i + 2]
            i += 2
        elif c in "'\"":
            quote = c
            word += c
            i += 1
        elif c == "#" and not word:
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif c in " \t":
            end_word()
            i += 1
        elif c in "\n;&|":
            end_word()
            command = True
            i += 1
        elif c == "(":
            end_word()
            parens += 1
            command = True
            i += 1
        elif c == ")":
            end_word()
            parens = max(0, parens - 1)
            i += 1
        else:
            word += c
            i += 1
    end_word()
    return bool(quote) or parens > 0 or depth > 0


def commands_of(code: str, language: str) -> list[tuple[int, str]]:
    """The commands of a shell code block, each with its line offset in the block.

    One command per non-empty, non-comment line; backslash-continued lines are joined;
    ``$ `` prompts are dropped (in a session with prompts, lines without one are output);
    a here-document, an open quote or an ``if``/loop/``{`` group stays one command.
    """
    lines = code.rstrip("\n").split("\n")
    prompted = language in PROMPT_LANGUAGES or any(_PROMPT.match(line) for line in lines)
    out: list[tuple[int, str]] = []
    text = ""
    start = 0
    heredoc: tuple[str, bool] | None = None
    for n, raw in enumerate(lines):
        if heredoc is not None:
            text += "\n" + raw
            delimiter, strip = heredoc
            if (raw.lstrip("\t") if strip else raw).rstrip() == delimiter:
                heredoc = None
                if not _unfinished(_without_heredocs(text)):
                    out.append((start, text))
                    text = ""
            continue
        line = raw.rstrip()
        if not text:
            if prompted:
                prompt = _PROMPT.match(line)
                if prompt is None:
                    continue
                line = line[prompt.end() :]
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            start = n
            text = line
        elif _odd_backslash(text):
            text = text[:-1].rstrip() + " " + line.strip()
        else:
            if prompted:
                line = re.sub(r"^\s*>\s", "", line)
            text += "\n" + line
        here = _HEREDOC.search(line)
        if here is not None and not _odd_backslash(line):
            heredoc = (here.group(3), here.group(1) == "-")
            continue
        if not _unfinished(_without_heredocs(text)):
            out.append((start, text))
            text = ""
    if text:
        out.append((start, text.rstrip("\\").rstrip()))
    return out


def _without_heredocs(text: str) -> str:
    """``text`` without here-document bodies (their quotes and words are not code)."""
    lines = text.split("\n")
    kept: list[str] = []
    heredoc: tuple[str, bool] | None = None
    for line in lines:
        if heredoc is not None:
            if (line.lstrip("\t") if heredoc[1] else line).rstrip() == heredoc[0]:
                heredoc = None
            continue
        kept.append(line)
        here = _HEREDOC.search(line)
        if here is not None:
            heredoc = (here.group(3), here.group(1) == "-")
    return "\n".join(kept)


def looks_like_commands(code: str) -> bool:
    """Whether an unlabelled code block reads as shell commands (every command's first word
    a known command, a path or a script), not a message template or output."""
    commands = commands_of(code, "")
    if not commands:
        return False
    for _, command in commands:
        words = command.split()
        while words and (_ASSIGNMENT.match(words[0]) or words[0] == "sudo"):
            words = words[1:]
        if not words:
            return False
        first = words[0]
        if not (
            first in _COMMAND_WORDS
            or first.startswith(("./", "/", "~/"))
            or re.fullmatch(r"[\w./-]+\.(sh|py|js|ts|rb|pl)", first)
        ):
            return False
    return True


# -- the walk -------------------------------------------------------------------------


@dataclass
class _Leftover:
    """A block of the markdown that is not (yet) an item, step, title or summary."""

    line: int
    kind: str  # paragraph, bullet, code, html
    text: str = ""
    list_id: int = -1
    used: bool = False


@dataclass
class _Group:
    """A section or step being gathered: what stands under one title."""

    key: object
    titles: list[str]  # the headings (and label) above, outermost first
    line: int
    items: list[tuple[int, str]] = field(default_factory=list)
    commands: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class _Draft:
    """One phase being gathered: a heading of the phase level and what stands under it."""

    title: str
    line: int
    end: int = 0
    groups: list[_Group] = field(default_factory=list)
    leftovers: list[_Leftover] = field(default_factory=list)
    notes: list[tuple[int, str, list[str]]] = field(default_factory=list)
    tables: int = 0
    summary: _Leftover | None = None
    blocks: int = 0

    def has_content(self) -> bool:
        return any(g.items or g.commands for g in self.groups)


def _phase_level(tokens: list[Token]) -> int | None:
    levels = Counter(int(t.tag[1]) for t in tokens if t.type == "heading_open")
    repeated = sorted(level for level, count in levels.items() if count > 1)
    if repeated:
        return repeated[0]
    return min(levels) if levels else None


class _Walker:
    """Walks the block tokens once, gathering drafts of phases."""

    def __init__(self, text: str, stem: str):
        self.lines = text.split("\n")
        self.tokens = _parser().parse(text)
        self.level = _phase_level(self.tokens)
        self.drafts: list[_Draft] = [_Draft(stem, 1)]
        self.unplaced: list[tuple[int, str]] = []
        self.headings: list[tuple[int, str]] = []
        self.label: str | None = None
        self.key: object = ("phase", 0)
        self.titled = False
        self.prev: tuple[str, _Leftover | None] | None = None
        self.list_depth = 0
        self.list_id = -1
        self.sentence_item = 0  # the list depth of the item whose code block titled a step

    @property
    def draft(self) -> _Draft:
        return self.drafts[-1]

    def context(self) -> None:
        self.key = (tuple(self.headings), self.label, len(self.draft.groups))
        self.titled = bool(self.headings or self.label)

    def group(self) -> _Group:
        groups = self.draft.groups
        if groups and groups[-1].key == self.key:
            return groups[-1]
        titles = [t for _, t in self.headings] + ([self.label] if self.label else [])
        group = _Group(self.key, titles or [self.draft.title], self.draft.line)
        groups.append(group)
        return group

    def run(self) -> list[_Draft]:
        tokens = self.tokens
        i = 0
        while i < len(tokens):
            i = self.step(tokens, i)
        return self.drafts

    def step(self, tokens: list[Token], i: int) -> int:
        t = tokens[i]
        line = (t.map[0] + 1) if t.map else 0
        kind = t.type
        if (
            t.level == 0
            and kind != "heading_open"
            and (t.nesting == 1 or (t.block and not t.nesting))
        ):
            self.draft.blocks += 1
        if kind == "heading_open":
            self.heading(int(t.tag[1]), _plain(tokens[i + 1]), line)
            self.prev = None
            return i + 3
        if kind in ("bullet_list_open", "ordered_list_open"):
            self.list_depth += 1
            if self.list_depth == 1:
                self.list_id = i
            self.prev = None
            return i + 1
        if kind in ("bullet_list_close", "ordered_list_close"):
            self.list_depth -= 1
            self.prev = None
            return i + 1
        if kind == "list_item_open":
            if tokens[i + 1].type == "paragraph_open":
                self.list_item(tokens[i + 2], line)
                return i + 4
            return i + 1
        if kind == "paragraph_open":
            self.paragraph(tokens[i + 1], line)
            return i + 3
        if kind in ("fence", "code_block"):
            language = t.info.strip().split()[0].lower() if t.info.strip() else ""
            self.code(t.content, language, line, fenced=kind == "fence")
            self.prev = None
            return i + 1
        if kind == "table_open":
            end = next(k for k in range(i, len(tokens)) if tokens[k].type == "table_close")
            body = next((k for k in range(i, end) if tokens[k].type == "tbody_open"), end)
            rows = sum(1 for k in range(body, end) if tokens[k].type == "tr_open")
            assert t.map is not None
            source = self.lines[t.map[0] : t.map[1]]
            self.draft.notes.append((line, f"table ({_count(rows, 'row')})", source))
            self.draft.tables += 1
            self.prev = None
            return end + 1
        if kind == "html_block":
            if not t.content.lstrip().startswith("<!--"):
                self.draft.leftovers.append(_Leftover(line, "html"))
            self.prev = None
            return i + 1
        if (
            kind == "list_item_close"
            and self.sentence_item
            and t.level == 2 * self.sentence_item - 1
        ):
            self.sentence_item = 0
            self.context()  # the items after it belong to the heading again, not to that step
        if kind in ("hr", "list_item_close", "blockquote_open", "blockquote_close"):
            self.prev = None
        return i + 1

    def heading(self, level: int, title: str, line: int) -> None:
        if self.level is None or level <= self.level:
            self.draft.end = line - 1
            self.drafts.append(_Draft(title, line))
            self.headings = []
        else:
            while self.headings and self.headings[-1][0] >= level:
                self.headings.pop()
            self.headings.append((level, title))
        self.label = None
        self.context()

    def paragraph(self, inline: Token, line: int) -> None:
        label = _label(inline) if self.list_depth == 0 else None
        if label is not None:
            self.label = label
            self.context()
            self.prev = None
            return
        leftover = _Leftover(line, "paragraph", _plain(inline))
        if self.draft.blocks == 1 and not self.headings and self.list_depth == 0:
            self.draft.summary = leftover
        self.draft.leftovers.append(leftover)
        self.prev = (leftover.text, leftover)

    def list_item(self, inline: Token, line: int) -> None:
        task = _TASK.match(inline.content)
        text = _TASK.sub("", _plain(inline)) if task else _plain(inline)
        if (task or _has_code(inline)) and text:
            self.group().items.append((line, text))
            self.prev = (text, None)
            return
        if task:
            self.unplaced.append((line, "a checkbox with no text: not placed"))
            self.prev = None
            return
        leftover = _Leftover(line, "bullet", text, self.list_id)
        self.draft.leftovers.append(leftover)
        self.prev = (text, leftover)

    def code(self, code: str, language: str, line: int, fenced: bool) -> None:
        shell = language in SHELL_LANGUAGES or (language == "" and looks_like_commands(code))
        if not shell:
            what = f"{language} code block" if language else "code block"
            why = "" if language else " (not shell commands)"
            self.draft.leftovers.append(_Leftover(line, "code", f"{what}{why}"))
            return
        commands = commands_of(code, language)
        if not commands:
            self.draft.leftovers.append(_Leftover(line, "code", "code block with no commands"))
            return
        groups = self.draft.groups
        current = groups[-1] if groups and groups[-1].key == self.key else None
        if self.prev is not None and (
            not self.titled or (current is not None and (current.items or current.commands))
        ):
            sentence, leftover = self.prev
            if leftover is not None:
                leftover.used = True
            self.key = ("sentence", line)
            self.titled = True
            self.sentence_item = self.list_depth
            group = _Group(self.key, [_sentence(sentence)], line)
            groups.append(group)
        else:
            group = self.group()
        first = line + (1 if fenced else 0)
        for offset, command in commands:
            escaped = escape_command(command)
            at = first + offset
            if escaped is None:
                group.items.append((at, f"Run by hand: {command}"))
                self.unplaced.append(
                    (
                        at,
                        "a command whose braces the cockpit cannot write as they are: "
                        "kept as a check to run by hand",
                    )
                )
            else:
                group.commands.append((at, escaped))


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _sentence(text: str, limit: int = 80) -> str:
    """The last sentence of a paragraph, as a step title: no trailing colon, cut near 80."""
    parts = re.split(r"(?<=[.!?])\s+(?=\S)", text.strip())
    title = parts[-1].rstrip(":").strip() if parts else text
    if len(title) > limit:
        title = title[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return title or text


# -- building the phase files ----------------------------------------------------------


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
    unplaced: list[tuple[int, str]]

    def lines(self) -> list[str]:
        return [f"line {line}: {what}" for line, what in self.unplaced]


def _unique(base: str, seen: set[str]) -> str:
    candidate, n = base, 2
    while candidate in seen:
        candidate = f"{base}-{n}"
        n += 1
    seen.add(candidate)
    return candidate


def _phase_data(draft: _Draft, phase_id: str) -> dict[str, Any]:
    data: dict[str, Any] = {"id": phase_id, "title": escape_text(draft.title)}
    if draft.summary is not None and not draft.summary.used:
        draft.summary.used = True
        data["summary"] = escape_text(draft.summary.text)
    item_ids: set[str] = set()
    step_ids: set[str] = set()
    sections: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []

    def items(group: _Group) -> list[dict[str, str]]:
        return [
            {"text": escape_text(text), "id": _unique(slug(text), item_ids)}
            for _, text in group.items
        ]

    for group in draft.groups:
        if not (group.items or group.commands):
            continue
        nearest, budget = budget_of(group.titles[-1])
        nearest = _NUMBERING.sub("", nearest) or nearest
        if group.commands or budget:
            step: dict[str, Any] = {
                "id": _unique(slug(nearest) if slug(nearest) != "item" else "step", step_ids),
                "title": escape_text(nearest),
            }
            if budget:
                step["budget"] = budget
            if group.commands:
                step["commands"] = [{"run": run} for _, run in group.commands]
            if group.items:
                step["checks"] = items(group)
            steps.append(step)
        else:
            titles = [_NUMBERING.sub("", t) or t for t in group.titles]
            title = escape_text(": ".join(titles))
            same = next((s for s in sections if s["title"] == title), None)
            if same is not None:  # the heading's items again after a step: one section
                same["items"].extend(items(group))
            else:
                sections.append({"title": title, "items": items(group)})
    if sections:
        data["sections"] = sections
    if steps:
        data["steps"] = steps
    return data


class _Dumper(yaml.SafeDumper):
    """Block style with indented lists; multi-line commands as literal blocks."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _represent_str)


def _dump(data: dict[str, Any]) -> str:
    return yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000, indent=2
    )


def _header(source: str, draft: _Draft, total_lines: int) -> str:
    end = draft.end or total_lines
    out = [f"# Imported from {source} (lines {draft.line}-{end}) by `cockpit import`."]
    for line, what, text in draft.notes:
        out.append(f"# Note from line {line}, a {what}, kept as it is (not items):")
        out.extend(f"#   {row}".rstrip() for row in text)
    return "\n".join(out) + "\n"


def _not_imported(draft: _Draft) -> str:
    counts = Counter(lo.kind for lo in draft.leftovers)
    lists = len({lo.list_id for lo in draft.leftovers if lo.kind == "bullet"})
    parts = []
    for kind, n in (
        ("paragraph", counts["paragraph"]),
        ("list", lists),
        ("table", draft.tables),
        ("code block", counts["code"]),
        ("HTML block", counts["html"]),
    ):
        if n:
            parts.append(_count(n, kind))
    what = f" ({', '.join(parts)})" if parts else ""
    return f"“{draft.title}” has nothing to tick{what}: not imported"


def _leftover_lines(draft: _Draft, file_name: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    bullets: list[_Leftover] = []

    def flush() -> None:
        if bullets:
            what = f"list of {len(bullets)} bullets" if len(bullets) > 1 else "bullet"
            out.append((bullets[0].line, f"{what} without a checkbox or inline code: not placed"))
            bullets.clear()

    for leftover in draft.leftovers:
        if leftover.used:
            continue
        if leftover.kind == "bullet":
            if bullets and bullets[-1].list_id != leftover.list_id:
                flush()
            bullets.append(leftover)
            continue
        flush()
        if leftover.kind == "paragraph":
            text = leftover.text if len(leftover.text) <= 50 else leftover.text[:49] + "…"
            out.append((leftover.line, f"paragraph not placed (“{text}”)"))
        elif leftover.kind == "code":
            out.append((leftover.line, f"{leftover.text}: not placed"))
        else:
            out.append((leftover.line, "HTML block: not placed"))
    flush()
    for line, what, _ in draft.notes:
        out.append((line, f"{what} kept as a note in {file_name}"))
    return out


def import_markdown(source: Path, out: Path) -> ImportSummary:
    """Write the runbook folder ``out`` from the markdown runbook ``source``.

    Refuses (CockpitError) when ``source`` cannot be read, holds nothing to import, or
    ``out`` exists and is not an empty folder; raises InputErrors if what it wrote does
    not load (it never claims success on a folder that does not validate).
    """
    text = read_markdown(source)
    name = display_path(source)
    folder = display_path(out)
    if out.exists() and not out.is_dir():
        raise CockpitError(f"{folder} is a file: --out needs a new or empty folder")
    if out.is_dir() and any(out.iterdir()):
        raise CockpitError(
            f"{folder} is not empty: import never writes over a runbook; "
            "give --out a new or empty folder"
        )
    body, front = _front_matter(text)
    walker = _Walker(body, source.stem)
    drafts = walker.run()
    unplaced = list(walker.unplaced)
    if front:
        unplaced.append((1, f"front matter (lines 1-{front}): not placed"))
    total_lines = len(text.split("\n"))
    kept = [d for d in drafts if d.has_content()]
    if not kept:
        raise CockpitError(
            f"{name} has nothing to import: no checklist items (- [ ]), bullets with "
            "inline code, or shell code blocks"
        )
    width = len(str(10 * len(kept)))
    phase_ids: set[str] = set()
    files: list[tuple[str, str]] = []
    for draft in drafts:
        if not draft.has_content():
            if draft.leftovers or draft.notes:
                unplaced.append((draft.line, _not_imported(draft)))
            continue
        base = slug(draft.title)
        phase_id = _unique("phase" if base == "item" else base, phase_ids)
        file_name = f"{10 * (len(files) + 1):0{width}d}-{phase_id}.yaml"
        data = _phase_data(draft, phase_id)
        files.append((file_name, _header(source.name, draft, total_lines) + _dump(data)))
        unplaced.extend(_leftover_lines(draft, file_name))
    try:
        out.mkdir(parents=True, exist_ok=True)
        for file_name, content in files:
            (out / file_name).write_text(content, encoding="utf-8")
    except OSError as exc:
        raise CockpitError(f"cannot write {folder}: {error_words(exc)}") from None
    try:
        runbook = load_runbook(out, None)
    except InputErrors as exc:
        raise InputErrors(
            [
                *exc.errors,
                SourceError(
                    folder,
                    0,
                    "the imported runbook does not load (a bug in cockpit import: please "
                    "report it); the files are left there to look at",
                ),
            ]
        ) from None
    phases = list(runbook.phases.values())
    return ImportSummary(
        source=name,
        folder=out,
        files=[out / f for f, _ in files],
        phases=len(phases),
        items=sum(1 for p in phases for _ in p.entries()),
        steps=sum(len(p.steps) for p in phases),
        commands=sum(len(s.commands) for p in phases for s in p.steps),
        tables=sum(d.tables for d in drafts),
        unplaced=sorted(unplaced),
    )


# -- drift ---------------------------------------------------------------------------------


def checklist_lines(text: str) -> list[tuple[int, str]]:
    """Every task item (``- [ ]``, ``- [x]``) of a markdown text: its line and plain text."""
    body, _ = _front_matter(text)
    tokens = _parser().parse(body)
    out: list[tuple[int, str]] = []
    for k, t in enumerate(tokens):
        if t.type != "list_item_open" or tokens[k + 1].type != "paragraph_open":
            continue
        inline = tokens[k + 2]
        if _TASK.match(inline.content):
            text_ = _TASK.sub("", _plain(inline))
            if text_ and t.map:
                out.append((t.map[0] + 1, text_))
    return out


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
