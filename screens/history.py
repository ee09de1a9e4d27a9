"""The release history screen: the monthly release review of every run in the workspace.

Owns showing ``cockpit history`` in the TUI: the runbook's success metrics against their
targets (met, NOT MET or not scored yet, in words), the DORA keys, every run (started,
type, version, outcome, deployment time, incidents, overruns; the selected run's outcome
in full below), each step's median against its budget, and two charts — the deployment
time per release against the target, and each step's median against its budget. The
history is read by the core (``cockpit.review.history``: journals and git) in a thread,
with the app's clock as "now"; it changes nothing (a watcher reads with the records'
cache off), so it opens in ``cockpit watch`` and with no run open as well as while
driving.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult, RenderResult
from textual.binding import Binding
from textual.color import Color
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Static
from textual.worker import Worker, WorkerState, get_current_worker
from textual_plotext import PlotextPlot

from cockpit.clock import parse_iso
from cockpit.durations import format_duration
from cockpit.errors import CockpitError
from cockpit.termtext import inert
from cockpit.trends import dora_rows, metric_rows
from screens.header import RollbackBanner, RunHeader
from screens.keyrules import NOT_NOW
from screens.messages import JournalAdvanced, deliver
from screens.theme import style

if TYPE_CHECKING:
    from screens.app import CockpitApp

NO_RUNS = "no releases yet: start one with cockpit start"

MET_LOOK = {True: "success", False: "error"}
"""Theme variable of each judgement (``not scored yet`` is dimmed)."""

OUTCOME_LOOK = {
    "succeeded": "success",
    "failed": "error",
    "rolled back": "error",
    "abandoned": "warning",
    "in progress": "accent",
}
"""Theme variable of each outcome (the outcome is always written too)."""


class HistoryCounted(Message):
    """The workspace holds ``runs`` runs: they are being read."""

    def __init__(self, runs: int):
        super().__init__()
        self.runs = runs


class HistoryRead(Message):
    """The history document (``cockpit history --json``'s shape), or why it is not there."""

    def __init__(self, doc: dict[str, Any] | None, error: str | None = None):
        super().__init__()
        self.doc = doc
        self.error = error


def _minutes(seconds: float) -> float:
    return round(seconds / 60, 1)


def _d(seconds: float | None) -> str:
    return "—" if seconds is None else format_duration(seconds)


def shorten(title: str, room: int) -> str:
    """A step title in ``room`` characters: small words dropped first, then cut with …."""
    title = inert(title)
    if len(title) <= room:
        return title
    small = {"a", "an", "the", "to", "of", "and", "for", "in", "on", "with"}
    words = [w for w in title.split() if w.lower() not in small] or title.split()
    title = " ".join(words)
    return title if len(title) <= room else title[: max(1, room - 1)] + "…"


def fit_widths(natural: list[int], room: int, elastic: list[int], least: int = 12) -> list[int]:
    """Column widths within ``room`` (cell padding excluded): the ``elastic`` columns (in
    that order) give up width, down to ``least`` each; their cells wrap instead."""
    widths = list(natural)
    for n in elastic:
        over = sum(widths) - room
        if over <= 0:
            break
        widths[n] = max(min(least, widths[n]), widths[n] - over)
    return widths


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """Round ticks from 0 up to ``top`` minutes, at most ``count`` + 1 of them."""
    for step in (0.5, 1, 2, 5, 10, 15, 20, 30, 60, 120, 240, 480, 720, 1440):
        if top / step <= count:
            break
    else:
        step = math.ceil(top / count)
    return [n * step for n in range(int(top // step) + 1)]


def tick_words(ticks: list[float]) -> list[str]:
    return [f"{t:g}" for t in ticks]


@dataclass(frozen=True)
class Table:
    """A table's header and rows in words (the cells already styled)."""

    head: tuple[str, ...]
    rows: list[tuple[Text, ...]]
    elastic: tuple[int, ...] = ()
    """Columns that wrap when the table is too wide, first to give way first."""


def fill(table: DataTable, content: Table, room: int) -> None:
    """Replace ``table``'s columns and rows, every column fitted into ``room`` columns."""
    cells = len(content.head)
    natural = [
        max([len(content.head[n])] + [r[n].cell_len for r in content.rows]) for n in range(cells)
    ]
    widths = fit_widths(natural, max(cells * 4, room - 2 * cells), list(content.elastic))
    row = table.cursor_row
    table.clear(columns=True)
    for head, width in zip(content.head, widths, strict=True):
        table.add_column(Text(head), width=width)
    for cells_of_row in content.rows:
        table.add_row(*cells_of_row, height=None)
    if table.row_count:
        table.move_cursor(row=min(row, table.row_count - 1))


class ThemedPlot(PlotextPlot):
    """A plot whose series take the app's theme colours (the background follows it)."""

    legend = 2
    """Rows the legend takes at the top left (one per labelled series): bars stay below."""

    def colour(self, name: str) -> tuple[int, int, int]:
        """The theme's colour ``name`` (``primary``, ``error`` …) for plotext."""
        return Color.parse(self.app.theme_variables.get(name, "white")).rgb

    def muted(self) -> tuple[int, int, int]:
        """The theme's foreground halfway to the chart's background (a reference bar)."""
        variables = self.app.theme_variables
        ground = Color.parse(variables.get("surface", "black"))
        return Color.parse(variables.get("foreground", "white")).blend(ground, 0.5).rgb

    def fitting(self, *titles: str) -> str:
        """The first title that fits the width (plotext leaves out one that does not)."""
        return next((t for t in titles if len(t) <= self.size.width - 2), titles[-1])

    def y_axis(self, top: float) -> None:
        """From 0 to above ``top`` with room for the legend, round ticks in minutes."""
        plot_rows = max(4, self.size.height - 4)
        ceiling = top * plot_rows / max(1, plot_rows - self.legend - 1) or 1
        self.plt.ylim(0, ceiling)
        ticks = nice_ticks(ceiling, max(2, min(5, plot_rows // 2 - 1)))
        self.plt.yticks(ticks, tick_words(ticks))

    def ticks_in_order(self) -> None:
        """The x ticks left to right. plotext 5.3.2 keeps them in a set's order (``brush``)
        and places each label around those placed before it, so without this the titles
        land a column apart from one run to the next (Python's hash seed)."""
        monitor = self.plt._active.monitor
        for side, ticks in enumerate(monitor.xticks):
            if ticks:
                pairs = sorted(zip(ticks, monitor.xlabels[side], strict=True))
                monitor.xticks[side] = [tick for tick, _ in pairs]
                monitor.xlabels[side] = [label for _, label in pairs]

    def empty(self) -> str | None:
        """What to say instead of an empty chart (None: there is something to draw)."""
        return None

    def draw(self) -> None:
        """Put the data on ``self.plt`` for the size the widget has now."""

    def render(self) -> RenderResult:
        said = self.empty()
        if said is not None:
            return Text(said, style="dim")
        self.plt.clear_figure()
        self.draw()
        self.ticks_in_order()
        return super().render()


class DeploymentChart(ThemedPlot):
    """Each release's deployment time in minutes, in run order, against the target."""

    releases: list[tuple[str, float, bool]] = []
    """(version, minutes, deployment finished) of each run with a deployment time."""
    target: float = 0.0
    """The target (``targets.deployment_time``) in minutes."""

    def show(self, doc: dict[str, Any]) -> None:
        self.releases = [
            (inert(r["version"]), _minutes(r["deployment_s"]), r["deployment_finished"])
            for r in doc["runs"]
            if r["deployment_s"] is not None
        ]
        self.target = _minutes(doc["targets"]["deployment_time"])
        self.refresh()

    def empty(self) -> str | None:
        return None if self.releases else "Deployment time: no production deployment timed yet"

    def draw(self) -> None:
        plt = self.plt
        n = len(self.releases)
        xs = list(range(1, n + 1))
        target = format_duration(self.target * 60)
        plt.title(
            self.fitting(
                f"Deployment time per release (min), target {target}",
                f"Deployment time (min), target {target}",
                f"Deployment (min) < {target}",
            )
        )
        finished = [(x, m) for x, (_, m, done) in zip(xs, self.releases, strict=True) if done]
        partial = [(x, m) for x, (_, m, done) in zip(xs, self.releases, strict=True) if not done]
        width = 0.6 if n > 1 else 0.3
        self.legend = bool(finished) + bool(partial) + 1
        if finished:
            fx, fy = zip(*finished, strict=True)
            plt.bar(fx, fy, color=self.colour("primary"), width=width, label="deployed")
        if partial:
            px, py = zip(*partial, strict=True)
            plt.bar(px, py, color=self.colour("warning"), width=width, label="did not finish")
        plt.plot(
            [0.5, n + 0.5],
            [self.target, self.target],
            color=self.colour("error"),
            marker="─",  # one cell wide in every font (braille is not, in some)
            label="target",
        )
        self.y_axis(max([m for _, m, _ in self.releases] + [self.target]))
        plt.xlim(0.5, n + 0.5)
        spacing = max(1.0, (self.size.width - 7) / n)  # columns from one bar to the next
        shown = min(max(len(v) for v, _, _ in self.releases), 12)
        every = max(1, math.ceil((shown + 1) / spacing))
        ticks = xs[::every]
        plt.xticks(ticks, [shorten(self.releases[x - 1][0], shown) for x in ticks])


class StepChart(ThemedPlot):
    """Each step's median duration against its budget, in minutes: those over budget
    first, then the nearest to it (``cockpit.trends.bottlenecks``' order), as many as fit."""

    steps: list[tuple[str, float, float]] = []
    """(title, median, budget) of each step timed in the history, in that order."""

    def show(self, doc: dict[str, Any]) -> None:
        self.steps = [
            (b["title"], _minutes(b["median_s"]), _minutes(b["budget_s"] or 0))
            for b in doc["bottlenecks"]
        ]
        self.refresh()

    def empty(self) -> str | None:
        return None if self.steps else "Steps against budget: no step has run yet"

    def fits(self) -> int:
        """How many steps fit the width (each a pair of bars under a title of 10 or more)."""
        return max(1, min(len(self.steps), (self.size.width - 7) // 12))

    def draw(self) -> None:
        plt = self.plt
        n = self.fits()
        steps = self.steps[:n]
        room = max(6, (self.size.width - 7) // n - 2)  # plotext drops a title that touches
        titles = [shorten(t, room) for t, _, _ in steps]
        of = f", {n} of {len(self.steps)}" if n < len(self.steps) else ""
        plt.title(
            self.fitting(
                f"Step median vs budget (min{of})",
                f"Median vs budget (min{of})",
                f"Steps (min{of})",
            )
        )
        plt.multiple_bar(
            titles,
            [[m for _, m, _ in steps], [b for _, _, b in steps]],
            labels=["median", "budget"],
            color=[self.colour("primary"), self.muted()],
        )
        self.y_axis(max([max(m, b) for _, m, b in steps]))


class HistoryScreen(Screen):
    """Every release of the workspace: metrics against targets, DORA keys, runs, charts."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (150, "-wide")]
    """From 150 columns the charts stand on the right of the tables (the runs table needs
    some 86 columns); below, they stand side by side between the metrics and the runs."""
    BINDINGS = [
        Binding("r", "reload", "Read again", id="history.reload"),
        Binding("escape,q", "back", "Back", id="history.back"),
    ]

    keys_title = "Release history"
    doc: dict[str, Any] | None = None
    """The history document on show (None: not read yet)."""
    error: str | None = None
    """Why the history could not be read (None: it was, or is being read)."""

    @property
    def cockpit(self) -> CockpitApp:
        return cast("CockpitApp", self.app)

    def compose(self) -> ComposeResult:
        yield RunHeader()
        yield RollbackBanner()
        yield Static("Release history — reading the runs…", id="history-heading", markup=False)
        with VerticalScroll(id="history-body"):
            yield Static(NO_RUNS, id="history-empty", markup=False)
            with Vertical(id="history-metrics-box"):
                yield Label("Success metrics against the targets", classes="history-title")
                yield DataTable(id="history-metrics", cursor_type="none", zebra_stripes=True)
            with Horizontal(id="history-charts"):
                yield DeploymentChart(id="deployment-chart")
                yield StepChart(id="step-chart")
            with Vertical(id="history-tables"):
                yield Label("Releases", classes="history-title")
                yield DataTable(id="history-runs", cursor_type="row")
                yield Static(id="history-run-detail")
                yield Label("Steps: median against budget", classes="history-title")
                yield DataTable(id="history-steps", cursor_type="none")
                yield Label("DORA keys", classes="history-title")
                yield DataTable(id="history-dora", cursor_type="none")
                yield Static(id="history-warnings")
        yield Footer()

    def on_mount(self) -> None:
        for table in self.query(DataTable):
            table.can_focus = table.id == "history-runs"
        self.query_one("#history-body").focus()
        self.set_class(True, "-reading")
        self.load()

    def on_screen_resume(self) -> None:
        deliver(self, JournalAdvanced(everything=True))  # the header catches up

    # -- reading (a thread: journals and git) ---------------------------------------------

    @work(thread=True, exclusive=True, group="history", exit_on_error=False)
    def load(self) -> None:
        from cockpit.review import history

        app = self.cockpit
        try:
            runs = sum(1 for p in app.ws.runs_dir.iterdir() if p.is_dir())
        except OSError:
            runs = 0
        self.post_message(HistoryCounted(runs))
        try:
            doc, _ = history(app.ws, app.clock.now(), cache=not app.read_only)
            read = HistoryRead(doc)
        except (CockpitError, OSError) as exc:
            read = HistoryRead(None, str(exc) or type(exc).__name__)
        if not get_current_worker().is_cancelled:  # read again (r) meanwhile: that one shows
            self.post_message(read)

    def on_history_counted(self, message: HistoryCounted) -> None:
        if self.doc is None:
            words = f"reading {message.runs} run{'s' if message.runs != 1 else ''}…"
            self._heading(Text(f"Release history — {words}"))

    def on_history_read(self, message: HistoryRead) -> None:
        self.error = message.error
        if message.doc is None:
            why = message.error or "unknown error"
            self._heading(Text(f"Release history could not be read: {inert(why)}", style="bold"))
            self.refresh_bindings()
            return
        self.doc = message.doc
        self._show()
        self.refresh_bindings()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Anything else that failed while reading, in words (the app says it too)."""
        if event.worker.group == "history" and event.state == WorkerState.ERROR:
            error = event.worker.error
            self.error = f"{type(error).__name__}: {error}"
            self._heading(Text(f"Release history could not be read: {inert(self.error)}"))
            self.refresh_bindings()

    def _heading(self, text: Text) -> None:
        self.query_one("#history-heading", Static).update(text)

    # -- showing ------------------------------------------------------------------------

    def _show(self) -> None:
        doc = self.doc
        assert doc is not None
        runs = doc["runs"]
        self.set_class(False, "-reading")
        self.set_class(not runs, "-empty")
        self._heading(self._summary(doc))
        if not runs:
            return
        self.call_after_refresh(self._fill_tables)  # once the tables are laid out: widths
        self.query_one(DeploymentChart).show(doc)
        self.query_one(StepChart).show(doc)
        warnings = Text()
        for warning in doc["warnings"]:
            warnings.append(f"warning: {inert(warning)}\n", style=style(self.app, "warning"))
        warnings.rstrip()
        self.query_one("#history-warnings", Static).update(warnings)
        self.query_one("#history-warnings").display = bool(doc["warnings"])
        self._show_run(0)

    def _summary(self, doc: dict[str, Any]) -> Text:
        runs = doc["runs"]
        m = doc["metrics"]
        text = Text("Release history", style="bold")
        if not runs:
            return text.append(f": {NO_RUNS}")
        first = doc["since"] or parse_iso(runs[0]["started_at"]).astimezone().strftime("%Y-%m-%d")
        text.append(f" · {len(runs)} run{'s' if len(runs) != 1 else ''} since {first}")
        if m["in_progress"]:
            text.append(f", {m['in_progress']} in progress")
        judged = [s for s in m.values() if isinstance(s, dict) and "met" in s]
        missed = sum(1 for s in judged if s["met"] is False)
        text.append(" · ")
        if missed:
            words = f"{missed} target{'s' if missed != 1 else ''} NOT MET"
            text.append(words, style=style(self.app, "error", bold=True))
        elif any(s["met"] for s in judged):
            text.append("every target scored is met", style=style(self.app, "success", bold=True))
        else:
            text.append("nothing scored yet", style="dim")
        if doc["warnings"]:
            text.append(f" · {len(doc['warnings'])} warning(s) below")
        return text

    def _room(self, node_id: str) -> int:
        width = self.query_one(node_id).content_size.width
        return width if width > 0 else self.app.size.width - 4

    def _fill_tables(self) -> None:
        doc = self.doc
        if doc is None or not doc["runs"] or self not in self.app.screen_stack:
            return  # (closed — Esc — before the refresh this waited for: no tables left)
        app = self.app
        metrics = Table(
            ("metric", "this period", "target", "judged"),
            [
                (
                    Text(name),
                    Text(value),
                    Text(target),
                    Text(
                        met,
                        style=style(app, MET_LOOK[ok], bold=True) if ok in MET_LOOK else "dim",
                    ),
                )
                for name, value, target, met, ok in metric_rows(doc)
            ],
            elastic=(1, 0),
        )
        fill(
            self.query_one("#history-metrics", DataTable),
            metrics,
            self._room("#history-metrics-box"),
        )
        room = self._room("#history-tables")
        year = self.cockpit.clock.now().astimezone().year
        this_year = all(parse_iso(r["started_at"]).astimezone().year == year for r in doc["runs"])
        runs = Table(
            ("started", "type", "version", "outcome", "deployment", "incidents", "overruns"),
            [self._run_row(r, this_year) for r in doc["runs"]],
            elastic=(6, 3, 2),
        )
        fill(self.query_one("#history-runs", DataTable), runs, room)
        steps = Table(
            ("step", "phase", "runs", "median", "budget", "median vs budget", "overruns"),
            [
                (
                    Text(inert(b["title"])),
                    Text(inert(b["phase"])),
                    Text(str(b["runs"])),
                    Text(_d(b["median_s"])),
                    Text(_d(b["budget_s"]) if b["budget_s"] else "—"),
                    Text("OVER BUDGET", style=style(app, "error", bold=True))
                    if b["over_budget"]
                    else Text("within budget"),
                    Text(str(b["overruns"])),
                )
                for b in doc["bottlenecks"]
            ],
            elastic=(0,),
        )
        fill(self.query_one("#history-steps", DataTable), steps, room)
        dora = Table(
            ("key", "this period"),
            [(Text(key), Text(words)) for key, words in dora_rows(doc)],
            elastic=(1,),
        )
        fill(self.query_one("#history-dora", DataTable), dora, room)

    def _run_row(self, run: dict[str, Any], this_year: bool) -> tuple[Text, ...]:
        """A run in the table's words (``Nov 02 09:00`` when every run is of this year)."""
        outcome = Text(run["outcome"], style=style(self.app, OUTCOME_LOOK.get(run["outcome"], "")))
        if run["hotfix_after"]:
            outcome.append(f" (hotfix {inert(run['hotfix_after'])})")
        started = "%b %d %H:%M" if this_year else "%Y-%m-%d %H:%M"
        overruns = ", ".join(
            f"{inert(o['title'])} +{format_duration(o['overrun_s'])}" for o in run["overruns"]
        )
        return (
            Text(parse_iso(run["started_at"]).astimezone().strftime(started)),
            Text(inert(run["type"])),
            Text(inert(run["version"])),
            outcome,
            Text(("running " if run["deployment_running"] else "") + _d(run["deployment_s"])),
            Text(str(run["incidents"])),
            Text(overruns or "—"),
        )

    @on(DataTable.RowHighlighted, "#history-runs")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_run(event.cursor_row)

    def _show_run(self, row: int) -> None:
        """The selected run in full: its id, its outcome in words (the reason from its
        journal), a hotfix that patched it, every overrun."""
        if self.doc is None or not 0 <= row < len(self.doc["runs"]):
            return
        run = self.doc["runs"][row]
        text = Text()
        text.append(f"{inert(run['id'])}: ", style="bold")
        text.append(inert(run["outcome_words"]))
        if run["hotfix_after"]:
            text.append(f"; patched by hotfix {inert(run['hotfix_after'])}")
        if run["incidents"]:
            text.append(f"; {run['incidents']} incident(s)")
        for o in run["overruns"]:
            text.append(
                f"\n  {inert(o['title'])}: {_d(o['duration_s'])} against {_d(o['budget_s'])} "
                f"(+{format_duration(o['overrun_s'])})"
            )
        self.query_one("#history-run-detail", Static).update(text)

    def on_resize(self, _: events.Resize) -> None:
        self.call_after_refresh(self._fill_tables)

    # -- keys ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reload":
            return True if self.doc is not None or self.error is not None else None
        return True

    def why_not(self, action: str) -> str:
        """Why a key shown dimmed does nothing now (said when it is pressed)."""
        if action == "reload":
            return "still reading the runs"
        return NOT_NOW

    def action_reload(self) -> None:
        self.doc = None
        self.error = None
        self.set_class(True, "-reading")
        self._heading(Text("Release history — reading the runs…"))
        self.refresh_bindings()
        self.load()

    def action_back(self) -> None:
        self.app.pop_screen()
