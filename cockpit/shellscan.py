"""Where each ``{name}`` placeholder stands in a shell command: the quoting around it.

Owns a small scanner of POSIX ``sh`` syntax — quotes, backslashes, ``$( )``,
backticks, ``${ }``, ``$(( ))``, comments, here-documents and command position —
that splits a command template into literal text and placeholder sites, each told
its context, so that substitution can quote a value for exactly that context. It
also turns ``{{`` and the ``}}`` that closes it into literal braces (a ``}}`` with no
``{{`` before it is the command's own, as in ``awk '{if(x){print}}'``). It is not a shell parser: it knows
only as much syntax as it takes to tell those contexts apart, and where a value
could not be placed safely (inside ``${…}``, ``$((…))``, a here-document's
delimiter or a command substitution inside a here-document) it says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

WORD = "word"  # an argument, or part of one: the value is one quoted word
COMMAND = "command"  # a whole word where a command starts: the value is split into words
SINGLE = "single"  # inside '…'
DOUBLE = "double"  # inside "…"
HEREDOC = "heredoc"  # a here-document body whose delimiter is unquoted ($ ` \ are live)
HEREDOC_RAW = "heredoc-raw"  # a here-document body whose delimiter is quoted (nothing is live)
COMMENT = "comment"  # after # to the end of the line

_NAME = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
#: Words after which the next word is again in command position.
RESERVED = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time"})
_OPERATORS = ";&|"
_WORD_END = " \t\n;&|()<>"


@dataclass(frozen=True)
class Site:
    """One placeholder: its name, where it starts, its context and how deep in backticks."""

    name: str
    start: int
    context: str
    backticks: int = 0
    problem: str | None = None
    """Why no value can be placed here, in words (None: it can)."""
    whole: bool = True
    """It stands as whole words (not inside a longer word): only then may a list go here."""


@dataclass(frozen=True)
class HereLine:
    """Marks the start (``end=False``) or end of a here-document body line."""

    delimiter: str
    strip_tabs: bool
    end: bool


Piece = str | Site | HereLine


@dataclass
class _Frame:
    kind: str  # code, `, ', ", ${, $((
    closer: str | None = None  # code: ")" for $( ), None at the top
    cmd_pos: bool = True
    word_start: bool = True
    word: list[str] = field(default_factory=list)
    word_cmd: bool = False
    redirect: bool = False
    in_redirect: bool = False
    parens: int = 0
    cases: int = 0  # open case … esac
    pattern: bool = False  # in a case pattern (before its ")")
    escaped: bool = False  # a backtick frame that holds a backslash


class _Scanner:
    def __init__(self, text: str):
        self.t = text
        self.i = 0
        self.pieces: list[Piece] = []
        self.literal: list[str] = []
        self.stack: list[_Frame] = [_Frame("code")]
        self.pending: list[tuple[str, bool, bool, int]] = []  # delimiter, strip, raw, depth
        self.doubled = 0  # {{ not yet closed by their }}

    # -- output ----------------------------------------------------------------
    def emit(self, text: str) -> None:
        self.literal.append(text)

    def flush(self) -> None:
        if self.literal:
            self.pieces.append("".join(self.literal))
            self.literal = []

    def site(self, name: str, context: str, problem: str | None = None, whole: bool = True) -> None:
        self.flush()
        depth = sum(1 for f in self.stack if f.kind == "`")
        kinds = {f.kind for f in self.stack}
        if problem is None and kinds & {"${", "$(("}:
            where = "${…}" if "${" in kinds else "$((…))"
            problem = f"a placeholder inside {where} cannot be quoted"
        if problem is None and any(f.kind == "`" and f.escaped for f in self.stack):
            problem = (
                "a placeholder inside backticks that hold a backslash cannot be quoted "
                "safely: write $( ) instead"
            )
        if problem is None and depth > 1:
            problem = "a placeholder inside nested backticks cannot be quoted: write $( )"
        self.pieces.append(Site(name, self.i, context, depth, problem, whole))

    def marker(self, piece: HereLine) -> None:
        self.flush()
        self.pieces.append(piece)

    # -- braces shared by every context ------------------------------------------
    def braces(self, context: str, problem: str | None = None, whole: bool = True) -> bool:
        """Literal ``{{``/``}}`` or a placeholder at ``i``; True if one was taken."""
        t, i = self.t, self.i
        if t.startswith("{{", i):
            self.emit("{")
            self.i += 2
            self.doubled += 1
            return True
        if t.startswith("}}", i) and self.stack[-1].kind != "${":
            # only the close of a {{ is a literal }: awk '{if(x){print}}' stays as written
            self.emit("}" if self.doubled else "}}")
            self.doubled = max(0, self.doubled - 1)
            self.i += 2
            return True
        match = _NAME.match(t, i)
        if match:
            self.site(match.group(1), context, problem, whole)
            self.i = match.end()
            return True
        return False

    # -- the scan ----------------------------------------------------------------
    def run(self) -> list[Piece]:
        while self.i < len(self.t):
            frame = self.stack[-1]
            if frame.kind in ("code", "`"):
                self.code(frame)
            elif frame.kind == "'":
                self.single()
            elif frame.kind == '"':
                self.double()
            else:
                self.nested(frame)
        self.flush()
        return self.pieces

    def push(self, kind: str, text: str, closer: str | None = None) -> None:
        self.emit(text)
        self.i += len(text)
        self.stack.append(_Frame(kind, closer))

    def pop(self, text: str) -> None:
        self.emit(text)
        self.i += len(text)
        if len(self.stack) > 1:
            self.stack.pop()

    def end_word(self, frame: _Frame) -> None:
        if frame.word_start:
            return
        word = "".join(frame.word)
        if frame.word_cmd and word == "case":
            frame.cases += 1
        elif frame.word_cmd and word == "esac" and frame.cases:
            frame.cases -= 1
            frame.pattern = False
        elif frame.cases and word == "in" and not frame.pattern and not frame.cmd_pos:
            frame.pattern = True  # case WORD in: patterns follow
        if frame.in_redirect:
            frame.in_redirect = False  # a redirection's target leaves command position as it was
        elif frame.word_cmd and (word in RESERVED or _ASSIGNMENT.match(word)):
            frame.cmd_pos = True
        else:
            frame.cmd_pos = False
        frame.word_start = True
        frame.word = []

    def word_char(self, frame: _Frame, char: str) -> None:
        if frame.word_start:
            frame.word_start = False
            frame.word_cmd = frame.cmd_pos and not frame.redirect
            frame.in_redirect = frame.redirect
            frame.redirect = False
        frame.word.append(char)

    def code(self, frame: _Frame) -> None:
        t, i = self.t, self.i
        c = t[i]
        if c in "{}":
            at_start = frame.word_start
            match = _NAME.match(t, i)
            whole = bool(match) and (match.end() == len(t) or t[match.end()] in _WORD_END)
            command = at_start and whole and frame.cmd_pos and not frame.redirect
            context = COMMAND if command and not frame.pattern else WORD
            if self.braces(context, whole=at_start and whole):
                self.word_char(frame, "\0")
                return
            self.word_char(frame, c)
            self.emit(c)
            self.i += 1
            return
        if c in " \t":
            self.end_word(frame)
            self.emit(c)
            self.i += 1
        elif c == "\n":
            self.end_word(frame)
            frame.cmd_pos = True
            self.emit(c)
            self.i += 1
            if self.pending:
                self.heredocs()
        elif c == "\\":
            self.backslash()
            if t.startswith("\\\n", i):  # a line continuation: as if it were not there
                self.emit(t[i : i + 2])
                self.i += 2
                return
            self.word_char(frame, t[i : i + 2])
            self.emit(t[i : i + 2])
            self.i += 2
        elif c == "'":
            self.word_char(frame, c)
            self.push("'", c)
        elif c == '"':
            self.word_char(frame, c)
            self.push('"', c)
        elif c == "`":
            if frame.kind == "`":
                self.pop(c)
                self.word_char(self.stack[-1], c)
            else:
                self.word_char(frame, c)
                self.push("`", c)
        elif c == "$":
            self.word_char(frame, c)
            self.dollar()
        elif c == "#" and frame.word_start:
            self.comment()
        elif t.startswith("<<", i) and not t.startswith("<<<", i):
            self.end_word(frame)
            self.heredoc_start()
        elif c in "<>":
            if not frame.word_start and "".join(frame.word).isdigit():
                frame.word_start, frame.word = True, []  # 2>: a file descriptor, not a word
            self.end_word(frame)
            frame.redirect = True
            self.emit(c)
            self.i += 1
        elif c in _OPERATORS:
            if c == "&" and i > 0 and t[i - 1] in "<>":
                self.emit(c)  # >&2: part of a redirection
                self.i += 1
                return
            self.end_word(frame)
            if frame.pattern and c == "|":  # a|b) in a case pattern
                self.emit(c)
                self.i += 1
                return
            frame.cmd_pos = True
            if frame.cases and t.startswith(";;", i):
                frame.pattern = True
                self.emit(";;")
                self.i += 2
                return
            self.emit(c)
            self.i += 1
        elif c == "(" and frame.pattern:  # case x in (a) …: the optional open paren
            self.emit(c)
            self.i += 1
        elif c == "(":
            self.end_word(frame)
            frame.parens += 1
            frame.cmd_pos = True
            self.emit(c)
            self.i += 1
        elif c == ")":
            self.end_word(frame)
            if frame.pattern:  # the ) of a case pattern
                frame.pattern = False
                frame.cmd_pos = True
                self.emit(c)
                self.i += 1
            elif frame.parens:
                frame.parens -= 1
                frame.cmd_pos = False
                self.emit(c)
                self.i += 1
            elif frame.closer == ")":
                self.pop(c)
                self.word_char(self.stack[-1], c)
            else:  # a case pattern's )
                frame.cmd_pos = True
                self.emit(c)
                self.i += 1
        else:
            self.word_char(frame, c)
            self.emit(c)
            self.i += 1

    def backslash(self) -> None:
        """Inside backticks a backslash is processed once more before the shell reads the
        command (a backslash before a double quote or a backtick): a placeholder after one
        is not quoted (refused)."""
        for frame in self.stack:
            if frame.kind == "`":
                frame.escaped = True

    def dollar(self) -> None:
        t, i = self.t, self.i
        if t.startswith("$((", i):
            self.push("$((", "$((")
        elif t.startswith("$(", i):
            self.push("code", "$(", ")")
        elif t.startswith("${", i):
            self.push("${", "${")
        else:
            self.emit("$")
            self.i += 1

    def single(self) -> None:
        c = self.t[self.i]
        if c == "'":
            self.pop(c)
        elif not self.braces(SINGLE):
            self.emit(c)
            self.i += 1

    def double(self) -> None:
        t, i = self.t, self.i
        c = t[i]
        if c == '"':
            self.pop(c)
        elif c == "\\":
            self.backslash()
            self.emit(t[i : i + 2])
            self.i += 2
        elif c == "$":
            self.dollar()
        elif c == "`":
            self.push("`", c)
        elif not self.braces(DOUBLE):
            self.emit(c)
            self.i += 1

    def nested(self, frame: _Frame) -> None:
        """Inside ``${…}`` or ``$((…))``: find the end; no value may stand here."""
        t, i = self.t, self.i
        c = t[i]
        where = "${…}" if frame.kind == "${" else "$((…))"
        if frame.kind == "${" and c == "}":
            self.pop(c)
        elif frame.kind == "$((" and t.startswith("))", i) and not frame.parens:
            self.pop("))")
        elif c == "$":
            self.dollar()
        elif c in "'\"":
            self.push(c, c)
        elif self.braces(WORD, f"a placeholder inside {where} cannot be quoted"):
            return
        else:
            if frame.kind == "$((":
                frame.parens += (c == "(") - (c == ")")
            self.emit(c)
            self.i += 1

    def comment(self) -> None:
        end = self.t.find("\n", self.i)
        end = len(self.t) if end < 0 else end
        while self.i < end:
            if not self.braces(COMMENT):
                self.emit(self.t[self.i])
                self.i += 1

    def heredoc_start(self) -> None:
        t = self.t
        strip = t.startswith("<<-", self.i)
        op = "<<-" if strip else "<<"
        self.emit(op)
        self.i += len(op)
        while self.i < len(t) and t[self.i] in " \t":
            self.emit(t[self.i])
            self.i += 1
        start = self.i
        quote = ""
        while self.i < len(t) and (quote or t[self.i] not in _WORD_END):
            c = t[self.i]
            if self.braces(WORD, "a placeholder cannot be a here-document's delimiter"):
                continue
            if quote and c == quote:
                quote = ""
            elif not quote and c in "'\"":
                quote = c  # a quoted delimiter is one word, spaces and all
            elif not quote and c == "\\":
                self.emit(t[self.i : self.i + 2])
                self.i += 2
                continue
            self.emit(c)
            self.i += 1
        word = t[start : self.i]
        raw = any(q in word for q in "'\"\\")
        delimiter = re.sub(r"\\(.)", r"\1", re.sub(r"'([^']*)'|\"([^\"]*)\"", r"\1\2", word))
        self.pending.append((delimiter, strip, raw, len(self.stack)))

    def heredocs(self) -> None:
        """The bodies of the here-documents begun on the line just ended (at this depth:
        one begun before a ``$(`` that spans lines starts after the line that closes it)."""
        t = self.t
        here = [p for p in self.pending if p[3] == len(self.stack)]
        self.pending = [p for p in self.pending if p[3] != len(self.stack)]
        for delimiter, strip, raw, _ in here:
            # In an unquoted body, $( ) and backticks are code and ${ } is the shell's: after
            # one, a placeholder is refused rather than placed where quoting means nothing.
            code_seen = False
            for_brace = 0
            continued = False  # the line before ended in a backslash: this one joins it
            while self.i < len(t):
                end = t.find("\n", self.i)
                end = len(t) if end < 0 else end
                line = t[self.i : end]
                joins, continued = continued, not raw and _odd_backslashes(line)
                if not joins and (line.lstrip("\t") if strip else line) == delimiter:
                    self.emit(t[self.i : end + 1])
                    self.i = end + 1
                    break
                self.marker(HereLine(delimiter, strip, end=False))
                while self.i < end:
                    if not raw:
                        if t.startswith("$(", self.i) or t[self.i] == "`":
                            code_seen = True
                        elif t.startswith("${", self.i):
                            for_brace += 1
                        elif t[self.i] == "}" and for_brace:
                            for_brace -= 1
                        elif t[self.i] == "\\" and self.i + 1 < end:
                            self.emit(t[self.i : self.i + 2])
                            self.i += 2
                            continue
                    problem = None
                    if code_seen:
                        problem = (
                            "a placeholder after a command substitution in a here-document "
                            "cannot be quoted: set a shell variable before it instead"
                        )
                    elif for_brace:
                        problem = "a placeholder inside ${…} cannot be quoted"
                    if not self.braces(HEREDOC_RAW if raw else HEREDOC, problem):
                        self.emit(t[self.i])
                        self.i += 1
                self.marker(HereLine(delimiter, strip, end=True))
                if end < len(t):
                    self.emit("\n")
                self.i = end + 1


def _odd_backslashes(line: str) -> bool:
    """Whether ``line`` ends in an unescaped backslash (a line continuation)."""
    return (len(line) - len(line.rstrip("\\"))) % 2 == 1


def scan(template: str) -> list[Piece]:
    """``template`` as literal text, placeholder sites and here-document line marks."""
    return _Scanner(template).run()


def sites(template: str) -> list[Site]:
    """The placeholder sites of ``template``, in order."""
    return [p for p in scan(template) if isinstance(p, Site)]
