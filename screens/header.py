"""The commander's header shown on every screen, and the rollback banner.

Owns the two lines that tell anyone looking which run this is and who drives it (or that
the driver is gone, as a watcher noticed), how long the run and the incident have lasted,
what runs now against its budget and what is next. Each fact has several forms, longest
first; when the terminal is narrow the header takes shorter forms (dropping words, then
titles' tails), never a fact. And the banner that appears on every screen when a rollback
criterion is met or a decision is recorded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.widgets import Static

from cockpit.clock import local_hms, parse_iso
from cockpit.commander import DriverFacts, StepFacts, incident_clocks, now_and_next
from cockpit.describe import decision_words
from cockpit.durations import format_clock
from cockpit.progress import criteria_met
from screens.messages import JournalAdvanced
from screens.theme import style

if TYPE_CHECKING:
    from cockpit.runbook import Entry
    from cockpit.session import RunSession
    from screens.app import CockpitApp

Segment = tuple[list[str], str]
"""A fact's forms (longest first) and its style."""


def fit(segments: list[Segment], width: int, sep: str = " · ") -> Text:
    """The segments on one line of ``width``: each takes the longest form that lets the
    line fit. First every segment, the last first, drops to its second form (fewer words),
    then the last ones first go down to their shortest; a fact never vanishes (the line's
    tail is cut with one … only when even the shortest forms do not fit)."""
    chosen = [0] * len(segments)

    def length() -> int:
        return sum(len(f[c]) for (f, _), c in zip(segments, chosen, strict=True)) + len(sep) * (
            len(segments) - 1
        )

    for floor in (1, None):  # fewer words everywhere first, then shortest, last first
        for n in reversed(range(len(segments))):
            last = len(segments[n][0]) - 1
            limit = last if floor is None else min(floor, last)
            while length() > width and chosen[n] < limit:
                chosen[n] += 1
    text = Text(no_wrap=True, overflow="crop")
    for n, ((forms, look), c) in enumerate(zip(segments, chosen, strict=True)):
        if n:
            text.append(sep, style="dim")
        text.append(forms[c], style=look)
    if len(text) > width:
        text = text[: max(1, width - 1)]
        text.append("…")
    return text


def _cut(title: str, room: int) -> str:
    return title if len(title) <= room else title[: max(1, room - 1)] + "…"


def _step(facts: StepFacts, word: str) -> list[str]:
    """``now: Application Deployment 03:12 / 30m`` and shorter forms."""
    if facts.elapsed is not None:
        clock = format_clock(facts.elapsed)
        timed = f"{clock} / {facts.budget}" if facts.budget else clock
        if facts.over:
            timed = f"OVER {timed}"
    else:
        timed = f"({facts.budget})" if facts.budget else ""
    where = f"{facts.phase_title} › " if facts.phase_title else ""
    tail = f" {timed}" if timed else ""
    return [
        f"{word}: {where}{facts.title}{tail}",
        f"{word}: {facts.title}{tail}",
        f"{word}: {_cut(facts.title, 24)}{tail}",
        f"{word}: {_cut(facts.title, 12)}{tail}",
    ]


class RunHeader(Static):
    """Who drives, the run, its clocks, now and next (ticks every second)."""

    DEFAULT_CSS = """
    RunHeader { height: 2; background: $panel; color: $foreground; padding: 0 1; }
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
        width = max(20, self.size.width - 2 if self.size.width else 158)
        text = fit(self._who(app, session), width)
        text.append("\n")
        text.append_text(fit(self._when(app, session), width))
        return text

    def _who(self, app: CockpitApp, session: RunSession) -> list[Segment]:
        run = session.state.run
        assert run is not None
        now = session.clock.now()
        elapsed = format_clock((now - parse_iso(run.started_at)).total_seconds())
        warn, good = style(app, "warning", bold=True), style(app, "success", bold=True)
        bad = style(app, "error", bold=True)
        out: list[Segment] = []
        if not app.read_only:
            out.append((["DRIVING"], good))
            out.append(([f"you drive as {session.operator}", session.operator], ""))
        else:
            out.append((["WATCHING (read-only)", "WATCHING"], warn))
            facts = app.driver_facts or DriverFacts(
                "driven" if session.state.driver else "nobody",
                (session.state.driver or {}).get("operator"),
                (session.state.driver or {}).get("pid"),
                (session.state.driver or {}).get("host"),
            )
            if facts.state == "gone":
                since = local_hms(app.driver_gone_since)
                out.append(
                    (
                        [
                            f"DRIVER GONE (noticed {since}) — {facts.why}",
                            f"DRIVER GONE (noticed {since}, pid {facts.pid})",
                            f"DRIVER GONE {since}",
                        ],
                        bad,
                    )
                )
            elif facts.state == "nobody":
                out.append((["nobody drives it now", "no driver"], warn))
            else:
                out.append(
                    (
                        [
                            f"driven by {facts.operator} (pid {facts.pid} on {facts.host})",
                            f"driven by {facts.operator} (pid {facts.pid})",
                            f"by {facts.operator}",
                        ],
                        "",
                    )
                )
        if app.read_only:
            following = ["following the driver's screen", "following"]
            off = ["off follow: F follows the driver", "off follow (F)"]
            out.append((following if app.follow_driver else off, ""))
        out.append(([f"{run.type.upper()} {run.version}", run.version], "bold"))
        out.append(
            (
                [
                    f"run {run.id} since {local_hms(run.started_at)}, elapsed {elapsed}",
                    f"elapsed {elapsed}",
                    elapsed,
                ],
                "",
            )
        )
        return out

    def _when(self, app: CockpitApp, session: RunSession) -> list[Segment]:
        now = session.clock.now()
        running, coming = now_and_next(session.runbook, session.state, now)
        clocks = incident_clocks(session.runbook, session.state, now)
        bad = style(app, "error", bold=True)
        out: list[Segment] = []
        long, short = [], []
        if clocks.since_criterion is not None:
            long.append(f"criterion met {format_clock(clocks.since_criterion)} ago")
            short.append(f"crit {format_clock(clocks.since_criterion)}")
        if clocks.since_down is not None:
            long.append(f"DOWN for {format_clock(clocks.since_down)}")
            short.append(f"DOWN {format_clock(clocks.since_down)}")
        if clocks.since_decision is not None:
            long.append(f"{clocks.decision} decided {format_clock(clocks.since_decision)} ago")
            short.append(f"{clocks.decision} {format_clock(clocks.since_decision)}")
        if long:
            first = short[0].split(" ")[-1]
            out.append(([f"INCIDENT: {', '.join(long)}", " ".join(short), f"INC {first}"], bad))
        if running is not None:
            look = bad if running.over else "bold"
            out.append((_step(running, "now"), look))
        else:
            out.append((["now: nothing running", "now: —"], "dim"))
        if coming is not None:
            out.append((_step(coming, "next"), ""))
        else:
            out.append((["next: nothing left to do", "next: —"], "dim"))
        return out


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
            choice = decision_words(d.choice).upper()
            text.append(
                ("\n" if met else "") + f"DECISION: {choice} — {d.rationale} "
                f"(decided by {d.commander}, {local_hms(d.ts)})",
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
