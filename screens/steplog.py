"""The selected step's output: its log file as the supervisor writes it, and its CPU/memory.

Owns ``StepLogView`` — the step log's tail, then every line the supervisor appends,
read only when the app says the file grew (``OutputPending``: at most 20 draws a second,
and no more than ``SHOWN_PER_DRAW`` lines a draw while a step floods; every line stays in
the file), search over the whole file — and ``UsageLine``, the running command's whole
process tree's CPU and memory, sampled off the event loop.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.text import Text
from textual import work
from textual.geometry import Size
from textual.widgets import RichLog, Static

from cockpit.logsearch import LogFollower, file_size, search_log, tail_lines
from cockpit.proctree import UsageMeter
from cockpit.termtext import visible
from screens.messages import OutputPending
from screens.theme import style

SHOWN_PER_DRAW = 120
"""Lines drawn per frame at most while a step floods (the log file keeps every line)."""
SHOWN_LINES = 2000
"""Lines the log widget holds; the step log on disk holds every line."""


class UsageLine(Static):
    """CPU and memory of the running command's whole tree (sampled off the event loop)."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self._meter = UsageMeter()

    @work(exclusive=True, group="usage", exit_on_error=False)
    async def sample(self, pid: int | None) -> None:
        usage = await asyncio.to_thread(self._meter.sample, pid) if pid else None
        if usage is None:
            self.update("")
            return
        self.update(
            f"pid {pid} · {usage.processes} process{'es' if usage.processes != 1 else ''} · "
            f"CPU {usage.cpu_percent:.0f}% · memory {usage.rss_bytes / 2**20:.0f} MB"
        )


class StepLogView(RichLog):
    """One step's log file: its tail, then every line as the supervisor appends it."""

    def __init__(self, **kw):
        super().__init__(max_lines=SHOWN_LINES, wrap=False, markup=False, highlight=False, **kw)
        self.path: Path | None = None
        self.step: tuple[str, str] | None = None
        self._follower: LogFollower | None = None
        self._reading = False
        self._again = False
        """Output was announced while a read ran: read once more when it ends."""
        self.empty = "(no output yet)"
        self._placeholder = False
        """Only the ``empty`` words are shown: the first real line replaces it."""
        self._in_progress: str | None = None
        """The stream (``O``/``E``) whose line in progress is the last line drawn."""

    def on_resize(self) -> None:
        """A ``tty: true`` command's terminal is as wide as this view."""
        driver = getattr(self.app, "driver", None)
        if driver is not None and self.scrollable_content_region.width:
            driver.columns = self.scrollable_content_region.width

    # -- what it shows ------------------------------------------------------------------

    def show(self, phase_id: str, step_id: str, path: Path, empty: str = "(no output yet)") -> None:
        """Show this log's tail, then follow it from exactly where the tail ended (``empty``
        is what an empty log says)."""
        self.empty = empty
        self.path = path
        self.step = (phase_id, step_id)
        self._load(path)

    @work(exclusive=True, group="log-load", exit_on_error=False)
    async def _load(self, path: Path) -> None:
        self._follower = None
        end = await asyncio.to_thread(file_size, path)
        lines = await asyncio.to_thread(tail_lines, path, 500, end)
        if path != self.path:
            return
        self._follower = LogFollower(path, offset=end)
        self.clear()
        self._in_progress = None
        for line in lines:
            self.draw(line)
        self._placeholder = not lines
        if not lines:
            self._in_progress = None  # a line of ours: the progress line stays drawn
            self.write(Text(self.empty, style="dim"))
        if self.step is not None:  # what was appended while the tail was read
            self.post_message(OutputPending(*self.step))

    def on_output_pending(self, message: OutputPending) -> None:
        """The shown log grew: read what is new (one read at a time, none lost)."""
        if (message.phase, message.step) != self.step or self._follower is None:
            return
        if self._reading:
            self._again = True
            return
        self._reading = True
        self._read_new()

    @work(exclusive=True, group="log-follow", exit_on_error=False)
    async def _read_new(self) -> None:
        try:
            follower = self._follower
            if follower is None:
                return
            lines, skipped = await asyncio.to_thread(follower.read_new, 256 * 1024)
            if follower is not self._follower or not lines:
                return
            if self._placeholder:
                self._placeholder = False
                self.clear()
            if skipped or len(lines) > SHOWN_PER_DRAW:
                self._in_progress = None  # a line of ours: the progress line stays drawn
                self.write(
                    Text(
                        "… lines not drawn (all are in the step log; / searches it)", "dim italic"
                    ),
                    scroll_end=self.auto_scroll,
                )
            for line in lines[-SHOWN_PER_DRAW:]:
                self.draw(line, scroll_end=self.auto_scroll)
        finally:
            self._reading = False
            if self._again:
                self._again = False
                self.post_message(OutputPending(*self.step))  # type: ignore[misc]

    @work(exclusive=True, group="search", exit_on_error=False)
    async def search(self, term: str) -> None:
        """Every line of the whole file containing ``term`` (the last 200 shown)."""
        if self.path is None:
            return
        found, total = await asyncio.to_thread(search_log, self.path, term, 200)
        self.auto_scroll = False
        heading = f"── {total} line{'s match' if total != 1 else ' matches'} {term!r}"
        heading += " (last 200 shown) ──" if total > 200 else " ──"
        self._in_progress = None  # a line of ours: the progress line stays drawn
        self.write(Text(heading, style="bold reverse"))
        for line in found:
            self.write(self.line_text(line))
        self.scroll_end(animate=False)

    def set_follow(self, follow: bool) -> None:
        self.auto_scroll = follow
        if follow:
            self.scroll_end(animate=False)

    # -- one line ---------------------------------------------------------------------------

    def draw(self, raw: str, scroll_end: bool | None = None) -> None:
        """Draw one log line. A line in progress (tag ``o``/``e``, a ``\\r`` progress bar
        being written) is replaced by the next line of its stream: one line that updates."""
        tag = raw[25:26]
        if self._in_progress is not None and tag.upper() == self._in_progress:
            self._drop_last()
        self._in_progress = tag.upper() if tag in ("o", "e") else None
        self.write(self.line_text(raw), scroll_end=scroll_end)

    def _drop_last(self) -> None:
        if self.lines:
            self.lines.pop()
            self._line_cache.clear()  # RichLog keys its cache by line index
            self.virtual_size = Size(self.virtual_size.width, len(self.lines))
            self.refresh()

    def line_text(self, raw: str) -> Text:
        """A log-file line (``TS TAG text``) for the screen: the time, then the text."""
        ts, _, rest = raw.partition(" ")
        tag, _, body = rest.partition(" ")
        text = Text()
        text.append(ts[11:19] + " ", style="dim")
        body = visible(body)  # colours kept; nothing else a command printed acts
        shown = Text.from_ansi(body) if "\x1b" in body else Text(body)
        if tag == "#":
            shown.stylize_before("bold")
        elif tag in ("E", "e"):
            shown.stylize_before(style(self.app, "warning"))
        text.append_text(shown)
        return text
