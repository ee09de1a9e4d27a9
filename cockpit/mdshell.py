"""Shell commands in a markdown runbook's code blocks, and braces written for the cockpit.

Owns telling which code blocks hold commands (a shell language, or an unlabelled block
whose every command starts with a known command word or a script), splitting a block into
commands (one per line, with backslash continuations, ``$`` prompts, here-documents, open
quotes and ``if``/loop/``{`` groups kept whole), and writing text and commands so the
cockpit shows and runs them exactly as the markdown says: ``{name}`` and ``{{``/``}}``
doubled where they would otherwise be placeholders, judged by the cockpit's own scanner.
"""

from __future__ import annotations

import re

from cockpit import shellscan
from cockpit.placeholders import PlaceholderError, substitute

SHELL_LANGUAGES = frozenset(
    {"bash", "sh", "shell", "zsh", "ksh", "console", "shell-session", "shellsession", "terminal"}
)
"""Fenced code languages whose lines are commands to run."""
PROMPT_LANGUAGES = frozenset({"console", "shell-session", "shellsession", "terminal"})
"""Languages that show a session: only the ``$ `` lines are commands, the rest is output."""

_PROMPT = re.compile(r"^\s*\$\s")
_TEXT_BRACES = re.compile(r"\{\{|\}\}|\{[A-Za-z_][A-Za-z0-9_]*\}")
_HEREDOC = re.compile(r"(?<!<)<<(?!<)(-?)\s*(['\"]?)([A-Za-z_][\w.-]*)\2")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_OPENERS = frozenset({"if", "case", "for", "while", "until", "select"})
_CLOSERS = frozenset({"fi", "esac", "done"})
_LEADS = frozenset({"then", "do", "else", "elif", "{", "!", "time", "if", "while", "until"})

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

_Heredoc = tuple[str, bool]
"""An open here-document: its delimiter, and whether its lines may be tab-indented (``<<-``)."""


# -- braces -----------------------------------------------------------------------------


def _doubled(token: str) -> str:
    return token.replace("{", "{{").replace("}", "}}")


def escape_text(text: str) -> str:
    """A title or item text written so the cockpit shows it as it is: ``{name}``, ``{{``
    and ``}}`` doubled (everything else, ``{`` alone included, is shown as written)."""
    return _TEXT_BRACES.sub(lambda m: _doubled(m.group(0)), text)


def _literal(template: str, command: str) -> bool:
    """Whether the cockpit runs ``template`` as exactly ``command``: no placeholder in it."""
    try:
        return not shellscan.sites(template) and substitute(template, {}) == command
    except (KeyError, PlaceholderError):
        return False


def _first_guess(command: str, matches: list[re.Match[str]]) -> list[bool]:
    """Whether to double each brace token: ``{{`` always, ``}}`` when it closes one of
    those, ``{name}`` unless it is the shell's ``${name}``."""
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
    return escape


def _written(
    command: str, matches: list[re.Match[str]], escape: list[bool]
) -> tuple[str, list[tuple[int, int]]]:
    """``command`` with the brace tokens doubled as decided, and where each token now is."""
    text = ""
    spans: list[tuple[int, int]] = []
    pos = 0
    for m, doubled in zip(matches, escape, strict=True):
        text += command[pos : m.start()]
        token = _doubled(m.group(0)) if doubled else m.group(0)
        spans.append((len(text), len(text) + len(token)))
        text += token
        pos = m.end()
    return text + command[pos:], spans


def _settled(command: str, matches: list[re.Match[str]], escape: list[bool]) -> list[bool] | None:
    """The decisions flipped, one at a time, at the token where the cockpit's scanner still
    sees a placeholder, until it sees none; None when the placeholder is not at a token or
    the flips go round in a circle."""
    tried: set[tuple[bool, ...]] = set()
    for _ in range(2 * len(matches) + 1):
        tried.add(tuple(escape))
        text, spans = _written(command, matches, escape)
        sites = shellscan.sites(text)
        if not sites:
            break
        hit = next((k for k, (a, b) in enumerate(spans) if a <= sites[0].start < b), None)
        if hit is None:
            return None
        escape[hit] = not escape[hit]
        if tuple(escape) in tried:
            return None
    return escape


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
    escape = _settled(command, matches, _first_guess(command, matches))
    if escape is None:
        return None
    # as settled, else one decision off (a }} that closes nothing of ours)
    flips = [[not d if j == k else d for j, d in enumerate(escape)] for k in range(len(escape))]
    for decisions in [escape, *flips]:
        text, _ = _written(command, matches, decisions)
        if _literal(text, command):
            return text
    return None


# -- where a command ends ------------------------------------------------------------------


def _odd_backslash(line: str) -> bool:
    return (len(line) - len(line.rstrip("\\"))) % 2 == 1


def _shell_tokens(text: str) -> tuple[list[str], bool]:
    """The words of shell ``text``, with ``;`` for each command separator (newline, ``;``,
    ``&``, ``|``) and ``(``/``)`` for parentheses, and whether a quote is left open.
    Comments and quoted text are dropped (a word keeps only its opening quote)."""
    tokens: list[str] = []
    word = quote = ""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        i += 1
        if quote:
            if c == "\\" and quote == '"':
                i += 1
            elif c == quote:
                quote = ""
        elif c == "\\":
            word += text[i - 1 : i + 1]
            i += 1
        elif c in "'\"":
            quote = c
            word += c
        elif c == "#" and not word:
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif c in " \t\n;&|()":
            if word:
                tokens.append(word)
                word = ""
            if c not in " \t":
                tokens.append(c if c in "()" else ";")
        else:
            word += c
    if word:
        tokens.append(word)
    return tokens, bool(quote)


def _unfinished(text: str) -> bool:
    """Whether the shell would read on past the end of ``text``: an open quote, parenthesis,
    ``if``/``case``/loop/``{`` group, a trailing ``|``/``&&``/``||`` or backslash."""
    stripped = text.rstrip()
    if _odd_backslash(stripped) or stripped.endswith(("|", "&&")):
        return True
    tokens, open_quote = _shell_tokens(text)
    depth = parens = 0
    command = True  # whether the next word stands where a command starts
    for token in tokens:
        if token == ";":
            command = True
        elif token == "(":
            parens += 1
            command = True
        elif token == ")":
            parens = max(0, parens - 1)
        else:
            if token == "{" or (command and token in _OPENERS):
                depth += 1
            elif token == "}" or (command and token in _CLOSERS):
                depth = max(0, depth - 1)
            command = token in _LEADS or bool(command and _ASSIGNMENT.match(token))
    return open_quote or parens > 0 or depth > 0


def _heredoc_in(line: str) -> _Heredoc | None:
    here = _HEREDOC.search(line)
    return None if here is None else (here.group(3), here.group(1) == "-")


def _heredoc_ends(line: str, heredoc: _Heredoc) -> bool:
    delimiter, tabs = heredoc
    return (line.lstrip("\t") if tabs else line).rstrip() == delimiter


def _without_heredocs(text: str) -> str:
    """``text`` without here-document bodies (their quotes and words are not code)."""
    kept: list[str] = []
    heredoc: _Heredoc | None = None
    for line in text.split("\n"):
        if heredoc is not None:
            if _heredoc_ends(line, heredoc):
                heredoc = None
            continue
        kept.append(line)
        heredoc = _heredoc_in(line)
    return "\n".join(kept)


def _first_line(line: str, prompted: bool) -> str | None:
    """The command a line starts (its ``$`` prompt dropped), or None for a blank line, a
    comment, or (in a session with prompts) output."""
    if prompted:
        prompt = _PROMPT.match(line)
        if prompt is None:
            return None
        line = line[prompt.end() :]
    line = line.strip()
    return None if not line or line.startswith("#") else line


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
    heredoc: _Heredoc | None = None
    for n, raw in enumerate(lines):
        if heredoc is not None:
            text += "\n" + raw
            if not _heredoc_ends(raw, heredoc):
                continue
            heredoc = None
        else:
            line = raw.rstrip()
            if not text:
                first = _first_line(line, prompted)
                if first is None:
                    continue
                start, text, line = n, first, first
            elif _odd_backslash(text):
                text = text[:-1].rstrip() + " " + line.strip()
            else:
                if prompted:
                    line = re.sub(r"^\s*>\s", "", line)
                text += "\n" + line
            heredoc = None if _odd_backslash(line) else _heredoc_in(line)
            if heredoc is not None:
                continue
        if not _unfinished(_without_heredocs(text)):
            out.append((start, text))
            text = ""
    if text:
        out.append((start, text.rstrip("\\").rstrip()))
    return out


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
