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
from textual.widgets import DataTable, Footer, Label, Static

from cockpit.clock import local_hms
from cockpit.describe import describe
from screens.header import RollbackBanner, RunHeader
from screens.messages import JournalAdvanced, RunScreen
from screens.panels import DeployPanel, GitPanel, HealthPanel
from screens.theme import bar, style

if TYPE_CHECKING:
    from screens.app import CockpitApp


class PhaseTable(DataTable):
    """One row per phase of the run's release type: progress bar, count and state in words."""

    BINDINGS = [Binding("enter", "select_cursor", "Open phase", id="phases.open")]

    NARROW = 110
    """Below this many columns the table is compact: shorter bars, shorter titles and
    states, so that the state column is never cut off (an 80x24 laptop terminal)."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.narrow = self.app.size.width < self.NARROW
        self.add_column("Phase", key="phase", width=22 if self.narrow else 36)
        self.add_column("Progress", key="progress", width=10 if self.narrow else 24)
        self.add_column("State", key="state")
        self.reload()

    def on_journal_advanced(self, _: JournalAdvanced) -> None:
        self.reload()

    def reload(self) -> None:
        app = cast("CockpitApp", self.app)
        session = app.session
        if session is None:
            return
        row = self.cursor_row
        self.clear()
        for phase in session.phases():
            p = session.progress(phase.id)
            width = 4 if self.narrow else 12
            done, total, of = p.counted  # as `cockpit status` counts it
            if total:
                progress = Text(f"{bar(done, total, width)} {done:>2}/{total}")
                if of == "steps" and not self.narrow:
                    progress.append(" steps", style="dim")
            else:
                progress = Text(f"{len(phase.steps_for(session.release_type))} steps", style="dim")
            if p.complete:
                word = "✓ done" if self.narrow else "✓ complete"
                state = Text(word, style=style(app, "success"))
            elif p.locked:
                waits = "locked" if self.narrow else f"waits for {', '.join(p.waiting_on)}"
                state = Text(waits, style=style(app, "warning"))
            elif p.overridden:
                state = Text("open (override)", style=style(app, "warning"))
            else:
                state = Text("open")
            self.add_row(Text(phase.title), progress, state, key=phase.id)
        if self.row_count:
            self.move_cursor(row=min(row, self.row_count - 1))


class ActivityLog(Static):
    """The run's latest events, newest first, in words — what a watcher wants to see move."""

    def on_journal_advanced(self, _: JournalAdvanced) -> None:
        self.refresh(layout=True)

    def render(self) -> Text:
        app = cast("CockpitApp", self.app)
        session = app.session
        if session is None:
            return Text("")
        text = Text()
        for event in list(reversed(session.state.recent))[: self.size.height or 20]:
            text.append(f"{local_hms(event.ts)}  ", style="dim")
            text.append(describe(event, session.runbook) + "\n")
        text.rstrip()
        return text


class DemoWorkspace(Static):
    """In the demo: its folder, and the command that watches it from a second terminal
    (wrapped, never cut: the whole path stays on screen at 80 columns)."""

    DEFAULT_CSS = """
    DemoWorkspace { height: auto; padding: 0 1; background: $boost; color: $text-muted; }
    """

    def on_mount(self) -> None:
        from cockpit.demo_workspace import watch_command

        root = cast("CockpitApp", self.app).ws.root
        text = Text(overflow="fold")
        text.append("Demo workspace ")
        text.append(str(root), style="bold")
        text.append(" — watch it from a second terminal:\n")
        text.append(watch_command(root), style="bold")
        self.update(text)


class DashboardScreen(RunScreen):
    """The run at a glance."""

    BINDINGS = [
        Binding("b", "baseline", "Take baseline", id="dashboard.baseline"),
        Binding("v", "release", "Release", id="dashboard.release"),
        Binding("p", "report", "Report", id="dashboard.report"),
        # in `?` and the palette; the footer at 80 columns has no room left for it
        Binding("h", "history", "History", id="dashboard.history", show=False),
        Binding("1", "demo('healthy')", "healthy", id="demo.healthy", show=False),
        Binding("2", "demo('slow')", "slow", id="demo.slow", show=False),
        Binding("3", "demo('down')", "down", id="demo.down", show=False),
        Binding("4", "demo('flapping')", "flapping", id="demo.flapping", show=False),
        Binding("5", "demo('degraded')", "degraded", id="demo.degraded", show=False),
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        app = cast("CockpitApp", self.app)
        if action == "demo":
            return app.demo is not None
        if action == "baseline":
            return (
                not app.read_only
                and app.session is not None
                and app.monitor is not None
                and app.ws.runbook.deploy_environment is not None
            )
        return True

    def action_release(self) -> None:
        from screens.release import ReleaseScreen

        self.app.push_screen(ReleaseScreen())

    def action_report(self) -> None:
        from screens.release import ReportScreen

        self.app.push_screen(ReportScreen())

    def action_history(self) -> None:
        """Every release of the workspace (``screens.history``)."""
        cast("CockpitApp", self.app).action_history()

    def action_baseline(self) -> None:
        cast("CockpitApp", self.app).intents.capture_baseline()

    def action_demo(self, mode: str) -> None:
        cast("CockpitApp", self.app).intents.set_demo_mode(mode)

    def compose(self) -> ComposeResult:
        yield RunHeader()
        yield RollbackBanner()
        with Horizontal(id="dashboard-body"):
            with Vertical(id="phases-column"):
                yield Label("Phases", classes="column-title")
                yield PhaseTable(id="phases")
                yield Label("Activity", classes="column-title")
                yield ActivityLog(id="activity")
            with Vertical(id="panels-column"):
                app = cast("CockpitApp", self.app)
                if app.ws.config.environments:
                    yield HealthPanel(id="health-panel")
                if app.ws.runbook.of_kind("deploy") is not None:
                    yield DeployPanel(id="deploy-panel")
                yield GitPanel(id="git-panel")
        if cast("CockpitApp", self.app).demo is not None:
            yield DemoWorkspace(id="demo-workspace")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(PhaseTable).focus()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            cast("CockpitApp", self.app).open_phase(event.row_key.value)
