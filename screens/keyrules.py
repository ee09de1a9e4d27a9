"""Which keys apply now: the rules a screen's ``ACTIONS`` table is made of.

Owns the three answers a key can get (True: shown and enabled; None: shown dimmed;
False: hidden — Textual's ``check_action`` contract), ``driving`` (keys that change the
run are hidden from a watcher), ``when`` (a condition as shown-or-dimmed), and ``lookup``
(an action without a rule always applies).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Rule = Callable[[Any], bool | None]
"""Whether a key applies now on the screen it is given."""


def driving(rule: Rule) -> Rule:
    """A key that changes the run: hidden while watching (no driver)."""
    return lambda screen: rule(screen) if screen.cockpit.driver is not None else False


def when(condition: bool) -> bool | None:
    """Enabled when the condition holds, shown dimmed otherwise."""
    return True if condition else None


def lookup(rules: Mapping[str, Rule], screen: Any, action: str) -> bool | None:
    """The answer for ``action`` on ``screen`` (True when the table has no rule for it)."""
    rule = rules.get(action)
    return True if rule is None else rule(screen)
