"""``{name}`` placeholders in runbook commands, and their shell-safe substitution.

Owns which names exist (config ``vars``, ``{ENV_url}`` for every environment, and
the run's own facts) and how values are quoted. A value can never inject shell
syntax: in argument position a value is exactly one argument (``prod; touch x``
stays one word); in command position (start of the command or after ``;``, ``&&``,
``||``, ``|``, ``(``) a string value is split into words, each quoted, so that
``migrate: "tsx scripts/migrate.ts"`` runs as a command. A list value is always
several words. ``${VAR}`` is shell syntax and left alone, so secrets stay in the
environment and are expanded by the shell, never written into a command line.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping

PLACEHOLDER = re.compile(r"(?<!\$)\{([A-Za-z_][A-Za-z0-9_]*)\}")
RUN_PLACEHOLDERS = (
    "version",
    "run_id",
    "release_type",
    "previous_version",
    "workspace",
    "rollback_target",
    "rollback_version",
    "deployment_range",
)
_COMMAND_POSITION = re.compile(r"(^|[;&|(`]|\$\()\s*$")


def names_in(template: str) -> list[str]:
    """The placeholder names a command uses, in order."""
    return [m.group(1) for m in PLACEHOLDER.finditer(template)]


def known_names(var_names: Iterable[str], env_names: Iterable[str]) -> set[str]:
    """Every placeholder a command may use under a config with these vars and environments."""
    return {*var_names, *(f"{env}_url" for env in env_names), *RUN_PLACEHOLDERS}


def substitute(template: str, values: Mapping[str, str | list[str]]) -> str:
    """``template`` with every placeholder replaced by its shell-quoted value.

    Raises KeyError naming the first unknown placeholder.
    """

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(name)
        value = values[name]
        if isinstance(value, list):
            return " ".join(shlex.quote(str(v)) for v in value)
        if _COMMAND_POSITION.search(template[: match.start()]):
            try:
                return " ".join(shlex.quote(word) for word in shlex.split(value))
            except ValueError:  # unbalanced quotes: keep it one (safe) word
                return shlex.quote(value)
        return shlex.quote(value)

    return PLACEHOLDER.sub(replace, template)
