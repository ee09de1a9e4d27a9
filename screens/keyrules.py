"""Which keys apply now: the rules a screen's ``ACTIONS`` table is made of.

Owns the three answers a key can get (True: shown and enabled; None: shown dimmed;
False: hidden — Textual's ``check_action`` contract), ``driving`` (keys that change the
run are hidden from a watcher), ``when`` (a condition as shown-or-dimmed), ``lookup``
(an action without a rule always applies), and ``explain``: a screen's ``WHY`` table,
the words a dimmed key says when it is pressed anyway (the app shows them: a key the
footer offers never does nothing silently).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cockpit.session import RunSession

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


Why = Callable[[Any], str]
"""Why a key shown dimmed does nothing now, in words the operator can act on."""

NOT_NOW = "not available here now"
"""What a dimmed key says when its screen has no words for it (never silence)."""


def explain(whys: Mapping[str, Why], screen: Any, action: str) -> str:
    """The words for ``action`` dimmed on ``screen`` (a screen's ``WHY`` table)."""
    why = whys.get(action)
    return why(screen) if why is not None else NOT_NOW


def phase_locked(session: RunSession, phase_id: str) -> str:
    """What a key refused by a lock says: "phase locked: waiting on Pre-Release Gates,
    Staging Sign-off — override with a reason (o)" (``o`` on the phase's checklist)."""
    runbook = session.runbook
    waiting = session.progress(phase_id).waiting_on
    titles = ", ".join(runbook.phases[p].title if p in runbook.phases else p for p in waiting)
    return f"phase locked: waiting on {titles} — override with a reason (o)"
