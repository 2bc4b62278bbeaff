"""Time series for the report's plots: the timeline and lag samples in one-second buckets.

Pure functions. Time is seconds since the experiment started (the
journal's `start`), so a fault at 8 s reads the same in every experiment.
Requests per second are grouped by the region that served them (traffic
moving to the surviving region is the failover, seen from outside); error
rate and p95 latency by where the customers are (the `X-Geo` the load
sends), because a customer in Taiwan whose requests fail has no serving
region at all.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aftershock.load.timeline import is_answered, is_error, percentile_ms

NO_ANSWER = "no answer"
BUCKET_S = 1.0


@dataclass
class Series:
    """One line of a plot: x in seconds since the experiment's start, y per bucket."""

    name: str
    x: list[float] = field(default_factory=list)
    y: list[float | None] = field(default_factory=list)
    text: list[str] = field(default_factory=list)


def epoch(iso: str | None) -> float | None:
    """A journal timestamp (ISO 8601, UTC) as seconds since the epoch."""
    if not iso:
        return None
    return datetime.fromisoformat(iso).timestamp()


def _buckets(
    timeline: list[dict[str, Any]], origin: float, key: str
) -> dict[str, dict[int, list[dict[str, Any]]]]:
    grouped: dict[str, dict[int, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for record in timeline:
        second = math.floor((float(record["t"]) - origin) / BUCKET_S)
        grouped[str(record.get(key) or NO_ANSWER)][second].append(record)
    return grouped


def _span(timeline: list[dict[str, Any]], origin: float) -> range:
    seconds = [math.floor((float(r["t"]) - origin) / BUCKET_S) for r in timeline]
    return range(min(seconds), max(seconds) + 1) if seconds else range(0)


def requests_per_second(timeline: list[dict[str, Any]], origin: float) -> list[Series]:
    """Requests per second by serving region; unanswered requests as their own line."""
    span = _span(timeline, origin)
    lines = []
    for name, buckets in sorted(_buckets(timeline, origin, "region").items()):
        line = Series(name)
        for second in span:
            line.x.append(second * BUCKET_S)
            line.y.append(len(buckets.get(second, [])) / BUCKET_S)
        lines.append(line)
    return lines


def error_rate(timeline: list[dict[str, Any]], origin: float) -> list[Series]:
    """Share of failed requests (no answer or 5xx) per second, by customer geo, in percent."""

    def failed(records: list[dict[str, Any]]) -> tuple[float | None, str]:
        count = sum(1 for r in records if is_error(r))
        share = 100.0 * count / len(records) if records else None
        return share, f"{count} of {len(records)} failed"

    return _per_geo(timeline, origin, failed)


def p95_latency(timeline: list[dict[str, Any]], origin: float) -> list[Series]:
    """p95 latency (nearest rank) of answered requests per second, by customer geo."""

    def p95(records: list[dict[str, Any]]) -> tuple[float | None, str]:
        answered = sum(1 for r in records if is_answered(r))
        return percentile_ms(records, 95), f"{answered} answered"

    return _per_geo(timeline, origin, p95)


def _per_geo(
    timeline: list[dict[str, Any]],
    origin: float,
    measure: Callable[[list[dict[str, Any]]], tuple[float | None, str]],
) -> list[Series]:
    """One line per customer geo: `measure` of each second's requests (None: a gap)."""
    span = _span(timeline, origin)
    lines = []
    for name, buckets in sorted(_buckets(timeline, origin, "geo").items()):
        line = Series(f"customers {name}")
        for second in span:
            value, hover = measure(buckets.get(second, []))
            line.x.append(second * BUCKET_S)
            line.y.append(value)
            line.text.append(hover)
        lines.append(line)
    return lines


def replication_lag(samples: list[dict[str, Any]], origin: float) -> tuple[list[Series], Series]:
    """Lag per replica in seconds, and the samples that could not measure (with why)."""
    lines: dict[str, Series] = {}
    blind = Series("not measured")
    for sample in samples:
        x = round(float(sample["t"]) - origin, 3)
        replicas = sample.get("replicas") or {}
        if sample.get("max") is None or not replicas:
            blind.x.append(x)
            blind.y.append(0.0)
            blind.text.append(str(sample.get("error", "no replica answered")))
            continue
        for name, value in replicas.items():
            line = lines.setdefault(name, Series(f"replica {name}"))
            line.x.append(x)
            line.y.append(value.get("seconds"))
            line.text.append("capped at the probe's timeout" if value.get("capped") else "")
    return sorted(lines.values(), key=lambda s: s.name), blind


DATA_PLANE = {"mirror": "event mirror lag", "cache": "catalog cache lag"}
"""The recorder's other lag samples, by key, and the line each becomes."""


def data_plane_lag(samples: list[dict[str, Any]], origin: float) -> list[Series]:
    """The event mirrors' and the catalog cache's lag in seconds (a sample without one: a gap)."""
    lines = []
    for key, name in DATA_PLANE.items():
        line = Series(name)
        for sample in samples:
            found = sample.get(key)
            if not isinstance(found, dict):
                continue
            line.x.append(round(float(sample["t"]) - origin, 3))
            line.y.append(found.get("seconds"))
            line.text.append(str(found.get("error") or f"{found.get('messages', '')} behind"))
        if line.x:
            lines.append(line)
    return lines


@dataclass(frozen=True)
class Window:
    """A fault's time on the platform: from its injection to the undo that ended it."""

    name: str
    start: float
    end: float
    open: bool  # never undone within the experiment (the rollback may have healed it later)


def fault_windows(marks: list[dict[str, Any]], origin: float, until: float) -> list[Window]:
    """Each injection paired with the first undo after it (else the experiment's end)."""
    injections = [m for m in marks if m["kind"] == "inject" and epoch(m["start"]) is not None]
    undos = sorted(epoch(m["end"]) or 0.0 for m in marks if m["kind"] == "undo" and m.get("end"))
    windows = []
    for mark in injections:
        began = float(epoch(mark["start"]) or 0.0)
        ended = next((t for t in undos if t >= began), None)
        windows.append(
            Window(
                mark["name"],
                round(began - origin, 3),
                round((ended if ended is not None else until) - origin, 3),
                ended is None,
            )
        )
    return windows
