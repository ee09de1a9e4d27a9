"""The dashboard: every phase with its progress and lock state, and the side panels.

Owns the table of phases (Enter opens a phase's checklist) and the layout of the
environments, production deployment and repository panels around it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label

from screens.header import RollbackBanner, RunHeader
from screens.panels import DeployPanel, GitPanel, HealthPanel
from screens.theme import bar, style

if TYPE_CHECKING:
    from screens.app import CockpitApp


class PhaseTable(DataTable):
    """One row per phase of the run's release type: progress bar, count and state in words."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_column("Phase", key="phase", width=38)
        self.add_column("Progress", key="progress", width=24)
        self.add_column("State", key="state")
        self.watch(self.app, "revision", lambda _: self.reload(), init=True)

    def reload(self) -> None:
        app = cast("CockpitApp", self.app)
        session = app.session
        if session is None:
            return
        row = self.cursor_row
        self.clear()
        for phase in session.phases():
            p = session.progress(phase.id)
            if p.total:
                progress = Text(f"{bar(p.done, p.total)} {p.done:>2}/{p.total}")
            else:
                progress = Text(f"{len(phase.steps_for(session.release_type))} steps", style="dim")
            if p.complete:
                state = Text("✓ complete", style=style(app, "success"))
            elif p.locked:
                state = Text(
                    f"locked: after {', '.join(p.waiting_on)}", style=style(app, "warning")
                )
            elif p.overridden:
                state = Text("open (override)", style=style(app, "warning"))
            else:
                state = Text("open")
            self.add_row(Text(phase.title), progress, state, key=phase.id)
        if self.row_count:
            self.move_cursor(row=min(row, self.row_count - 1))


class DashboardScreen(Screen):
    """The run at a glance."""

    BINDINGS = [
        Binding("enter", "open_phase", "Open phase", id="dashboard.open", show=True),
    ]

    def compose(self) -> ComposeResult:
        yield RunHeader()
        yield RollbackBanner()
        with Horizontal(id="dashboard-body"):
            with Vertical(id="phases-column"):
                yield Label("Phases", classes="column-title")
                yield PhaseTable(id="phases")
            with Vertical(id="panels-column"):
                yield HealthPanel(id="health-panel")
                yield DeployPanel(id="deploy-panel")
                yield GitPanel(id="git-panel")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(PhaseTable).focus()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            cast("CockpitApp", self.app).open_phase(event.row_key.value)

    def action_open_phase(self) -> None:
        table = self.query_one(PhaseTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            if key:
                cast("CockpitApp", self.app).open_phase(key)
