"""Reading a markdown runbook into drafts of phases, by markdown line.

Owns the walk over the markdown's blocks (CommonMark with tables, parsed by markdown-it-py,
a leading ``---`` front matter set aside): the headings of the shallowest level used more
than once start phases, deeper headings and bold or colon-ended labels title the groups
under them, ``- [ ]`` task items and bullets holding inline code become items, shell code
blocks become commands (a step titled by the sentence just before the block when no
heading or label titles it alone), tables are kept whole, and every other block is kept as
a leftover, each with its line, for the importer to report.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token

from cockpit.mdshell import SHELL_LANGUAGES, commands_of, escape_command, looks_like_commands

_TASK = re.compile(r"^\[([ xX])\]\s+")
# Tokens after which no sentence stands right before a code block (to title its step).
# fmt: off
_FORGETS = frozenset({
    "heading_open", "bullet_list_open", "ordered_list_open", "bullet_list_close",
    "ordered_list_close", "list_item_close", "fence", "code_block", "table_open", "html_block",
    "hr", "blockquote_open", "blockquote_close",
})
# fmt: on

Unplaced = list[tuple[int, str]]
"""What could not be placed, each with its markdown line."""


def _front_matter(text: str) -> tuple[str, int]:
    """``text`` with a leading ``---`` front matter blanked out (lines kept), and its length."""
    lines = text.split("\n")
    if lines and lines[0].strip() == "---":
        for n in range(1, len(lines)):
            if lines[n].strip() in ("---", "..."):
                return "\n" * (n + 1) + "\n".join(lines[n + 1 :]), n + 1
    return text, 0


def _tokens(text: str) -> list[Token]:
    return MarkdownIt("commonmark").enable("table").parse(text)


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


def _task(inline: Token) -> str | None:
    """The text of a task item (``[ ] text``, ``[x] text``), or None when it is not one."""
    return _TASK.sub("", _plain(inline)) if _TASK.match(inline.content) else None


def _has_code(inline: Token) -> bool:
    return any(child.type == "code_inline" for child in inline.children or [])


def _label(inline: Token) -> str | None:
    """A paragraph that titles what follows: all bold (``**Build Verification:**``), or one
    short line ending in a colon (``Before you deploy:``)."""
    kids = [c for c in inline.children or [] if not (c.type == "text" and not c.content.strip())]
    if kids and kids[-1].type == "text" and kids[-1].content.strip() == ":":
        kids = kids[:-1]
    opens = {"strong_open": "strong_close", "em_open": "em_close"}
    text = _plain(inline)
    if (
        len(kids) >= 3
        and kids[0].type in opens
        and kids[-1].type == opens[kids[0].type]
        and not any(c.type in ("softbreak", "hardbreak", *opens) for c in kids[1:-1])
    ):
        return text.rstrip(":").strip() or None
    if "\n" not in inline.content.strip() and text.endswith(":") and len(text) <= 80:
        return text[:-1].strip() or None
    return None


def _sentence(text: str, limit: int = 80) -> str:
    """The last sentence of a paragraph, as a step title: no trailing colon, cut near 80."""
    parts = re.split(r"(?<=[.!?])\s+(?=\S)", text.strip())
    title = parts[-1].rstrip(":").strip() if parts else text
    if len(title) > limit:
        title = title[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return title or text


def checklist_lines(text: str) -> list[tuple[int, str]]:
    """Every task item (``- [ ]``, ``- [x]``) of a markdown text: its line and plain text."""
    tokens = _tokens(_front_matter(text)[0])
    out: list[tuple[int, str]] = []
    for k, t in enumerate(tokens):
        if t.type != "list_item_open" or tokens[k + 1].type != "paragraph_open":
            continue
        task = _task(tokens[k + 2])
        if task and t.map:
            out.append((t.map[0] + 1, task))
    return out


@dataclass
class Leftover:
    """A block of the markdown that is not (yet) an item, step, title or summary."""

    line: int
    kind: str  # paragraph, bullet, code, html
    text: str = ""
    list_id: int = -1
    used: bool = False


@dataclass
class Table:
    """A table of the markdown, kept as it is: its line, body rows and source lines."""

    line: int
    rows: int
    source: list[str]


@dataclass
class Group:
    """A section or step being gathered: the items and commands under one title."""

    key: object
    titles: list[str]  # the headings (and label) above, outermost first
    items: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)


@dataclass
class Draft:
    """One phase being gathered: a heading of the phase level and what stands under it."""

    title: str
    line: int
    end: int = 0
    groups: list[Group] = field(default_factory=list)
    leftovers: list[Leftover] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    summary: Leftover | None = None
    blocks: int = 0

    def has_content(self) -> bool:
        return any(g.items or g.commands for g in self.groups)


def read_drafts(text: str, stem: str) -> tuple[list[Draft], Unplaced]:
    """The drafts of phases of a markdown text (the first, titled ``stem``, holds what
    stands before the first phase heading), and what the walk could not place."""
    body, front = _front_matter(text)
    walker = _Walker(body, stem)
    drafts = walker.run()
    if front:
        walker.unplaced.append((1, f"front matter (lines 1-{front}): not placed"))
    return drafts, walker.unplaced


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
        self.tokens = _tokens(text)
        self.level = _phase_level(self.tokens)
        self.drafts: list[Draft] = [Draft(stem, 1)]
        self.unplaced: Unplaced = []
        self.headings: list[tuple[int, str]] = []
        self.label: str | None = None
        self.key: object = ("phase", 0)
        self.titled = False
        self.prev: tuple[str, Leftover | None] | None = None  # the sentence just before
        self.list_depth = 0
        self.list_id = -1
        self.sentence_item = 0  # the list depth of the item whose code block titled a step

    @property
    def draft(self) -> Draft:
        return self.drafts[-1]

    def context(self) -> None:
        self.key = (tuple(self.headings), self.label, len(self.draft.groups))
        self.titled = bool(self.headings or self.label)

    def current(self) -> Group | None:
        groups = self.draft.groups
        return groups[-1] if groups and groups[-1].key == self.key else None

    def group(self) -> Group:
        group = self.current()
        if group is None:
            titles = [t for _, t in self.headings] + ([self.label] if self.label else [])
            group = Group(self.key, titles or [self.draft.title])
            self.draft.groups.append(group)
        return group

    def run(self) -> list[Draft]:
        i = 0
        while i < len(self.tokens):
            i = self.step(i)
        return self.drafts

    def step(self, i: int) -> int:
        """Take in the token at ``i``; the index of the next token to look at."""
        tokens = self.tokens
        t = tokens[i]
        line = (t.map[0] + 1) if t.map else 0
        if (
            t.level == 0
            and t.type != "heading_open"
            and (t.nesting == 1 or (t.block and not t.nesting))
        ):
            self.draft.blocks += 1
        after = i + 1
        match t.type:
            case "heading_open":
                self.heading(int(t.tag[1]), _plain(tokens[i + 1]), line)
                after = i + 3
            case "bullet_list_open" | "ordered_list_open":
                self.list_depth += 1
                if self.list_depth == 1:
                    self.list_id = i
            case "bullet_list_close" | "ordered_list_close":
                self.list_depth -= 1
            case "list_item_open" if tokens[i + 1].type == "paragraph_open":
                self.list_item(tokens[i + 2], line)
                after = i + 4
            case "list_item_close" if self.sentence_item and t.level == 2 * self.sentence_item - 1:
                self.sentence_item = 0
                self.context()  # the items after it belong to the heading again, not to that step
            case "paragraph_open":
                self.paragraph(tokens[i + 1], line)
                after = i + 3
            case "fence" | "code_block":
                language = (t.info.split() or [""])[0].lower()
                self.code(t.content, language, line, fenced=t.type == "fence")
            case "table_open":
                after = self.table(i, line)
            case "html_block" if not t.content.lstrip().startswith("<!--"):
                self.draft.leftovers.append(Leftover(line, "html"))
        if t.type in _FORGETS:
            self.prev = None
        return after

    def heading(self, level: int, title: str, line: int) -> None:
        if self.level is None or level <= self.level:
            self.draft.end = line - 1
            self.drafts.append(Draft(title, line))
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
        leftover = Leftover(line, "paragraph", _plain(inline))
        if self.draft.blocks == 1 and not self.headings and self.list_depth == 0:
            self.draft.summary = leftover
        self.draft.leftovers.append(leftover)
        self.prev = (leftover.text, leftover)

    def list_item(self, inline: Token, line: int) -> None:
        task = _task(inline)
        text = _plain(inline) if task is None else task
        if text and (task is not None or _has_code(inline)):
            self.group().items.append(text)
            self.prev = (text, None)
        elif task is not None:
            self.unplaced.append((line, "a checkbox with no text: not placed"))
            self.prev = None
        else:
            leftover = Leftover(line, "bullet", text, self.list_id)
            self.draft.leftovers.append(leftover)
            self.prev = (text, leftover)

    def table(self, i: int, line: int) -> int:
        tokens = self.tokens
        end = next(k for k in range(i, len(tokens)) if tokens[k].type == "table_close")
        body = next((k for k in range(i, end) if tokens[k].type == "tbody_open"), end)
        rows = sum(1 for k in range(body, end) if tokens[k].type == "tr_open")
        assert tokens[i].map is not None
        first, last = tokens[i].map
        self.draft.tables.append(Table(line, rows, self.lines[first:last]))
        return end + 1

    def code(self, code: str, language: str, line: int, fenced: bool) -> None:
        shell = language in SHELL_LANGUAGES or (language == "" and looks_like_commands(code))
        commands = commands_of(code, language) if shell else []
        if not commands:
            what = "code block with no commands"
            if not shell:
                what = f"{language} code block" if language else "code block (not shell commands)"
            self.draft.leftovers.append(Leftover(line, "code", what))
            return
        group = self.sentence_step(line) or self.group()
        first = line + 1 if fenced else line  # the markdown line of the block's first line
        for offset, command in commands:
            escaped = escape_command(command)
            if escaped is not None:
                group.commands.append(escaped)
                continue
            group.items.append(f"Run by hand: {command}")
            self.unplaced.append(
                (
                    first + offset,
                    "a command whose braces the cockpit cannot write as they are: "
                    "kept as a check to run by hand",
                )
            )

    def sentence_step(self, line: int) -> Group | None:
        """A new step titled by the sentence just before the code block at ``line``, when
        no heading or label titles it, or what they title already holds something."""
        current = self.current()
        busy = current is not None and bool(current.items or current.commands)
        if self.prev is None or (self.titled and not busy):
            return None
        sentence, leftover = self.prev
        if leftover is not None:
            leftover.used = True
        self.key = ("sentence", line)
        self.titled = True
        self.sentence_item = self.list_depth
        group = Group(self.key, [_sentence(sentence)])
        self.draft.groups.append(group)
        return group
