"""``{name}`` placeholders in runbook commands and texts, and their shell-safe substitution.

Owns which names exist (config ``vars``, ``{ENV_url}`` for every environment, and
the run's own facts) and how a value is written into a command: quoted for exactly
the context it stands in (see ``shellscan``), so that a value is always data and
never shell syntax. In argument position a value is one word; in command position
(start of a line, after ``;`` ``&&`` ``||`` ``|`` ``(`` ``$(`` or a backtick, and
after ``do then else elif { ! time if while until``) a string value is split into
words, each quoted, so ``migrate: "tsx scripts/migrate.ts"`` runs as a command;
inside ``'…'`` or ``"…"`` the quotes are closed around the quoted value; in a
here-document ``$ ` \\`` are escaped (nothing, if its delimiter is quoted) and a
value may not carry the delimiter line; a list is several words. ``{{`` and ``}}``
are literal braces; ``${VAR}`` is the shell's, so secrets stay in the environment.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping

from cockpit import shellscan
from cockpit.shellscan import HereLine, Site

RUN_PLACEHOLDERS = (
    "version",
    "release_tag",
    "run_id",
    "release_type",
    "previous_version",
    "workspace",
    "rollback_target",
    "rollback_version",
    "deployment_range",
)
_BARE = re.compile(r"[\w@%+:,./-]+", re.ASCII)
_TEXT_NAME = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


class PlaceholderError(ValueError):
    """A value that cannot be placed where its placeholder stands, said in words."""


def names_in(template: str) -> list[str]:
    """The placeholder names a command uses, in order."""
    return [site.name for site in shellscan.sites(template)]


def problems_in(template: str) -> list[str]:
    """Placeholders standing where no value can be quoted, in words."""
    return [f"{{{s.name}}}: {s.problem}" for s in shellscan.sites(template) if s.problem]


def known_names(var_names: Iterable[str], env_names: Iterable[str]) -> set[str]:
    """Every placeholder a command may use under a config with these vars and environments."""
    return {*var_names, *(f"{env}_url" for env in env_names), *RUN_PLACEHOLDERS}


def quote(word: str, always: bool = False) -> str:
    """One shell word, single-quoted unless plainly safe (or ``always``); never uses double
    quotes."""
    if not always and _BARE.fullmatch(word):
        return word
    return "'" + word.replace("'", "'\\''") + "'"


_KEYWORDS = frozenset(
    {"if", "then", "else", "elif", "fi", "do", "done", "case", "esac", "while", "until"}
    | {"for", "in", "!", "{", "}", "time", "function", "select", "[[", "]]"}
)
"""Words the shell reads as syntax where a command starts: a value's word is never one."""


def _command_words(words: list[str]) -> str:
    return " ".join(quote(w, always=w in _KEYWORDS) for w in words)


def _split(value: str) -> list[str]:
    try:
        return shlex.split(value)
    except ValueError:  # unbalanced quotes: keep it one (safe) word
        return [value]


def _place(site: Site, value: str | list[str]) -> str:
    joined = " ".join(map(str, value)) if isinstance(value, list) else value
    context = site.context
    if isinstance(value, list) and not site.whole and context == shellscan.WORD:
        # an empty list in rm -rf {dirs}/build would leave rm -rf /build
        raise PlaceholderError(
            f"{{{site.name}}} is a list, which can only stand as whole words, not inside one"
        )
    if context == shellscan.COMMAND:
        words = [str(v) for v in value] if isinstance(value, list) else _split(value)
        text = _command_words(words)
    elif context == shellscan.WORD:
        text = " ".join(quote(str(v)) for v in value) if isinstance(value, list) else quote(value)
    elif context == shellscan.SINGLE:
        text = "'" + quote(joined) + "'"
    elif context == shellscan.DOUBLE:
        text = '"' + quote(joined) + '"'
    elif context == shellscan.HEREDOC:
        text = re.sub(r"([\\$`])", r"\\\1", joined)
    elif context == shellscan.HEREDOC_RAW:
        text = joined
    else:  # a comment: a line break would end it
        text = joined.replace("\n", " ").replace("\r", " ")
    for _ in range(site.backticks):  # each level of `…` takes one level of backslashes
        text = text.replace("\\", "\\\\").replace("`", "\\`")
    return text


def substitute(template: str, values: Mapping[str, str | list[str]]) -> str:
    """``template`` with every placeholder replaced by its value, quoted for where it stands.

    Raises KeyError naming the first unknown placeholder, PlaceholderError when a
    placeholder stands where no value can be quoted or a value would end its
    here-document.
    """
    out: list[str] = []
    line_start = 0
    for piece in shellscan.scan(template):
        if isinstance(piece, str):
            out.append(piece)
        elif isinstance(piece, HereLine):
            if not piece.end:
                line_start = len(out)
                continue
            for line in "".join(out[line_start:]).split("\n"):
                if (line.lstrip("\t") if piece.strip_tabs else line) == piece.delimiter:
                    raise PlaceholderError(
                        f"a value would end the here-document early (a line {piece.delimiter!r})"
                    )
        else:
            if piece.name not in values:
                raise KeyError(piece.name)
            if piece.problem:
                raise PlaceholderError(f"{{{piece.name}}}: {piece.problem}")
            out.append(_place(piece, values[piece.name]))
    return "".join(out)


def text_names(text: str) -> list[str]:
    """The placeholder names in a runbook text (an item, a check, a title)."""
    return [m.group(1) for m in _TEXT_NAME.finditer(text) if m.group(1)]


def fill_text(text: str, values: Mapping[str, str | list[str]]) -> str:
    """A runbook text with its known placeholders filled in as plain words (no quoting)."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return match.group(0)[0]
        value = values.get(name)
        if value is None:
            return match.group(0)
        return " ".join(map(str, value)) if isinstance(value, list) else value

    return _TEXT_NAME.sub(one, text)
