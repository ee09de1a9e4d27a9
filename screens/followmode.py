"""Follow the driver: what the driver has on screen, told by the driver and shown by a watcher.

Owns both ends of ``view.opened``. On the driving side, ``view_of`` says what is on
screen (a phase, the step selected on its deploy screen, or the dashboard) and
``tell_view`` hands it to the driver, which journals it at most once a second. On a
watcher (``cockpit watch``, following by default), ``follow`` opens the phase the driver
has open and selects the same step; any key the watcher presses takes it off follow
(said once), ``F`` puts it back and jumps to the driver's view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.screen import ModalScreen, Screen

if TYPE_CHECKING:
    from screens.app import CockpitApp

View = tuple[str | None, str | None]


def view_of(app: CockpitApp) -> View:
    """The phase (and selected step) on screen under any dialog; (None, None): elsewhere."""
    from screens.checklist import ChecklistScreen
    from screens.deploy import DeployScreen

    screen: Screen[object] | None = None
    for candidate in reversed(app.screen_stack):
        if not isinstance(candidate, ModalScreen):
            screen = candidate
            break
    if isinstance(screen, DeployScreen):
        step = screen.selected
        return screen.phase_id, step.id if step is not None else None
    if isinstance(screen, ChecklistScreen):
        return screen.phase_id, None
    return None, None


def tell_view(app: CockpitApp) -> None:
    """Driving: journal what is on screen (the driver rate-limits it)."""
    if app.driver is not None and app.session is not None and app.session.state.run is not None:
        app.driver.opened(*view_of(app))


def follow(app: CockpitApp) -> None:
    """Watching on follow: show what the driver shows (a no-op when it is shown already)."""
    if not (app.read_only and app.follow_driver) or app.session is None:
        return
    told = app.session.state.driver_view
    if told is None:
        return
    wanted: View = (told.phase, told.step)
    if view_of(app) == wanted:
        return
    if isinstance(app.screen, ModalScreen):
        return  # the watcher is reading a dialog (help, search): never yanked out of it
    phase_id, step_id = wanted
    if phase_id is None or phase_id not in app.ws.runbook.phases:
        app.action_dashboard()
        return
    if view_of(app)[0] != phase_id:
        app.open_phase(phase_id)
        app.call_after_refresh(_select, app, step_id)
    else:
        _select(app, step_id)


def _select(app: CockpitApp, step_id: str | None) -> None:
    from screens.deploy import DeployScreen

    screen = app.screen
    if step_id is not None and isinstance(screen, DeployScreen) and screen.is_mounted:
        screen.select_step(step_id)


def key_pressed(app: CockpitApp, key: str) -> None:
    """A watcher's key: any but ``F`` takes it off follow (said once)."""
    if app.session is None:
        return  # waiting for a run: there is nothing to follow yet
    if app.read_only and app.follow_driver and key not in ("F", "ctrl+q"):
        app.follow_driver = False
        app.notify(
            "You are off follow: the driver's screen is no longer mirrored. F follows again.",
            title="Follow off",
        )
        app.redraw()
