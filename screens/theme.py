"""Small helpers every screen shares: theme colours for Rich text, text bars, footer refresh.

Owns turning ``$success`` / ``$warning`` / ``$error`` into styles for cells and
prompts that are not styled by TCSS (so no colour is ever hard-coded), progress bars
in text, and redrawing a screen's footer only when what its keys can do changed.
"""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

_CACHE: dict[tuple[int, str], dict[str, str]] = {}


def style(app: App, name: str, bold: bool = False) -> str:
    """A Rich style string for theme variable ``name`` (``success``, ``warning``, ``error`` …).

    The theme's variables are computed once per app and theme (generating them is costly).
    """
    key = (id(app), app.theme)
    variables = _CACHE.get(key)
    if variables is None:
        variables = _CACHE[key] = app.get_css_variables()
    colour = variables.get(name, "")
    return f"{'bold ' if bold else ''}{colour}".strip()


def bar(done: int, total: int, width: int = 16) -> str:
    """A progress bar in text: ``██████░░░░`` (never colour alone)."""
    if total <= 0:
        return "·" * width
    filled = round(width * done / total)
    return "█" * filled + "░" * (width - filled)


def refresh_bindings_if_changed(screen: Screen) -> None:
    """Redraw the footer only when what the keys can do changed (a redraw recomposes it)."""
    actions = tuple(
        screen.check_action(b.action.split("(")[0], ())
        for b in screen.BINDINGS
        if isinstance(b, Binding)
    )
    if actions != getattr(screen, "_binding_states", None):
        screen._binding_states = actions  # type: ignore[attr-defined]
        screen.refresh_bindings()


STEP_COLOURS = {
    "done": "success",
    "failed": "error",
    "aborted": "error",
    "running": "accent",
    "skipped": "warning",
}
"""Theme variable for each step state (pending has none)."""
