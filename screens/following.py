"""What moves on its own: the journal, the shown step's log, what a previous cockpit left.

Owns the app's long-lived readers: following the run's journal (ours, the supervisors',
a script's) and passing on what it gained as ``JournalAdvanced`` (for a watcher, with the
driver's journaled health folded for its panels); while driving, checking
about once a second that a running step's supervisor is alive and showing what the
driver found (still running, recorded, vanished, orphaned) in words; watching the shown
step's log and saying ``OutputPending`` when it grew; for a watcher, looking every two
seconds at whether the driver the journal names still holds the run's lock (a driver
killed with ``kill -9`` is noticed, said once, and shown in the header until a driver
comes back) and, once the run is closed, at whether a newer run started (then watched); and, for a watcher that came before the run, picking the run up when it
starts. Every read happens off the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.clock import iso
from cockpit.commander import driver_facts
from cockpit.driver import Found
from cockpit.errors import CockpitError
from cockpit.logsearch import file_size
from cockpit.session import RunSession
from screens import followmode
from screens.messages import OutputPending

if TYPE_CHECKING:
    from screens.app import CockpitApp

DRIVER_EVERY = 2.0
"""Seconds between a watcher's looks at the run's lock (is its driver alive?)."""
OUTPUT_EVERY = 0.05
"""Seconds between looks at the shown log's size (a stat, in a thread): at most 20 redraws
a second."""


class Following:
    """The app's readers, each one worker (started again, it replaces itself)."""

    def __init__(self, app: CockpitApp):
        self.app = app
        self._io = asyncio.Lock()
        self._told_orphans: set[tuple[str, str]] = set()
        self._shown_log: tuple[str, str, Path] | None = None

    def _worker(self, work: Coroutine[Any, Any, None], group: str) -> None:
        self.app.run_worker(work, group=group, exclusive=True, exit_on_error=False)

    def follow(self) -> None:
        """Read the journal forever (and check running steps' supervisors while driving)."""
        self._worker(self._follow(), "journal")

    def reconcile(self) -> None:
        """What a previous cockpit left: still running, ended meanwhile, vanished, orphaned."""
        self._worker(self._reconcile(), "reconcile")

    def wait_for_run(self) -> None:
        """Watching before the run begins: pick it up as soon as it is started."""
        self._worker(self._wait_for_run(), "wait-run")

    async def _reconcile(self) -> None:
        if self.app.driver is None:
            return
        self._show_found(await self.app.driver.reconcile(), restart=True)
        self.app.redraw()

    def _show_found(self, found: list[Found], restart: bool = False) -> None:
        session = self.app.session
        assert session is not None
        for f in found:
            title = session.step_spec(f.phase, f.step).title
            if f.what == "orphan" and (f.phase, f.step) not in self._told_orphans:
                self._told_orphans.add((f.phase, f.step))
                self.app.notify(
                    f"{title}: {f.words}. Open it to kill or wait.",
                    title="ORPHANED COMMAND",
                    severity="error",
                    timeout=30,
                )
                self.app.redraw()
            elif f.what == "running" and restart:
                self.app.notify(f"{title}: {f.words}", title="Still running from before")
            elif f.what == "recorded":
                self.app.notify(f"{title}: {f.words}", title="Recorded from its supervisor")
            elif f.what == "reattached":
                self.app.notify(f"{title}: {f.words}", title="Re-attached", timeout=15)
            elif f.what == "not started":
                self.app.notify(f"{title}: {f.words}; r starts it", title="Not started")
            elif f.what == "vanished":
                self.app.notify(
                    f"{title}: {f.words}", title="Step lost", severity="error", timeout=30
                )

    async def _wait_for_run(self) -> None:
        while True:
            run_id = await asyncio.to_thread(self.app.ws.active_run_id)
            if run_id is not None:
                break
            await asyncio.sleep(self.app.follow_interval)
        session = await asyncio.to_thread(RunSession, self.app.ws, run_id)
        await self.app.enter_run(session)

    async def _follow(self) -> None:
        """Read the journal (ours, supervisors', scripts') forever; poll, then sleep.

        While driving, a running step's supervisor is checked about once a second: one
        that vanished is recorded as the driver finds it.
        """
        loop = asyncio.get_running_loop()
        checked = loop.time()
        looked = -DRIVER_EVERY
        while True:
            await self.sync()
            if self.app.driver is not None:
                followmode.tell_view(self.app)
            if self.app.read_only and loop.time() - looked >= DRIVER_EVERY:
                looked = loop.time()
                await self.look_at_driver()
            due = loop.time() - checked >= 1.0
            if due and self.app.driver is not None and self.app.running_step() is not None:
                checked = loop.time()
                try:
                    found = await self.app.driver.reconcile()
                except (CockpitError, OSError) as exc:  # said; the journal is still followed
                    self.app.notify(str(exc), title="Could not check a step", severity="error")
                    found = []
                self._show_found([f for f in found if f.what != "running"])
            await asyncio.sleep(self.app.follow_interval)

    async def look_at_driver(self) -> None:
        """Does the driver the journal names still hold the lock? (A watcher's question.)"""
        session = self.app.session
        if session is None or session.state.run is None:
            return
        if session.state.closed is not None:  # the run ended: a newer one is followed
            newer = await asyncio.to_thread(self.app.ws.active_run_id)
            if newer is not None and newer != session.run_id:
                self.app.notify(
                    f"Run {session.run_id} was closed; now watching run {newer}.",
                    title="New run",
                )
                fresh = await asyncio.to_thread(RunSession, self.app.ws, newer)
                # its own worker: entering the run restarts this one (the journal reader)
                self.app.run_worker(
                    self.app.change_run(fresh), group="run-switch", exit_on_error=False
                )
                return
        facts = await asyncio.to_thread(driver_facts, session.state, session.lock, False)
        before = self.app.driver_facts
        if facts.state == "gone":
            if before is None or before.state != "gone":
                self.app.driver_gone_since = iso(session.clock.now())
                self.app.notify(
                    f"{facts.operator} stopped driving without closing: {facts.why}. Nobody "
                    "drives this run now; start `cockpit` in its workspace to take over.",
                    title="DRIVER GONE",
                    severity="error",
                    timeout=30,
                )
        else:
            self.app.driver_gone_since = None
        self.app.driver_facts = facts
        if facts != before:
            self.app.redraw()

    async def sync(self) -> None:
        """Read what the journal gained and redraw; reads happen off the event loop."""
        if self.app.session is None:
            return
        if self.app.driver is not None:
            batch = await self.app.driver.sync()  # redraws through ``_changed``
        else:
            async with self._io:
                batch = await asyncio.to_thread(self.app.session.read_pending)
                events = self.app.session.apply(batch)
            if events:
                self.app._changed(events)
                self.app.health_journaled(events)
        for warning in batch.warnings:
            self.app.notify(warning, title="Journal", severity="warning")

    def show_output(self, phase_id: str, step_id: str) -> None:
        """The log of this step is on screen: tell it (``OutputPending``) when it grows."""
        assert self.app.session is not None
        self._shown_log = (phase_id, step_id, self.app.session.log_path(phase_id, step_id))
        self._worker(self._watch_output(), "output")

    def stop_output(self) -> None:
        """No step log is on screen: stop looking at one."""
        self._shown_log = None

    async def _watch_output(self) -> None:
        """While a step's log is shown: a stat every 50 ms, a message when it grew (so the
        log view draws at most 20 times a second, and reads only when there is news)."""
        size = -1
        shown = self._shown_log
        while shown is not None and shown is self._shown_log:
            phase_id, step_id, path = shown
            now = await asyncio.to_thread(file_size, path)
            if now != size:
                size = now
                self.app.post_message(OutputPending(phase_id, step_id))
            await asyncio.sleep(OUTPUT_EVERY)
