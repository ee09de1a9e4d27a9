"""Colours for Rich text built in Python, taken from the app's theme variables.

Owns turning ``$success`` / ``$warning`` / ``$error`` into styles for cells and
prompts that are not styled by TCSS, so no colour is ever hard-coded.
"""

from __future__ import annotations

from textual.app import App

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
