"""Strict input models and how their errors become ``FILE:LINE: message``.

Owns the base class every runbook and config model derives from (unknown keys
forbidden, no type coercion) and the translation of pydantic's errors into
``SourceError`` lines, using the line map kept by ``yamlsource``.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from cockpit.errors import SourceError
from cockpit.yamlsource import line_of


class StrictModel(BaseModel):
    """Base of input models: unknown keys are errors, values are never coerced."""

    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, arbitrary_types_allowed=True
    )


M = TypeVar("M", bound=BaseModel)

_TYPE_WORDS = {
    "string_type": "text",
    "bool_type": "true or false",
    "int_type": "a whole number",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "float_type": "a number",
}


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return f"the number {value}"
    return repr(value)


def error_message(err: dict[str, Any]) -> str:
    """One pydantic error in words an operator can act on."""
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
    where = _path(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        parent = _path(loc[:-1])
        return f"unknown key {loc[-1]!r}" + (f" in {parent}" if parent else "")
    if kind == "missing":
        parent = _path(loc[:-1])
        return f"missing required key {loc[-1]!r}" + (f" in {parent}" if parent else "")
    if kind in _TYPE_WORDS:
        return f"{where}: expected {_TYPE_WORDS[kind]}, got {_describe(err.get('input'))}"
    message = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return f"{where}: {message}" if where else message


def validate(model: type[M], data: Any, file: str) -> tuple[M | None, list[SourceError]]:
    """Validate ``data`` (from ``load_yaml``) as ``model``; errors carry file and line."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        errors = [
            SourceError(file, line_of(data, tuple(e["loc"])), error_message(e))
            for e in exc.errors(include_url=False)
        ]
        return None, errors
