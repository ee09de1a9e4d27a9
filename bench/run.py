"""Every benchmark, one table: ``python -m bench.run [--seconds N]``.

Figures are measured here, never asserted in tests. Copy the table into the README
with the machine line it prints.
"""

from __future__ import annotations

import argparse

from bench import health_poll, history, journal, longrun, serve, startup, streaming
from bench.common import machine, print_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the polling runs")
    parser.add_argument(
        "--only",
        choices=("startup", "journal", "history", "streaming", "health", "longrun", "serve"),
        help="run one group",
    )
    args = parser.parse_args()
    rows = []
    if args.only in (None, "startup"):
        rows += startup.run()
    if args.only in (None, "journal"):
        rows += journal.run()
    if args.only in (None, "history"):
        rows += history.run()
    if args.only in (None, "streaming"):
        rows += streaming.run()
    if args.only in (None, "health"):
        rows += health_poll.run(args.seconds)
    if args.only in (None, "serve"):
        rows += serve.run()
    if args.only in (None, "longrun"):
        rows += longrun.run(args.seconds)
    print(f"machine: {machine()}")
    print_table(rows)


if __name__ == "__main__":
    main()
