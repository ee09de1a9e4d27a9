"""What moves the screen: the journal advanced, a step's output grew, an environment was probed.

Owns the three messages the app gets from the run — ``JournalAdvanced`` (from the driver,
or the watcher's journal follower), ``OutputPending`` (from the app's output watch),
``HealthSampled`` (from the health monitor; for a watcher, from the driver's health read
in the journal) — and ``deliver``, which hands a copy of one
to every node of the active screen that has a handler for it. Nothing else redraws on a
change: a widget that shows something says so by handling the message, and can look at
what it carries (the events, the step, the environment) to decide whether it is
concerned. Queued copies coalesce (``can_replace``), so a burst of a thousand journal
lines or probes is one redraw. Hidden screens get nothing; ``RunScreen`` catches up when
it is shown again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Self, cast

from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen

from cockpit.events import Event

if TYPE_CHECKING:
    from cockpit.session import RunSession
    from screens.app import CockpitApp


class RunMessage(Message, bubble=False):
    """A change in the run, delivered to the widgets concerned (it never bubbles back up:
    every subclass says ``bubble=False`` too, Textual does not inherit it)."""

    def copy(self) -> Self:
        raise NotImplementedError


class JournalAdvanced(RunMessage, bubble=False):
    """The state folded in these events (``everything``: redraw it all, e.g. on resume)."""

    def __init__(self, events: Sequence[Event] = (), everything: bool = False):
        super().__init__()
        self.events: tuple[Event, ...] = tuple(events)
        self.everything = everything

    def copy(self) -> JournalAdvanced:
        return JournalAdvanced(self.events, self.everything)

    def can_replace(self, message: Message) -> bool:
        if not isinstance(message, JournalAdvanced):
            return False
        message.events = self.events + message.events
        message.everything = message.everything or self.everything
        return True


class OutputPending(RunMessage, bubble=False):
    """The log of ``(phase, step)`` has grown: new lines are there to be read."""

    def __init__(self, phase: str, step: str):
        super().__init__()
        self.phase = phase
        self.step = step

    def copy(self) -> OutputPending:
        return OutputPending(self.phase, self.step)

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, OutputPending) and (message.phase, message.step) == (
            self.phase,
            self.step,
        )


class HealthSampled(RunMessage, bubble=False):
    """``env`` was probed, or a watcher read the driver's probe of it (``changed``: its
    state changed with this one)."""

    def __init__(self, env: str, changed: bool):
        super().__init__()
        self.env = env
        self.changed = changed

    def copy(self) -> HealthSampled:
        return HealthSampled(self.env, self.changed)

    def can_replace(self, message: Message) -> bool:
        if not isinstance(message, HealthSampled) or message.env != self.env:
            return False
        message.changed = message.changed or self.changed
        return True


def deliver(screen: Screen, message: RunMessage) -> int:
    """Post a copy of ``message`` to every node of ``screen`` that handles it; how many."""
    name = message.handler_name
    delivered = 0
    for node in screen.walk_children(with_self=True):
        if hasattr(node, name):
            node.post_message(message.copy())
            delivered += 1
    return delivered


class RunScreen(Screen):
    """A screen of the run: when shown again it redraws what changed while it was hidden."""

    @property
    def cockpit(self) -> CockpitApp:
        return cast("CockpitApp", self.app)

    @property
    def session(self) -> RunSession:
        """The run this screen shows (a run screen is only opened on one)."""
        session = self.cockpit.session
        assert session is not None, f"{type(self).__name__} opens on a run"
        return session

    def on_screen_resume(self) -> None:
        deliver(self, JournalAdvanced(everything=True))

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """As the app's: plain text, never markup."""
        self.app.notify(message, title=title, severity=severity, timeout=timeout, markup=markup)
