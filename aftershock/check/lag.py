"""Replication lag under load: the promise (< 1 s, p99 and max) judged on every sample taken.

The lag recorder samples the replicas once a second through the whole
experiment. Samples inside a fault window (from its injection to its undo
plus a settle time) are the fault's business; every other sample taken
while the load ran is judged. A sample that could not measure counts
against the promise: a replica nobody could read is not a replica known
to keep up.
"""

from __future__ import annotations

import math
from typing import Any

from aftershock.check.checkers import UNKNOWN, Result

LIMIT_S = 1.0  # the platform's promise: replication lag under 1 s
SHOWN = 10  # offending samples listed in the details


def lag_under_load(
    samples: list[dict[str, Any]],
    load_span: tuple[float, float] | None,
    faults: list[tuple[float, float | None]],
    settle_s: float = 10.0,
    limit_s: float = LIMIT_S,
    name: str = "lag_under_load",
) -> Result:
    """p99 and max lag of the samples taken under load, outside every fault window.

    `samples` are the recorder's lines (`t`, `max`, `error`), `load_span`
    the first and last request of the load, `faults` each fault's
    injection and undo (None: never undone, excluded to the end). `name`
    says which lag it is (the database's replicas, the event mirrors).
    """
    if load_span is None:
        return Result(name, UNKNOWN, reason="no load ran: nothing was under load")
    start, end = load_span

    def excluded(sample: dict[str, Any]) -> bool:
        # A sample measures from `t` until its row arrived (`max` later): one that began
        # just before an injection and waited through it is the fault's, not the steady state's.
        began = float(sample["t"])
        ended = began + float(sample["max"] if sample.get("max") is not None else 0.0)
        return any(
            at <= ended and began < (math.inf if undo is None else undo + settle_s)
            for at, undo in faults
        )

    judged = [s for s in samples if start <= float(s["t"]) <= end and not excluded(s)]
    unmeasured = [s for s in judged if s.get("max") is None]
    values = sorted(float(s["max"]) for s in judged if s.get("max") is not None)
    details: dict[str, Any] = {
        "samples": len(samples),
        "judged": len(judged),
        "unmeasured": len(unmeasured),
        "limit_s": limit_s,
        "settle_s": settle_s,
        "p99_s": values[max(0, math.ceil(0.99 * len(values)) - 1)] if values else None,
        "max_s": values[-1] if values else None,
    }
    if not judged:
        return Result(name, UNKNOWN, details, "no lag sample under load outside the faults")
    over = [s for s in judged if s.get("max") is not None and float(s["max"]) > limit_s]
    details["over"] = [{"t": s["t"], "max": s["max"]} for s in over[:SHOWN]]
    details["could_not_measure"] = [
        {"t": s["t"], "error": str(s.get("error", ""))[:120]} for s in unmeasured[:SHOWN]
    ]
    problems = []
    if over:
        problems.append(f"{len(over)} samples over {limit_s:g} s (max {details['max_s']:.3f} s)")
    if unmeasured:
        problems.append(f"{len(unmeasured)} samples could not measure")
    if problems:
        return Result(
            name, False, details, f"of {len(judged)} samples under load: " + ", ".join(problems)
        )
    return Result(
        name,
        True,
        details,
        f"{len(judged)} samples under load: p99 {details['p99_s']:.3f} s, "
        f"max {details['max_s']:.3f} s, within {limit_s:g} s",
    )
