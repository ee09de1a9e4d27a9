"""The dashboard's side panels: environments, the production deployment, the repository.

Owns rendering what the core knows about each: every environment's live health
(from the app's ``HealthMonitor`` while driving; for a watcher, the driver's journaled
health, ``JournalHealth``, with where it comes from and how old it is), the deploy
procedure's steps with budgets, and the git summary (read by the core in a worker
thread, never on the event loop).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.geometry import Size
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Static

from cockpit.clock import parse_iso
from cockpit.durations import format_clock, format_duration
from cockpit.git_summary import GitSummary, summarise
from cockpit.monitor import ROLLBACK_FACTOR, EnvHealth, ratio_to_baseline
from cockpit.phaseclock import PhaseClock, phase_clock
from cockpit.probe import DEGRADED, DOWN, OK_WORDS, READY, UNKNOWN
from cockpit.progress import step_state, step_times
from cockpit.secrets import mask_userinfo
from screens.messages import HealthSampled, JournalAdvanced
from screens.theme import STEP_COLOURS, style

if TYPE_CHECKING:
    from screens.app import CockpitApp


class Panel(Static):
    """A bordered panel with a title; subclasses render their content."""

    DEFAULT_CSS = """
    Panel {
        border: round $primary-muted; padding: 0 1; height: auto;
        border-title-color: $text; border-title-style: bold;
    }
    """

    @property
    def cockpit(self) -> CockpitApp:
        return cast("CockpitApp", self.app)


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int) -> str:
    """Latencies as a one-line text sparkline (the newest on the right)."""
    values = values[-width:]
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(SPARKS[min(7, int((v - low) / span * 7.999))] for v in values)


class EnvCard(Widget):
    """One environment: state badge in words, latency sparkline, p50/p95, dependencies, last error.

    One widget rendering itself, so a redraw costs one refresh (and a layout pass only
    when its height changes): fifty environments polled every second stay cheap.
    """

    DEFAULT_CSS = """
    EnvCard { height: auto; margin-bottom: 1; }
    """

    def __init__(self, env_name: str):
        super().__init__(id=f"env-{env_name}")
        self.env_name = env_name
        self.content = Text(env_name)

    def render(self) -> Text:
        return self.content

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.content.wrap(self.app.console, width or 1))

    def show(self, env: EnvHealth | None, app: CockpitApp) -> None:
        text = self._title(env, app)
        config = app.ws.config
        if env is None or not env.samples:
            text.append(
                "\n" + mask_userinfo(config.ready_url(self.env_name)),
                style="dim",
            )
        else:
            text.append_text(self._latency(env, app))
            text.append_text(self._dependencies_and_errors(env, app))
        lines_before = self.content.plain.count("\n")
        self.content = text
        self.refresh(layout=text.plain.count("\n") != lines_before)

    def _title(self, env: EnvHealth | None, app: CockpitApp) -> Text:
        """Name, state in words (never colour alone), and how long it has been so."""
        text = Text()
        text.append(f"{self.env_name:<11}", style="bold")
        state = env.state if env else UNKNOWN
        badge = {READY: "success", DEGRADED: "warning", DOWN: "error"}.get(state, "secondary")
        text.append(f" {state} ", style=f"bold reverse {style(app, badge)}")
        if env is not None and env.changed_at is not None:
            text.append(f"  for {format_duration(env.since_change(app.clock.now()) or 0)}", "dim")
        else:
            text.append("  no sample yet", style="dim")
        return text

    def _latency(self, env: EnvHealth, app: CockpitApp) -> Text:
        """The sparkline, p50/p95 against the budget, and p95 against the baseline."""
        budget = app.ws.config.health.p95_budget * 1000
        text = Text()
        text.append(
            "\n" + sparkline(env.latencies(), max(10, self.size.width or 40)),
            style=style(app, "accent"),
        )
        p95 = env.p95
        text.append(f"\np50 {_ms(env.p50)} · p95 ")
        over = p95 is not None and p95 > budget
        text.append(_ms(p95), style=style(app, "error", bold=True) if over else "")
        text.append(f" / {budget:.0f}ms budget · ok {100 * (env.success_ratio or 0):.0f}%")
        baseline = app.session.state.baselines.get(self.env_name) if app.session else None
        ratio = ratio_to_baseline(env, baseline.p95_ms if baseline else None)
        if ratio is not None and baseline is not None:
            text.append(
                f"\np95 ×{ratio:.1f} vs baseline {_ms(baseline.p95_ms)}",
                style=style(app, "error", bold=True) if ratio > ROLLBACK_FACTOR else "",
            )
        return text

    def _dependencies_and_errors(self, env: EnvHealth, app: CockpitApp) -> Text:
        """The dependencies the last body reported on, and the last error in words."""
        text = Text()
        last = env.last
        if last and last.dependencies:
            text.append("\n")
            for n, (name, value) in enumerate(last.dependencies.items()):
                ok = value.lower() in OK_WORDS
                text.append(("  " if n else "") + f"{name} ")
                text.append(
                    value if ok else value.upper(),
                    style="" if ok else style(app, "error", bold=True),
                )
        if env.reason:
            text.append(f"\n{env.reason}", style=style(app, "warning"))
        if env.last_error and env.last_error_at and env.last_error != env.reason:
            ago = format_duration((app.clock.now() - env.last_error_at).total_seconds())
            text.append(f"\nlast error {ago} ago: {env.last_error}", style="dim")
        return text


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}ms"


class HealthPanel(Vertical):
    """Every configured environment's /api/ready, live (a watcher's: as the driver
    journaled it, under a line saying so)."""

    DEFAULT_CSS = """
    HealthPanel {
        border: round $primary-muted; padding: 0 1; height: auto;
        border-title-color: $text; border-title-style: bold;
    }
    HealthPanel > .demo-keys { color: $text-muted; height: auto; }
    HealthPanel > #health-source { color: $text-muted; height: auto; margin-bottom: 1; }
    HealthPanel > #health-source.-no-driver { color: $warning; }
    """

    @property
    def cockpit(self) -> CockpitApp:
        return cast("CockpitApp", self.app)

    def compose(self) -> ComposeResult:
        config = self.cockpit.ws.config
        if self.cockpit.journal_health is not None:
            yield Static(id="health-source")
        for name in config.environments:
            yield EnvCard(name)
        target = self.cockpit.ws.runbook.deploy_environment
        if self.cockpit.demo is not None and target is not None:
            yield Static(
                f"demo, {target}: 1 healthy · 2 slow · 3 down · 4 flapping · 5 degraded",
                classes="demo-keys",
            )

    REFRESH = 0.25
    """Seconds a probe waits to be drawn: samples arrive at any rate, cards redraw at most
    4×/s."""

    def on_mount(self) -> None:
        self.border_title = "Environments"
        config = self.cockpit.ws.config
        paths = {
            config.ready_url(n).removeprefix(e.url.rstrip("/"))
            for n, e in config.environments.items()
        }
        self.border_subtitle = Content(paths.pop() if len(paths) == 1 else "ready endpoints")
        self._drawn: dict[str, tuple[int, str]] = {}
        self._pending: Timer | None = None
        self.update_cards()
        self.set_interval(1.0, self.update_cards)  # the "for 2m13s" clocks move

    def on_health_sampled(self, _: HealthSampled) -> None:
        """A probe came in: its card is drawn with whatever else arrives within REFRESH."""
        if self._pending is None:
            self._pending = self.set_timer(self.REFRESH, self._draw_pending)

    def _draw_pending(self) -> None:
        self._pending = None
        self.update_cards()

    def update_cards(self) -> None:
        """Redraw the cards whose environment has a new sample, and every card once a second
        (the "for 2m13s" clock)."""
        envs = self.cockpit.health_envs
        now = self.cockpit.clock.now()
        self._show_source(now)
        for card in self.query(EnvCard):
            env = envs.get(card.env_name)
            since = format_duration(env.since_change(now) or 0) if env and env.changed_at else ""
            key = (env.probes if env else -1, env.state if env else "", since)
            if self._drawn.get(card.env_name) != key:
                self._drawn[card.env_name] = key
                card.show(env, self.cockpit)

    def _show_source(self, now: datetime) -> None:
        """A watcher's line: the driver's health and its age, or that nobody probes."""
        journal_health = self.cockpit.journal_health
        lines = self.query("#health-source")
        if journal_health is None or not lines:
            return
        facts, session = self.cockpit.driver_facts, self.cockpit.session
        if facts is not None:
            driven = facts.state in ("driven", "driving")
        else:  # not looked at the lock yet: the journal names a driver or not
            driven = session is not None and session.state.driver is not None
        line = cast(Static, lines.first())
        line.update(Content(journal_health.source_words(now, driven)))
        line.set_class(not driven, "-no-driver")


class DeployPanel(Panel):
    """The production deployment's steps: state, elapsed against budget, and the deployment
    time (its wall clock, pauses apart, as ``status`` and the report state it)."""

    def on_mount(self) -> None:
        phase = self.cockpit.ws.runbook.of_kind("deploy")
        self.border_title = Content(phase.title) if phase else "Deployment"  # never markup
        self.set_interval(1.0, self.refresh)

    def on_journal_advanced(self, _: JournalAdvanced) -> None:
        self.refresh()  # a tick in another phase can unlock this one

    def render(self) -> Text:
        session = self.cockpit.session
        runbook = session.runbook if session else self.cockpit.ws.runbook
        phase = runbook.of_kind("deploy")
        if phase is None:  # not shown for such a runbook
            return Text("")
        steps = phase.steps_for(session.release_type) if session else phase.steps
        text = Text()
        now = self.cockpit.clock.now()
        for n, step in enumerate(steps, 1):
            state = step_state(phase, step, session.state) if session else "pending"
            took = ""
            started, finished = step_times(phase, step, session.state) if session else (None, None)
            if started:
                seconds = (
                    (parse_iso(finished) if finished else now) - parse_iso(started)
                ).total_seconds()
                took = format_clock(seconds)
            colour = STEP_COLOURS.get(state)
            text.append(f"{n}. {step.title:<30}")
            text.append(f"{took or str(step.budget or '—'):>6}  ")
            text.append(f"{state}\n", style=style(self.app, colour) if colour else "dim")
        if session is not None:
            p = session.progress(phase.id)
            if p.locked:
                text.append(
                    f"waits for {', '.join(p.waiting_on)}\n", style=style(self.app, "warning")
                )
        if session is not None:
            clock = phase_clock(phase, session.state, now)  # as status and the report say it
        else:
            clock = PhaseClock(phase.id, float(sum(s.budget.high for s in steps if s.budget)))
        text.append(
            f"deployment {clock.clock_words()}",
            style=style(self.app, "error", bold=True) if clock.over_budget else "dim",
        )
        target = format_duration(self.cockpit.ws.config.targets.deployment_time)
        text.append(f"\n{clock.budget_words()} · runbook target < {target}", style="dim")
        return text


class GitPanel(Panel):
    """Branch, HEAD, dirty or clean, the last production tag and the commits since it."""

    summary: GitSummary | None = None

    def on_mount(self) -> None:
        self.border_title = "Repository"
        self.load()
        self.set_interval(15.0, self.load)

    @work(thread=True, exclusive=True, group="git", exit_on_error=False)
    def load(self) -> None:
        ws = self.cockpit.ws
        summary = summarise(ws.root, versioning=ws.versioning)
        self.app.call_from_thread(self._show, summary)

    def _show(self, summary: GitSummary) -> None:
        self.summary = summary
        self.refresh(layout=True)

    def render(self) -> Text:
        s = self.summary
        if s is None:
            return Text("reading the repository…", style="dim")
        if s.problem:
            return Text(s.problem, style=style(self.app, "warning"))
        text = Text()
        text.append("branch ", style="dim")
        text.append(s.branch or "(detached)", style="bold")
        text.append("  HEAD ", style="dim")
        text.append(f"{s.head} ")
        text.append(
            "dirty" if s.dirty else "clean",
            style=style(self.app, "warning" if s.dirty else "success"),
        )
        if s.untracked:
            text.append(f" (+{s.untracked} untracked)", style="dim")
        text.append("\nlast production tag ", style="dim")
        text.append(s.last_tag or "none", style="bold")
        if s.last_tag:
            n = len(s.commits_since)
            text.append(f"  ·  {n} commit{'' if n == 1 else 's'} since\n")
            for subject in s.commits_since[:5]:
                text.append(f"  • {subject[:60]}\n", style="dim")
            if len(s.commits_since) > 5:
                text.append(f"  … {len(s.commits_since) - 5} more\n", style="dim")
        for warning in s.warnings:
            text.append(f"\n⚠ {warning}", style=style(self.app, "warning"))
        text.rstrip()
        return text
