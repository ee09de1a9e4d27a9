"""The keys of the screen on show, in a dialog: ``?`` opens it, Esc (or ``?``) closes it.

Owns listing what the keys do where the operator is: every key the screen, the widget
with focus and the app answer to now, with its description, and for a key shown dimmed
the words its screen gives for why it does nothing now (``why_not``, see
``screens.keyrules.explain``). The movement keys a widget brings (arrows, page up/down)
are left out: they do what they say. Keys hidden now (a watcher's, another phase kind's)
are not listed, as the footer does not offer them.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual.actions import parse
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

from screens.keyrules import NOT_NOW


@dataclass(frozen=True)
class KeyRow:
    """One action and the keys that do it."""

    keys: str
    description: str
    why_not: str | None
    """None: it acts now; else why it does nothing now."""
    everywhere: bool
    """An app key (quit, the palette, these keys), not this screen's."""


def why_not(node: DOMNode, action: str) -> str:
    """Why ``action`` is dimmed on ``node``, in the words its screen gives (``why_not``)."""
    explain = getattr(node, "why_not", None)
    return explain(action) if callable(explain) else NOT_NOW


def refused(action: object, namespace: DOMNode | None) -> str | None:
    """Why a screen's key, shown dimmed (``check_action`` None), does nothing now; None
    when ``action`` is not such a key (it ran, is hidden, or is not a screen's)."""
    if not isinstance(action, str) or not isinstance(namespace, Screen):
        return None
    prefix, name, parameters = parse(action)
    if prefix or namespace.check_action(name, parameters) is not None:
        return None
    return why_not(namespace, name)


def keys_of(screen: Screen) -> list[KeyRow]:
    """The keys ``screen`` answers to now (its own first, then the app's), one row per
    action with its keys joined ("n / esc")."""
    app = screen.app
    found: dict[tuple[int, str], tuple[list[str], str, DOMNode, bool]] = {}
    for node, binding, enabled, _ in screen.active_bindings.values():
        described = binding.description if binding.id or binding.show else ""
        if binding.action == "command_palette":
            described = "Command palette"
        if binding.system or not described:
            continue  # Textual's own (focus, copy) and a widget's movement keys
        keys, _, _, _ = found.setdefault((id(node), binding.action), ([], described, node, enabled))
        keys.append(app.get_key_display(binding))
    rows = [
        KeyRow(
            " / ".join(dict.fromkeys(keys)),
            described,
            None if enabled else why_not(node, action.split("(")[0]),
            node is app,
        )
        for (_, action), (keys, described, node, enabled) in found.items()
    ]
    return sorted(rows, key=lambda row: row.everywhere)


def screen_name(screen: Screen) -> str:
    """What the operator calls the screen: its ``keys_title``, else its class's name."""
    name = getattr(screen, "keys_title", None)
    return name if isinstance(name, str) else type(screen).__name__.removesuffix("Screen")


class KeysScreen(ModalScreen[None]):
    """The keys of the screen below, what each does, and why a dimmed one does nothing."""

    BINDINGS = [Binding("escape,question_mark", "close", "Close", id="keys.close")]

    def __init__(self, below: Screen):
        super().__init__()
        self.title_text = f"Keys — {screen_name(below)}"
        self.rows = keys_of(below)

    def compose(self) -> ComposeResult:
        with Vertical(id="keys-dialog"):
            yield Label(self.title_text, id="dialog-title", markup=False)
            with VerticalScroll(id="keys-list"):
                yield Static(self._table(), id="keys-table")
            yield Static("Esc or ? closes this.", id="dialog-detail", markup=False)

    def _table(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(justify="right", style="bold", no_wrap=True)
        table.add_column(no_wrap=True)
        table.add_column(ratio=1)
        heading = None
        for row in self.rows:
            group = "Everywhere" if row.everywhere else "On this screen"
            if group != heading:
                heading = group
                table.add_row("", Text(group, style="bold underline"), "")
            if row.why_not is None:
                table.add_row(Text(row.keys), Text(row.description), "")
            else:
                why = Text(f"not now: {row.why_not}", style="italic")
                table.add_row(Text(row.keys), Text(row.description, style="dim"), why)
        return table

    def action_close(self) -> None:
        self.dismiss(None)


def show_keys(app: App) -> None:
    """``?``: open the keys of the screen on show, or close them when they are open."""
    if isinstance(app.screen, KeysScreen):
        app.screen.dismiss(None)
        return
    app.push_screen(KeysScreen(app.screen))
