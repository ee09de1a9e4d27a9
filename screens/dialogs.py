"""Modal dialogs: a text prompt (notes, reasons), a yes/no confirmation, a choice among a
few named actions, and a pick among values a command's output offered.

Owns the modals every screen uses to ask the operator something before an intent is
sent. A prompt can require text (an override's reason) and says so.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Key
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option


class TextPrompt(ModalScreen[str | None]):
    """Ask for a line of text; dismisses with the text, or None when cancelled. ``ok`` names
    the button after what it does ("Override", "Skip", "Search" …; "OK" when nothing more
    fitting)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]

    def __init__(
        self,
        title: str,
        detail: str = "",
        *,
        required: bool = True,
        value: str = "",
        ok: str = "OK",
    ):
        super().__init__()
        self.ok = ok
        self.prompt_title = title
        self.detail = detail
        self.required = required
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.prompt_title, id="dialog-title", markup=False)
            if self.detail:
                yield Static(self.detail, id="dialog-detail", markup=False)
            yield Input(value=self.value, id="dialog-input")
            yield Static("", id="dialog-error", markup=False)
            with Horizontal(id="dialog-buttons"):
                yield Button(self.ok, variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.cursor_blink = False
        field.focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _submit(self) -> None:
        text = self.query_one(Input).value.strip()
        if self.required and not text:
            self.query_one("#dialog-error", Static).update("This needs some text.")
            return
        self.dismiss(text)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class Confirm(ModalScreen[bool]):
    """Ask yes or no; ``y``/``n`` answer from the keyboard."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, title: str, detail: str = "", yes: str = "Yes", no: str = "No"):
        super().__init__()
        self.confirm_title = title
        self.detail = detail
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.confirm_title, id="dialog-title", markup=False)
            if self.detail:
                yield Static(self.detail, id="dialog-detail", markup=False)
            with Horizontal(id="dialog-buttons"):
                yield Button(f"{self.yes} (y)", variant="error", id="yes")
                yield Button(f"{self.no} (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class Choose(ModalScreen[str | None]):
    """Pick one of a few actions, each a button named after it with its key; Escape is
    the last one (the one that changes nothing). Dismisses with the chosen key."""

    def __init__(self, title: str, detail: str, choices: list[tuple[str, str]]):
        super().__init__()
        self.choose_title = title
        self.detail = detail
        self.choices = choices
        """(key, label) pairs; the last is the harmless one, focused first."""

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.choose_title, id="dialog-title", markup=False)
            if self.detail:
                yield Static(self.detail, id="dialog-detail", markup=False)
            with Horizontal(id="dialog-buttons"):
                for n, (key, label) in enumerate(self.choices):
                    last = n == len(self.choices) - 1
                    variant = "default" if last else "error" if n == 0 else "warning"
                    yield Button(f"{label} ({key})", variant=variant, id=f"choice-{key}")

    def on_mount(self) -> None:
        self.query_one(f"#choice-{self.choices[-1][0]}", Button).focus()

    def on_key(self, event: Key) -> None:
        keys = {key for key, _ in self.choices}
        if event.key in keys:
            event.stop()
            self.dismiss(event.key)
        elif event.key == "escape":
            event.stop()
            self.dismiss(self.choices[-1][0])

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(str(event.button.id).removeprefix("choice-"))


class PickPrompt(ModalScreen[str | None]):
    """Pick one of the offered values (Enter), or Escape to pick later; dismisses with the
    value or None."""

    BINDINGS = [Binding("escape", "cancel", "Later", id="pick.cancel")]

    def __init__(self, title: str, detail: str, values: list[str]):
        super().__init__()
        self.pick_title = title
        self.detail = detail
        self.values = values

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.pick_title, id="dialog-title", markup=False)
            yield Static(self.detail, id="dialog-detail", markup=False)
            yield OptionList(*(Option(Text(v), id=f"v{n}") for n, v in enumerate(self.values)))

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.values[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)
