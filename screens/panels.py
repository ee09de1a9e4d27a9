"""The dashboard's side panels: environments, the production deployment, the repository.

Owns rendering what the core knows about each: the configured environments and
their ready endpoints, the deploy procedure's steps with budgets, and the git
summary (read by the core in a worker thread, never on the event loop).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import work
from textual.widgets import Static

from cockpit.durations import format_duration
from cockpit.gitinfo import GitSummary, summarise
from screens.theme import style

if TYPE_CHECKING:
    from screens.app import CockpitApp

DEPLOY_PHASE = "production-deploy"


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


class HealthPanel(Panel):
    """Each configured environment and its ready endpoint.

    Probing is not running in this build, so every environment honestly reads UNKNOWN
    (no sample yet) rather than a state nobody measured.
    """

    def on_mount(self) -> None:
        self.border_title = "Environments"
        self.watch(self.app, "revision", lambda _: self.refresh(), init=False)

    def render(self) -> Text:
        config = self.cockpit.ws.config
        if not config.environments:
            return Text("No environments configured (cockpit.yaml → environments).")
        text = Text()
        for name, env in config.environments.items():
            text.append(f"{name:<11}", style="bold")
            text.append(" UNKNOWN ", style=style(self.app, "warning", bold=True))
            text.append(" no sample yet\n", style="dim")
            text.append(f"  {env.url}{config.health.path}\n", style="dim")
        text.append(
            f"p95 budget {format_duration(config.health.p95_budget)} · "
            f"timeout {format_duration(config.health.timeout)} · "
            f"every {format_duration(config.health.interval)}",
            style="dim",
        )
        return text


class DeployPanel(Panel):
    """The production deployment's steps, budgets and their total."""

    def on_mount(self) -> None:
        self.border_title = "Production deployment"
        self.watch(self.app, "revision", lambda _: self.refresh(), init=False)

    def render(self) -> Text:
        session = self.cockpit.session
        runbook = self.cockpit.ws.runbook
        if DEPLOY_PHASE not in runbook.phases:
            return Text(f"No {DEPLOY_PHASE!r} phase in this runbook.")
        phase = runbook.phases[DEPLOY_PHASE]
        steps = phase.steps_for(session.release_type) if session else phase.steps
        text = Text()
        total = 0.0
        for n, step in enumerate(steps, 1):
            budget = str(step.budget) if step.budget else "—"
            total += step.budget.high if step.budget else 0
            text.append(f"{n}. {step.title:<30}")
            text.append(f"{budget:>6}  ")
            text.append("pending\n", style="dim")
        if session is not None:
            p = session.progress(DEPLOY_PHASE)
            if p.locked:
                text.append(
                    f"waits for {', '.join(p.waiting_on)}\n",
                    style=style(self.app, "warning"),
                )
        text.append(f"total budget {format_duration(total)} · runbook target < 60m", style="dim")
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
        summary = summarise(self.cockpit.ws.root)
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
            text.append(f"  ·  {len(s.commits_since)} commits since\n")
            for subject in s.commits_since[:5]:
                text.append(f"  • {subject[:60]}\n", style="dim")
            if len(s.commits_since) > 5:
                text.append(f"  … {len(s.commits_since) - 5} more\n", style="dim")
        for warning in s.warnings:
            text.append(f"\n⚠ {warning}", style=style(self.app, "warning"))
        text.rstrip()
        return text
