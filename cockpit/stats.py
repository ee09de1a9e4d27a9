"""Small statistics shared by the health panels and the release history.

Owns the nearest-rank percentile: the p50/p95 of a health window and the p90 deployment
time across releases are the same kind of figure, computed one way.
"""

from __future__ import annotations

import math


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]
