"""Journal: replaying 100,000 events (target < 1 s) and appends per second with fsync."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from bench.common import Row
from cockpit.journal import Journal, read_journal
from cockpit.state import replay

EVENTS = 100_000


def run() -> list[Row]:
    folder = Path(tempfile.mkdtemp(prefix="bench-journal-"))
    path = folder / "journal.jsonl"
    with open(path, "w") as fh:
        fh.write(
            json.dumps(
                {
                    "v": 1,
                    "ts": "2026-11-24T14:00:00.000+00:00",
                    "type": "run.started",
                    "by": "b",
                    "run": {"id": "r", "type": "standard", "version": "1.0.0"},
                }
            )
            + "\n"
        )
        kinds = ("item.checked", "item.unchecked", "item.noted")
        for n in range(EVENTS - 1):
            event = {
                "v": 1,
                "ts": f"2026-11-24T14:{n // 6000 % 60:02d}:{n // 100 % 60:02d}.000+00:00",
                "type": kinds[n % 3],
                "by": "bench",
                "phase": f"p{n % 12}",
                "item": f"i{n % 200}",
                "note": "a note" if n % 3 == 2 else None,
            }
            fh.write(json.dumps(event, separators=(",", ":")) + "\n")
    started = time.perf_counter()
    state = replay(read_journal(path).events)
    took = time.perf_counter() - started
    assert state.event_count == EVENTS

    journal = Journal(folder / "appends.jsonl", "bench")
    count = 500
    started = time.perf_counter()
    for n in range(count):
        journal.append("item.checked", phase="p", item=f"i{n}")
    rate = count / (time.perf_counter() - started)
    journal.close()
    return [
        Row(
            f"journal: replay {EVENTS:,} events (read + fold)", f"{took:.2f} s", "< 1 s", took < 1.0
        ),
        Row("journal: appends per second, each fsynced", f"{rate:,.0f} /s", "—", None),
    ]
