"""The release screen and the report screen.

Owns showing the version, the changelog draft (editable), the filled Slack and
e-mail messages, and the keys that act on them — write CHANGELOG.md, tag rc or
production, push a tag, save or post the messages, copy one, create the GitHub release
with the changelog draft as its notes (its URL shown) — each confirmed and journaled
through the core; and the release report rendered as Markdown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Label, Markdown, Static, TextArea

from cockpit import release_actions as release
from cockpit.errors import CockpitError
from cockpit.events import ReleaseCreated, ReleaseFailed, TagCreated
from cockpit.report import build, markdown
from screens.dialogs import Confirm
from screens.header import RollbackBanner, RunHeader
from screens.keyrules import NOT_NOW

if TYPE_CHECKING:
    from screens.app import CockpitApp


NEEDS_VIEW = ("save_messages", "post_slack", "send_email")
"""Keys that act on the filled messages: dimmed until the repository has been read."""

UNCONFIGURED = {
    "post_slack": "no Slack webhook: set notify.slack_webhook in cockpit.yaml",
    "send_email": "no e-mail relay: set notify.email in cockpit.yaml",
    "github_release": "no GitHub repository: set github: in cockpit.yaml",
}
"""What a key dimmed for want of configuration says when it is pressed."""


class ReleaseScreen(Screen):
    """Version, changelog, tags and the release messages."""

    BINDINGS = [
        Binding("w", "write_changelog", "Write CHANGELOG", id="release.write"),
        Binding("t", "tag('rc')", "Tag rc", id="release.tag_rc"),
        Binding("T", "tag('production')", "Tag release", id="release.tag_production"),
        Binding("p", "push", "Push tag", id="release.push"),
        Binding("m", "save_messages", "Save messages", id="release.save"),
        Binding("s", "post_slack", "Post to Slack", id="release.post"),
        Binding("E", "send_email", "Send e-mail", id="release.email"),
        Binding("G", "github_release", "GitHub release", id="release.github"),
        Binding("y", "copy", "Copy Slack text", id="release.copy"),
        Binding("e", "edit", "Edit changelog", id="release.edit"),
        Binding("escape", "back", "Dashboard", id="release.back"),
    ]

    view: release.ReleaseView | None = None
    release_url: str | None = None
    """The GitHub release created from this run (shown in the heading)."""

    @property
    def cockpit(self) -> CockpitApp:
        return cast("CockpitApp", self.app)

    def compose(self) -> ComposeResult:
        yield RunHeader()
        yield RollbackBanner()
        yield Static("reading the repository…", id="release-heading", markup=False)
        with Horizontal(id="release-body"):
            with Vertical(id="changelog-column"):
                yield Label(
                    "Changelog draft — edit it; w writes it into CHANGELOG.md",
                    classes="column-title",
                )
                yield TextArea(id="changelog", language="markdown")
            with VerticalScroll(id="messages-column"):
                yield Label("Slack #releases", classes="column-title")
                yield Static(id="slack", markup=False)
                yield Label("Stakeholder e-mail", classes="column-title")
                yield Static(id="email", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(TextArea).cursor_blink = False
        self.query_one("#messages-column").focus()  # keys act; e edits the changelog
        self.load()

    def action_edit(self) -> None:
        self.query_one(TextArea).focus()

    @work(exclusive=True, group="release", exit_on_error=False)
    async def load(self) -> None:
        import asyncio

        session = self.cockpit.session
        if session is None:
            return
        target = session.runbook.deploy_environment
        env = self.cockpit.health_envs.get(target) if target is not None else None
        state = env.state if env is not None and env.samples else None
        self.view = await asyncio.to_thread(release.release_view, session, state)
        view = self.view
        heading = f"Release {view.version}"
        heading += (
            f" — production is at {view.previous}" if view.previous else " — no production tag yet"
        )
        if view.draft is not None:  # the run's range, as the changelog and messages use it
            d = view.draft
            heading += (
                f"; {d.commits} commit{'' if d.commits == 1 else 's'} since "
                f"{d.since_tag or 'the start'} to {d.until_label}"
            )
        if view.problem:
            heading += f" — {view.problem}"
        if self.release_url:
            heading += f" — GitHub release: {self.release_url}"
        self.query_one("#release-heading", Static).update(heading)
        area = self.query_one(TextArea)
        if not area.text and view.draft is not None:
            area.load_text(view.draft.render())
        self.query_one("#slack", Static).update(Text(view.slack))
        self.query_one("#email", Static).update(Text(view.email))
        self.refresh_bindings()  # the keys that act on the messages apply now

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return True
        if action == "copy":
            return True if self.view is not None else None
        if self.focused is not None and isinstance(self.focused, TextArea):
            return False  # typing in the editor: letters are text
        if self.cockpit.read_only or self.cockpit.session is None:
            return False
        if self.view is None and action in NEEDS_VIEW:
            return None
        if action == "post_slack":
            return True if self.cockpit.ws.config.notify.slack_webhook else None
        if action == "send_email":
            return True if self.cockpit.ws.config.notify.email else None
        if action == "github_release":
            return True if self.cockpit.ws.config.github else None
        return True

    def why_not(self, action: str) -> str:
        """Why a key shown dimmed does nothing now (said when it is pressed)."""
        if self.view is None and (action in NEEDS_VIEW or action == "copy"):
            return "still reading the repository: the messages are not filled yet"
        return UNCONFIGURED.get(action, NOT_NOW)

    async def _act(self, title: str, detail: str, act, yes: str) -> None:
        """Ask (the yes button named after the action), act, journal what became of it."""
        if not await self.app.push_screen_wait(Confirm(title, detail, yes=yes, no="Cancel")):
            return
        try:
            intent = await act()
        except CockpitError as exc:
            self.app.notify(str(exc), title="Not done", severity="error")
            return
        await self.cockpit.intents.record(intent)
        failed = intent.type.endswith("failed")
        self.app.notify(
            intent.type.replace(".", " "),
            title="Failed" if failed else "Done",
            severity="error" if failed else "information",
        )
        self.load()

    @work(group="release-act", exit_on_error=False)
    async def action_write_changelog(self) -> None:
        import asyncio

        session = self.cockpit.session
        text = self.query_one(TextArea).text
        await self._act(
            "Write CHANGELOG.md?",
            "The section above goes at the top, below the title.",
            lambda: asyncio.to_thread(release.do_write_changelog, session, text),
            yes="Write",
        )

    @work(group="release-act", exit_on_error=False)
    async def action_tag(self, kind: str) -> None:
        import asyncio

        session = self.cockpit.session
        name = session.ws.versioning.tag_for(session.state.run.version, kind)
        await self._act(
            f"Create tag {name} at HEAD?",
            "Nothing is pushed (p pushes, separately).",
            lambda: asyncio.to_thread(release.do_tag, session, kind),
            yes="Tag",
        )

    @work(group="release-act", exit_on_error=False)
    async def action_push(self) -> None:
        session = self.cockpit.session
        tags = [e.tag for e in session.state.recent if isinstance(e, TagCreated)]
        if not tags:
            self.app.notify("create a tag first (t or T)", severity="warning")
            return
        name = tags[-1]
        await self._act(
            f"Push {name}?",
            f"Runs: git push origin {name}",
            lambda: release.do_push(session, name),
            yes="Push",
        )

    @work(group="release-act", exit_on_error=False)
    async def action_save_messages(self) -> None:
        import asyncio

        session, view = self.cockpit.session, self.view
        if view is None:
            return
        await self._act(
            "Save the messages?",
            f"To {session.dir / 'messages'}",
            lambda: asyncio.to_thread(release.do_save_messages, session, view),
            yes="Save",
        )

    @work(group="release-act", exit_on_error=False)
    async def action_post_slack(self) -> None:
        session, view = self.cockpit.session, self.view
        if view is None:
            return
        await self._act(
            "Post the Slack message?",
            "To the webhook in cockpit.yaml (notify.slack_webhook).",
            lambda: release.do_post_slack(session, view.slack),
            yes="Post",
        )

    @work(group="release-act", exit_on_error=False)
    async def action_send_email(self) -> None:
        session, view = self.cockpit.session, self.view
        settings = session.ws.config.notify.email
        if view is None or settings is None:
            return
        await self._act(
            "Send the stakeholder e-mail?",
            f"To {', '.join(settings.to)} through {settings.host}:{settings.port} "
            f"({settings.security}).",
            lambda: release.do_send_email(session, view.email),
            yes="Send",
        )

    @work(group="release-act", exit_on_error=False)
    async def action_github_release(self) -> None:
        session = self.cockpit.session
        settings = session.ws.config.github
        notes = self.query_one(TextArea).text
        if settings is None:
            return
        name = release.release_name(session)
        done: list[ReleaseCreated | ReleaseFailed] = []

        async def create() -> ReleaseCreated | ReleaseFailed:
            done.append(await release.do_create_release(session, notes))
            return done[-1]

        await self._act(
            f"Create the GitHub release {name} with the changelog section as notes?",
            f"In {settings.repo}, at the tag's commit (HEAD if the tag is not here yet); "
            "the notes are the changelog draft as shown.",
            create,
            yes="Create",
        )
        if done and isinstance(done[-1], ReleaseCreated):
            self.release_url = done[-1].url
            self.app.notify(done[-1].url, title=f"GitHub release {name}", timeout=15)
            self.load()
        elif done:
            self.app.notify(done[-1].error, title="GitHub release not created", severity="error")

    def action_copy(self) -> None:
        if self.view is not None:
            self.app.copy_to_clipboard(self.view.slack)
            self.app.notify(
                "the Slack message is on the clipboard (if your terminal allows it)", timeout=3
            )

    def action_back(self) -> None:
        if self.focused is self.query_one(TextArea):
            self.query_one("#messages-column").focus()  # leave the editor first
            return
        self.app.pop_screen()


class ReportScreen(Screen):
    """The release report, as ``cockpit report`` prints it."""

    BINDINGS = [Binding("escape", "back", "Dashboard", id="report.back")]

    def compose(self) -> ComposeResult:
        yield RunHeader()
        with VerticalScroll(id="report-scroll"):
            yield Markdown("building the report…", id="report")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    @work(exclusive=True, group="report", exit_on_error=False)
    async def load(self) -> None:
        import asyncio

        session = cast("CockpitApp", self.app).session
        if session is None:
            return
        text = await asyncio.to_thread(lambda: markdown(build(session)))
        await self.query_one("#report", Markdown).update(text)

    def action_back(self) -> None:
        self.app.pop_screen()
