"""The command palette's commands, in the order the app gives them.

Owns ``InOrderCommands``: Textual's system-commands provider sorts what it offers before
anything is typed by name; this one keeps the app's order (``CockpitApp.
get_system_commands``: the dashboard, the release history, the phases in runbook order,
this screen's actions, then the keys, theme and quit), because a runbook's phases read in
the order they are done. Typing searches as Textual's does.
"""

from __future__ import annotations

from textual.command import DiscoveryHit, Hits
from textual.system_commands import SystemCommandsProvider


class InOrderCommands(SystemCommandsProvider):
    """The app's commands, unsorted: phases in runbook order, not alphabetically."""

    async def discover(self) -> Hits:
        for name, help_text, callback, discover in self.app.get_system_commands(self.screen):
            if discover:
                yield DiscoveryHit(name, callback, help=help_text)
