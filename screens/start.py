"""The start screen: choose the release type and version when no run is active.

Owns the choice of release type (config ``release_types``, each with its description;
the shipped four with the runbook's definition of each), the version (prefilled with
the next one from the production tags, in the config's versioning scheme, editable),
and asking the app to start the run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, RadioButton, RadioSet, Static

from cockpit.errors import CockpitError
from cockpit.versions import AnyVersion, Versioning, current_version

if TYPE_CHECKING:
    from screens.app import CockpitApp


def type_label(name: str, description: str | None) -> str:
    """``Standard — planned bi-weekly release: …``; the name alone without a description."""
    title = name.replace("-", " ").capitalize()
    return f"{title} — {description}" if description else title


class StartScreen(Screen):
    """Start a release."""

    BINDINGS = [Binding("ctrl+s", "start", "Start the run", id="start.start")]

    current: AnyVersion | None = None
    edited = False

    def compose(self) -> ComposeResult:
        config = cast("CockpitApp", self.app).ws.config
        with Vertical(id="start-box"):
            yield Label("Start a release", id="start-title")
            yield Static("reading production tags…", id="start-current", markup=False)
            with RadioSet(id="start-type"):
                for n, key in enumerate(config.release_type_names()):
                    label = type_label(key, config.describe_release_type(key))
                    # the config's words, never read as markup
                    yield RadioButton(Content(label), value=n == 0, id=f"type-{key}")
            yield Label("Version")
            yield Input(id="start-version", placeholder=self._rules().shape())
            yield Static("", id="start-error", markup=False)
            yield Button("Start the run", variant="primary", id="start-button")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#start-version", Input).cursor_blink = False
        self.query_one(RadioSet).focus()
        self.read_tags()

    @work(thread=True, exclusive=True, group="tags", exit_on_error=False)
    def read_tags(self) -> None:
        app = cast("CockpitApp", self.app)
        try:
            current, problem = current_version(app.ws.root, app.ws.versioning), None
        except CockpitError as exc:
            current, problem = None, str(exc)
        self.app.call_from_thread(self._tags_read, current, problem)

    def _rules(self) -> Versioning:
        return cast("CockpitApp", self.app).ws.versioning

    def _tags_read(self, current: AnyVersion | None, problem: str | None) -> None:
        self.current = current
        rules = self._rules()
        line = self.query_one("#start-current", Static)
        if problem:
            line.update(f"{problem}: choose the version by hand")
        elif current is None:
            line.update(f"no {rules.tag_shape()} tag yet: counting from {rules.zero()}")
        else:
            line.update(f"production is at {current} (tag {rules.tag_for(current)})")
        self._suggest()

    def _release_type(self) -> str:
        first = cast("CockpitApp", self.app).ws.config.release_type_names()[0]
        pressed = self.query_one(RadioSet).pressed_button
        return (pressed.id or f"type-{first}").removeprefix("type-") if pressed else first

    def _suggest(self) -> None:
        if self.edited:
            return
        field = self.query_one("#start-version", Input)
        with field.prevent(Input.Changed):
            field.value = str(self._rules().after(self.current, self._release_type()))

    @on(RadioSet.Changed)
    def _type_changed(self) -> None:
        self._suggest()

    @on(Input.Changed, "#start-version")
    def _version_edited(self) -> None:
        self.edited = True

    @on(Input.Submitted)
    @on(Button.Pressed, "#start-button")
    def action_start(self) -> None:
        field = self.query_one("#start-version", Input)
        try:
            version = str(self._rules().parse(field.value))
        except CockpitError as exc:
            self.query_one("#start-error", Static).update(str(exc))
            return
        cast("CockpitApp", self.app).intents.start_run(self._release_type(), version)


WATCHING = (
    "This terminal watches read-only. As soon as someone starts a run in this workspace, "
    "it opens here."
)


class WaitingScreen(Screen):
    """Watching a workspace where no run has started yet: the run appears when it begins."""

    def compose(self) -> ComposeResult:
        app = cast("CockpitApp", self.app)
        with Vertical(id="start-box"):
            yield Label("Waiting for a run to start", id="start-title")
            yield Static(
                Text(f"Workspace: {app.ws.root}\nState: {app.ws.state_dir}\n\n{WATCHING}"),
                id="start-current",
            )
        yield Footer()

    def on_mount(self) -> None:
        self._count_runs()

    @work(thread=True, exit_on_error=False)
    def _count_runs(self) -> None:
        """Say whether runs were ever started here (a folder read: off the event loop)."""
        app = cast("CockpitApp", self.app)
        try:
            earlier = [p.name for p in app.ws.runs_dir.iterdir() if p.is_dir()]
        except OSError:
            earlier = []
        said = (
            f"No run is active; {len(earlier)} closed run(s) are here (`cockpit runs`)."
            if earlier
            else "No run has ever started here: is this the folder the driver uses? "
            "(`cockpit --workspace DIR watch`)"
        )
        text = Text(f"Workspace: {app.ws.root}\nState: {app.ws.state_dir}\n\n{WATCHING} {said}")
        app.call_from_thread(lambda: self.query_one("#start-current", Static).update(text))
