"""The answer dialog: a question the runbook asks (``answer: yes-no``) answered yes, no or
unknown, with a note saying why.

Owns asking for the answer and its note in one dialog; the three answers are buttons
named in words (the note field has the keys: Tab reaches the buttons), and Esc answers
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


@dataclass(frozen=True)
class Answer:
    answer: str
    """yes, no or unknown."""
    note: str | None


class AnswerPrompt(ModalScreen[Answer | None]):
    """Answer a question; dismisses with the answer and note, or None (Esc)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="answer.cancel")]

    def __init__(self, question: str, detail: str = ""):
        super().__init__()
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.question, id="dialog-title", markup=False)
            if self.detail:
                yield Static(self.detail, id="dialog-detail", markup=False)
            yield Label("Why (journaled with the answer)")
            yield Input(id="answer-note", placeholder="what the answer rests on")
            with Horizontal(id="dialog-buttons"):
                yield Button("Yes", variant="success", id="answer-yes")
                yield Button("No", variant="error", id="answer-no")
                yield Button("Unknown", variant="warning", id="answer-unknown")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.cursor_blink = False
        field.focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        name = str(event.button.id)
        if name == "cancel":
            self.dismiss(None)
            return
        note = self.query_one(Input).value.strip() or None
        self.dismiss(Answer(name.removeprefix("answer-"), note))

    def action_cancel(self) -> None:
        self.dismiss(None)
