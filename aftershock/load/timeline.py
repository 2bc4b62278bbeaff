"""The request timeline: reading it while it is written, and the one definition of its figures.

Error rate, availability, p95 latency and error budget are defined here
and only here: the live line of `aftershock load`, its closing summary,
the traffic probes (and so the verdicts that judge them) and the report
all take them from these functions, so one recorded run gives one answer
wherever it is read. Records are the timeline's (`t`, `status`, `ms`, ...).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aftershock.load import answers

SLO = 0.9999  # the platform's availability promise
BUDGET_PERIOD_S = 30 * 24 * 3600.0  # the error budget is a 30-day one


def is_error(record: dict[str, Any]) -> bool:
    """A request the platform did not serve: refused, or no answer (`answers.is_failed`).

    A 4xx the shopper did not cause (sold out, checkout switched off) counts:
    a region that refuses every checkout is down for checkout.
    """
    return answers.is_failed(record)


def is_answered(record: dict[str, Any]) -> bool:
    """A request that got any HTTP answer: the only ones with a latency worth ranking."""
    return int(record.get("status") or 0) != 0


def error_rate(records: Iterable[dict[str, Any]]) -> float | None:
    """Share of requests that failed (`is_error`); None when there were none."""
    rows = list(records)
    return sum(1 for r in rows if is_error(r)) / len(rows) if rows else None


def availability(records: Iterable[dict[str, Any]]) -> float | None:
    """Share of requests the platform served (`answers`): 1 - error rate."""
    rate = error_rate(records)
    return None if rate is None else 1.0 - rate


def percentile_ms(records: Iterable[dict[str, Any]], p: float) -> float | None:
    """The `p`th percentile latency (nearest rank) of answered requests; None without any.

    An unanswered request's "latency" is how long the client waited before
    it gave up, not the platform's: it counts in the error rate, never here.
    """
    if not 0 < p <= 100:
        raise ValueError(f"p must be in (0, 100], not {p}")
    ordered = sorted(float(r["ms"]) for r in records if is_answered(r))
    if not ordered:
        return None
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class Traffic:
    """Requests over a stretch of time, as the clients saw them."""

    requests: int
    errors: int
    answered: int
    seconds: float
    p95_ms: float | None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None


def summarize(records: Iterable[dict[str, Any]], seconds: float) -> Traffic:
    """Count, errors, answered requests and p95 of `records` spread over `seconds`."""
    rows = list(records)
    return Traffic(
        requests=len(rows),
        errors=sum(1 for r in rows if is_error(r)),
        answered=sum(1 for r in rows if is_answered(r)),
        seconds=seconds,
        p95_ms=percentile_ms(rows, 95),
    )


def span_s(records: Iterable[dict[str, Any]]) -> float:
    """Seconds from the first request's start to the last's; 0 with fewer than two."""
    times = [float(r["t"]) for r in records if "t" in r]
    return max(times) - min(times) if len(times) > 1 else 0.0


def error_budget(
    records: Iterable[dict[str, Any]], slo: float = SLO, period_s: float = BUDGET_PERIOD_S
) -> dict[str, Any]:
    """Share of the period's error budget (at `slo`) the failed requests burned.

    The failed share of requests times the records' span is the outage they
    equal; the 30-day budget at 99.99 % is 259.2 s of it. `used` is None
    (with the reason) when fewer than two requests leave no span to measure.
    """
    if not 0 < slo < 1:
        raise ValueError(f"slo must be in (0, 1), not {slo}")
    rows = list(records)
    span = span_s(rows)
    if len(rows) < 2 or span <= 0:
        return {"used": None, "slo": slo, "reason": "too few requests to measure"}
    equivalent = (error_rate(rows) or 0.0) * span
    budget = period_s * (1 - slo)
    return {
        "used": round(equivalent / budget, 5),
        "outage_equivalent_s": round(equivalent, 2),
        "budget_s": round(budget, 1),
        "slo": slo,
    }


class Tail:
    """Reads the records appended to a JSON Lines file since the last call.

    A line is taken only once its newline is on disk, so a batch caught
    half-written is read whole on the next call.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def new_records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            chunk = handle.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self.offset += len(complete)
        records = []
        for line in complete.splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return records
