"""The run header shown on every screen, and the rollback banner.

Owns the one line that tells the operator which run this is (type, version,
run id, operator, elapsed clock) and whether this terminal drives or watches it,
and the banner that appears on every screen when a rollback criterion is met.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.widgets import Static

from cockpit.clock import local_hm, parse_iso
from cockpit.durations import format_clock
from cockpit.progress import criteria_met
from screens.messages import JournalAdvanced
from screens.theme import style

if TYPE_CHECKING:
    from cockpit.runbook import Entry
    from cockpit.session import RunSession
    from screens.app import CockpitApp


class RunHeader(Static):
    """Run id, type, version, operator and the elapsed clock (ticks every second)."""

    DEFAULT_CSS = """
    RunHeader { height: 1; background: $panel; color: $foreground; padding: 0 1; }
    """

    def on_mount(self) -> None:
        self.set_interval(1.0, self.refresh)

    def on_journal_advanced(self, _: JournalAdvanced) -> None:
        self.refresh()

    def render(self) -> Text:
        app = cast("CockpitApp", self.app)
        session = app.session
        if session is None or session.state.run is None:
            return Text("Release Cockpit — no run yet", style="bold")
        run = session.state.run
        elapsed = (session.clock.now() - parse_iso(run.started_at)).total_seconds()
        text = Text()
        text.append(f" {run.type.upper()} {run.version} ", style="bold reverse")
        text.append(f"  run {run.id}  ·  operator {run.operator}  ·  started ")
        text.append(local_hm(run.started_at))
        text.append("  ·  elapsed ")
        text.append(format_clock(elapsed), style="bold")
        if app.read_only:
            text.append("   WATCHING (read-only)", style=style(app, "warning", bold=True))
            driver = session.state.driver
            if driver:
                text.append(
                    f" — driven by {driver.get('operator')} (pid {driver.get('pid')} "
                    f"on {driver.get('host')})"
                )
            else:
                text.append(" — nobody drives it now")
        else:
            text.append("   DRIVING", style=style(app, "success", bold=True))
        return text


class RollbackBanner(Static):
    """ "ROLLBACK CRITERIA MET" with the evidence, on every screen, while any criterion is met."""

    DEFAULT_CSS = """
    RollbackBanner { height: auto; background: $error; color: $text; padding: 0 1; display: none; }
    RollbackBanner.-met { display: block; }
    """

    def on_mount(self) -> None:
        self._update()

    def on_journal_advanced(self, _: JournalAdvanced) -> None:
        self._update()

    def _update(self) -> None:
        app = cast("CockpitApp", self.app)
        session = app.session
        if session is None or session.state.run is None:
            self.set_class(False, "-met")
            return
        met = criteria_met(session.runbook, session.state)
        decisions = session.state.decisions
        self.set_class(bool(met or decisions), "-met")
        text = Text()
        if met:
            reasons = "; ".join(self._evidence(session, phase.id, e) for phase, e in met)
            text.append(f"ROLLBACK CRITERIA MET: {reasons}", style="bold")
        if decisions:
            d = decisions[-1]
            choice = "ROLL BACK" if d.choice == "rollback" else "FIX FORWARD"
            text.append(
                ("\n" if met else "") + f"DECISION: {choice} — {d.rationale} "
                f"(decided by {d.commander}, {local_hm(d.ts)})",
                style="bold",
            )
        if met or decisions:
            self.update(text)

    @staticmethod
    def _evidence(session: RunSession, phase_id: str, entry: Entry) -> str:
        """A criterion with what says it is met: the health signal, or who ticked it."""
        st = session.state.item(phase_id, entry.item.id)
        signal = (st.evidence or {}).get("signal")
        return entry.item.text + (f" ({signal})" if signal else f" (ticked by {st.by})")
