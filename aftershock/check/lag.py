"""Replication lag under load: each promise judged on every sample taken, per source of lag.

The lag recorder samples every replication path once a second through the
whole experiment: the database's replicas, the event mirrors and the
global catalog cache (`controls.lag_recorder`). Each path is judged on
its own: samples inside the window of a fault that touches *that* path
(from its injection to its undo plus a settle time) are the fault's
business; every other sample taken while the load ran is judged. A sample
that could not measure, or hit the probe's cap, counts against the
promise: a replica nobody could read is not a replica known to keep up.

Which side of the window a sample falls on depends on what its figure
looks at. A heartbeat's lag looks forward: written at `t`, readable
`value` seconds later, so it spans [t, t + value]. A mirror's lag is the
age of the oldest event it lacks, so it looks back: [t - value, t]. A
sample is left out when its span meets a window.
"""

from __future__ import annotations

import math
from typing import Any

from aftershock.check.checkers import UNKNOWN, Result

LIMIT_S = 1.0  # the platform's promise: replication lag under 1 s
SHOWN = 10  # offending samples listed in the details
FORWARD = "forward"
BACKWARD = "backward"


def lag_under_load(
    samples: list[dict[str, Any]],
    load_span: tuple[float, float] | None,
    faults: list[tuple[float, float | None]],
    settle_s: float = 10.0,
    limit_s: float = LIMIT_S,
    name: str = "lag_under_load",
    looks: str = FORWARD,
) -> Result:
    """p99 and max lag of the samples taken under load, outside the windows of `faults`.

    `samples` are `{"t", "max", "capped"?, "took"?, "error"?}` (`max` None:
    could not measure; `capped`: the figure is only a lower bound; `took`:
    seconds the measurement took), `load_span`
    the first and last request of the load, `faults` the injection and
    undo of each fault that touches this path (None: never undone,
    excluded to the end). `looks` says which way a figure looks from its
    sample's time (`FORWARD` or `BACKWARD`). `name` says which lag it is.
    """
    if looks not in (FORWARD, BACKWARD):
        raise ValueError(f"looks must be {FORWARD!r} or {BACKWARD!r}, not {looks!r}")
    if load_span is None:
        return Result(name, UNKNOWN, reason="no load ran: nothing was under load")
    start, end = load_span

    def excluded(sample: dict[str, Any]) -> bool:
        # A sample also spans the time it took to take (`took`): one that began just
        # before a fault and met it half-way (a write to a copy demoted meanwhile) is its.
        at = float(sample["t"])
        figure = float(sample["max"]) if sample.get("max") is not None else 0.0
        took = float(sample.get("took") or 0.0)
        began, ended = (
            (at, at + max(figure, took)) if looks == FORWARD else (at - figure, at + took)
        )
        return any(
            inject <= ended and began < (math.inf if undo is None else undo + settle_s)
            for inject, undo in faults
        )

    judged = [s for s in samples if start <= float(s["t"]) <= end and not excluded(s)]
    unmeasured = [s for s in judged if s.get("max") is None]
    capped = [s for s in judged if s.get("max") is not None and s.get("capped")]
    values = sorted(float(s["max"]) for s in judged if s.get("max") is not None)
    details: dict[str, Any] = {
        "samples": len(samples),
        "judged": len(judged),
        "excluded": sum(1 for s in samples if start <= float(s["t"]) <= end) - len(judged),
        "unmeasured": len(unmeasured),
        "capped": len(capped),
        "limit_s": limit_s,
        "settle_s": settle_s,
        "fault_windows": len(faults),
        "p99_s": values[max(0, math.ceil(0.99 * len(values)) - 1)] if values else None,
        "max_s": values[-1] if values else None,
    }
    if not judged:
        return Result(name, UNKNOWN, details, "no lag sample under load outside the faults")
    over = [
        s
        for s in judged
        if s.get("max") is not None and (float(s["max"]) > limit_s or s.get("capped"))
    ]
    details["over"] = [{"t": s["t"], "max": s["max"]} for s in over[:SHOWN]]
    details["could_not_measure"] = [
        {"t": s["t"], "error": str(s.get("error", ""))[:120]} for s in unmeasured[:SHOWN]
    ]
    problems = []
    if over:
        worst = max(float(s["max"]) for s in over)
        kind = f"over {limit_s:g} s" if not capped else f"over {limit_s:g} s or capped"
        problems.append(f"{len(over)} samples {kind} (max {worst:.3f} s)")
    if unmeasured:
        first = str(unmeasured[0].get("error") or "no figure")[:120]
        problems.append(f"{len(unmeasured)} samples could not measure (first: {first})")
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


def in_windows(
    samples: list[dict[str, Any]], windows: dict[str, tuple[float, float]], limit_s: float
) -> dict[str, dict[str, Any]]:
    """Per named window [start, end): how many samples, their max, and whether all kept `limit_s`.

    For a drill's capacity levels: the lag is judged at each level, and a
    level no sample measured is not judged.
    """
    found: dict[str, dict[str, Any]] = {}
    for label, (start, end) in windows.items():
        rows = [s for s in samples if start <= float(s["t"]) < end]
        values = [float(s["max"]) for s in rows if s.get("max") is not None]
        bad = [
            s for s in rows if s.get("max") is None or s.get("capped") or float(s["max"]) > limit_s
        ]
        valid: Any = UNKNOWN if not rows else not bad
        found[label] = {
            "samples": len(rows),
            "max_s": max(values) if values else None,
            "bad": len(bad),
            "valid": valid,
        }
    return found


def samples_of(records: list[dict[str, Any]], source: str) -> list[dict[str, Any]]:
    """The lag recorder's lines as one source's samples: `{"t", "max", "capped", "error"}`.

    - `database`: the heartbeat's lag over every replica (`max`), capped
      when any replica's wait hit the probe's timeout;
    - `mirror`: the age of the oldest event a mirror lacks (`mirror`);
    - `cache`: the catalog cache replica's lag (`cache`), and, where the
      recorder took one, the stale-read sample through both shops
      (`stale`): two samples at the same time, both judged.

    A line without this source's entry could not measure it: the recorder
    did not look, and not looking is no lag.
    """
    found: list[dict[str, Any]] = []
    for record in records:
        at = record.get("t")
        if at is None:
            continue
        if source == "database":
            replicas = (record.get("replicas") or {}).values()
            found.append(
                {
                    "t": at,
                    "max": record.get("max"),
                    "capped": any(bool(r.get("capped")) for r in replicas),
                    "took": record.get("took_s", 0.0),
                    "error": record.get("error")
                    or ("no figure" if record.get("max") is None else ""),
                }
            )
        elif source in ("mirror", "cache"):
            entry = record.get(source)
            found.append(_entry(at, entry, f"the recorder took no {source} sample"))
            if source == "cache" and "stale" in record:
                found.append(_entry(at, record["stale"], "no stale-read figure"))
        else:
            raise ValueError(f"unknown lag source {source!r} (database, mirror or cache)")
    return found


def _entry(at: float, entry: Any, missing: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        return {"t": at, "max": None, "capped": False, "error": missing}
    value = entry.get("seconds")
    sample = {"t": entry.get("at", at), "max": value, "capped": bool(entry.get("capped")),
              "took": entry.get("took_s", 0.0)}  # fmt: skip
    if value is None:
        sample["error"] = str(entry.get("error") or "no figure")
    return sample
