"""The rollback decision dialog: roll back or fix forward, the rationale, the commander.

Owns asking for the three things the runbook's "Make Decision" stage requires —
the incident commander's final call, the documented rationale, who made it — and
refusing to close without them.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static


@dataclass(frozen=True)
class Decision:
    choice: str
    rationale: str
    commander: str


class DecisionDialog(ModalScreen[Decision | None]):
    """Record the decision; Esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="decision.cancel")]

    def __init__(
        self,
        commander: str,
        criteria: list[str],
        title: str = "Decision",
        role: str = "Incident commander",
        earlier: str | None = None,
    ):
        """``title``: the decision phase's; ``role``: who decides (the runbook's role for the
        rationale, else the incident commander); ``earlier``: the decision already recorded."""
        super().__init__()
        self.commander = commander
        self.criteria = criteria
        self.title_text = title
        self.role = role
        self.earlier = earlier

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="dialog-title", markup=False)
            met = "; ".join(self.criteria) if self.criteria else "none ticked"
            detail = f"Criteria met: {met}"
            if self.earlier:
                detail += f"\nAlready recorded: {self.earlier} (a new one is added after it)"
            yield Static(detail, id="dialog-detail", markup=False)
            with RadioSet(id="decision-choice"):
                yield RadioButton(
                    "ROLL BACK — return production to the last good release",
                    value=True,
                    id="choice-rollback",
                )
                yield RadioButton(
                    "FIX FORWARD — keep this release and ship a fix", id="choice-fix-forward"
                )
            yield Label("Rationale (required)")
            yield Input(id="decision-rationale", placeholder="why: scope, risk, data migrations…")
            yield Label(self.role, markup=False)
            yield Input(value=self.commander, id="decision-commander")
            yield Static("", id="dialog-error", markup=False)
            with Horizontal(id="dialog-buttons"):
                yield Button("Record decision", variant="error", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = False
        self.query_one("#decision-rationale", Input).focus()

    @on(Button.Pressed, "#ok")
    @on(Input.Submitted)
    def _submit(self) -> None:
        rationale = self.query_one("#decision-rationale", Input).value.strip()
        commander = self.query_one("#decision-commander", Input).value.strip()
        if not rationale or not commander:
            self.query_one("#dialog-error", Static).update(
                "The rationale and the commander are required."
            )
            return
        pressed = self.query_one(RadioSet).pressed_button
        choice = (
            (pressed.id or "choice-rollback").removeprefix("choice-") if pressed else "rollback"
        )
        self.dismiss(Decision(choice, rationale, commander))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
