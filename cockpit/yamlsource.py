"""YAML that remembers where everything came from.

Owns reading a runbook or config file into plain dicts and lists that carry the
line of every key and list element, so that any later validation error can be
reported as ``FILE:LINE``. Catches what PyYAML itself lets through or reports
badly: empty, null and binary files, tabs in indentation, duplicate keys, and nesting
deeper than ``MAX_DEPTH`` (counted while composing, so PyYAML's recursion stops there,
never in a RecursionError), and aliases that expand past ``MAX_VALUES`` values.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from cockpit.errors import SourceError, display_path


class LMap(dict):
    """A mapping with the line of the mapping (``line``) and of each key (``key_lines``)."""

    line: int = 0

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.key_lines: dict[Any, int] = {}


class LList(list):
    """A sequence with the line of the sequence (``line``) and of each element (``item_lines``)."""

    line: int = 0

    def __init__(self, *args: Any):
        super().__init__(*args)
        self.item_lines: list[int] = []


MAX_DEPTH = 64
"""Deepest nesting of mappings and lists a runbook or config may have (they need 6 or 7)."""
MAX_VALUES = 100_000
"""Most values a file may stand for with its aliases expanded (the shipped runbook: ~2,000)."""
EMPTY = "the file is empty; expected a mapping"


class _TooDeep(yaml.MarkedYAMLError):
    """Nesting past ``MAX_DEPTH``: raised before the composer recurses any further."""


class _Loader(yaml.SafeLoader):
    def __init__(self, stream: str):
        super().__init__(stream)
        self.duplicates: list[tuple[int, Any]] = []
        self.depth = 0
        self.values = 0
        self.weights: dict[int, int] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.depth += 1
        try:
            event = self.peek_event()
            if self.depth > MAX_DEPTH:
                raise _TooDeep(
                    None, None, f"nests deeper than {MAX_DEPTH} levels", event.start_mark
                )
            anchored = (
                self.anchors.get(event.anchor) if isinstance(event, yaml.AliasEvent) else None
            )
            self.values += _weight(anchored, self.weights) if anchored is not None else 1
            if self.values > MAX_VALUES:  # aliases of aliases: a "billion laughs"
                raise _TooDeep(
                    None,
                    None,
                    f"expands to more than {MAX_VALUES} values (through YAML aliases)",
                    event.start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _weight(node: yaml.Node, memo: dict[int, int]) -> int:
    """How many values ``node`` stands for once every alias in it is expanded."""
    known = memo.get(id(node))
    if known is not None:
        return known
    if isinstance(node, yaml.MappingNode):
        total = 1 + sum(_weight(k, memo) + _weight(v, memo) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        total = 1 + sum(_weight(v, memo) for v in node.value)
    else:
        total = 1
    memo[id(node)] = total
    return total


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> LMap:
    loader.flatten_mapping(node)
    out = LMap()
    out.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            if key in out:
                loader.duplicates.append((line, key))
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain value", key_node.start_mark
            ) from None
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = line
    return out


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> LList:
    out = LList()
    out.line = node.start_mark.line + 1
    for child in node.value:
        out.append(loader.construct_object(child, deep=True))
        out.item_lines.append(child.start_mark.line + 1)
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


def load_yaml(path: Path) -> tuple[Any, list[SourceError]]:
    """Parse ``path``; return (data, errors). ``data`` is None when the file is unusable, and
    then ``errors`` always says why."""
    name = display_path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [SourceError(name, 0, f"cannot read: {exc.strerror or exc}")]
    if b"\x00" in raw:
        return None, [SourceError(name, 0, "binary file (contains NUL bytes), expected YAML text")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [SourceError(name, line, "not UTF-8 text: expected a YAML file")]
    if not text.strip() or all(
        not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()
    ):
        return None, [SourceError(name, 1, EMPTY)]
    errors = []
    for number, ln in enumerate(text.splitlines(), 1):
        indent = ln[: len(ln) - len(ln.lstrip(" \t"))]
        if "\t" in indent:
            errors.append(SourceError(name, number, "tab in indentation: YAML indents with spaces"))
    if errors:
        return None, errors
    loader = None
    try:
        loader = _Loader(text)  # the reader checks the characters already here
        data = loader.get_single_data()
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        message = (
            f"not YAML text: character #x{exc.character:04x} (control characters are not allowed)"
        )
        return None, [SourceError(name, line, message)]
    except _TooDeep as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        return None, [
            SourceError(name, line, f"{exc.problem}; a runbook or config needs far fewer")
        ]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        problem = exc.problem or exc.context or "invalid YAML"
        return None, [SourceError(name, line, f"YAML syntax: {problem}")]
    except yaml.YAMLError as exc:
        return None, [SourceError(name, 0, f"YAML syntax: {exc}")]
    finally:
        if loader is not None:
            loader.dispose()
    if data is None:  # only "~", "null" or "---": nothing to read
        return None, [SourceError(name, 1, EMPTY)]
    errors = [SourceError(name, line, f"duplicate key {key!r}") for line, key in loader.duplicates]
    errors += [SourceError(name, line, message) for line, message in _control_characters(data)]
    return data, errors


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _control_characters(data: Any, line: int = 0) -> list[tuple[int, str]]:
    """Texts with a control character (a double-quoted ``"\\e"`` makes one): every text
    of a runbook or config reaches a screen or a shell, so none may act on a terminal."""
    found: list[tuple[int, str]] = []
    if isinstance(data, str):
        match = _CONTROL.search(data)
        if match:
            code = f"\\x{ord(match.group()):02x}"
            found.append(
                (line, f"control character {code} in {data[:40]!r}: not allowed in a text")
            )
    elif isinstance(data, LMap):
        for key, value in data.items():
            found += _control_characters(value, data.key_lines.get(key, data.line))
    elif isinstance(data, LList):
        for n, value in enumerate(data):
            where = data.item_lines[n] if n < len(data.item_lines) else data.line
            found += _control_characters(value, where)
    return found


def line_of(data: Any, loc: tuple[Any, ...]) -> int:
    """The line of the deepest element of ``loc`` (a pydantic error location) found in ``data``."""
    line = getattr(data, "line", 0)
    node = data
    for part in loc:
        if isinstance(node, LMap) and part in node:
            line = node.key_lines.get(part, line)
            node = node[part]
        elif isinstance(node, LList) and isinstance(part, int) and 0 <= part < len(node):
            line = node.item_lines[part]
            node = node[part]
        elif isinstance(part, str) and not isinstance(node, LMap | LList):
            continue
        else:
            continue
    return line
