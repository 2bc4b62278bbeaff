"""The DR drill's checks: traffic moved off a region and back, capacity, critical journeys.

Pure functions over the load's request timeline (`t`, `status`, `ms`,
`region` that served it, `geo` of the customer) and the journeys' step
records. Where a drill measures "the traffic moved", it asks the recovery
checkers a sharper question than "did requests succeed": a request the
failed region still answered is not moved, so a router that ignored the
failed health check cannot pass for a failover that no client noticed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aftershock.check import phases
from aftershock.check.checkers import UNKNOWN, Result
from aftershock.load import answers
from aftershock.load.timeline import is_answered, is_error, percentile_ms

MOVED, NOT_MOVED = 200, 503  # the status a request gets in the moved-or-not view


def moved_view(timeline: Iterable[dict[str, Any]], away_from: str) -> list[dict[str, Any]]:
    """The timeline as "moved or not": good only when answered without error by another region.

    Fed to `phases.failover`, the failover it measures is the traffic's
    move away from `away_from`, not merely requests that did not fail.
    """
    return [
        {"t": r["t"], "status": MOVED if _served_by_other(r, away_from) else NOT_MOVED}
        for r in timeline
    ]


def _served_by_other(record: dict[str, Any], away_from: str) -> bool:
    """Served (`answers`) by a region that named itself, and not by `away_from`.

    An answer that names no region was given by nobody we know: the edge's
    sorry page is not a failover to the other region.
    """
    region = record.get("region")
    return answers.is_served(record) and region is not None and region != away_from


def returned_view(
    timeline: Iterable[dict[str, Any]], region: str, geo: str
) -> list[dict[str, Any]]:
    """`geo`'s requests, good only when `region` (its home) answered them without error."""
    return [
        {
            "t": r["t"],
            "status": MOVED if answers.is_served(r) and r.get("region") == region else NOT_MOVED,
        }
        for r in timeline
        if r.get("geo") == geo
    ]


def moved(
    timeline: Iterable[dict[str, Any]],
    began: float,
    undo_at: float | None,
    away_from: str,
    sustain_s: float = phases.SUSTAIN_S,
) -> Result:
    """Did the traffic leave `away_from` while its health check was failed, and how fast?

    `phases.failover` over `moved_view`: `seconds` is the RTO of the move;
    false when the traffic was still on `away_from` (or failing) until
    the undo; unknown without requests to judge.
    """
    rows = list(timeline)
    if rows and not any(r.get("region") for r in rows if float(r["t"]) >= began):
        why = "no answer since the fault says which region served it (X-Served-By): not judged"
        return Result("traffic_moved", UNKNOWN, {"requests_during": len(rows)}, why)
    result = phases.failover(
        moved_view(rows, away_from),
        began,
        undo_at,
        f"the restore of {away_from}",
        sustain_s=sustain_s,
    )
    reason = result.reason.replace("no client saw the fault", "moved at once")
    reason = reason.replace("failed over: recovered", f"traffic left {away_from}")
    details = {k: v for k, v in result.details.items() if k != "failback"}
    return Result("traffic_moved", result.valid, details, reason)


def returned(
    timeline: Iterable[dict[str, Any]],
    undo_at: float,
    region: str,
    geo: str,
    end: float | None = None,
    sustain_s: float = phases.SUSTAIN_S,
) -> Result:
    """The failback: from the restore until `geo` is served by `region` again, sustained.

    Requests from `end` on (the load being stopped) are left out: users
    killed mid-request are the harness's doing, not the platform's.
    """
    rows = [r for r in timeline if end is None or float(r["t"]) < end]
    view = returned_view(rows, region, geo)
    result = phases.failover(view, undo_at, None, sustain_s=sustain_s)
    reason = result.reason.replace("no client saw the fault", f"{geo} back on {region} at once")
    reason = reason.replace("failed over: recovered", f"{geo} back on {region}")
    reason = reason.replace("after the fault while the fault held", "after the restore")
    reason = reason.replace("did not recover while the fault held", f"{geo} never back on {region}")
    details = {k: v for k, v in result.details.items() if k not in ("failback", "undo", "undo_at")}
    details |= {
        "restored_at": undo_at,
        "region": region,
        "geo": geo,
        "errors": sum(1 for r in rows if float(r["t"]) >= undo_at and is_error(r)),
    }
    return Result("failback", result.valid, details, reason)


def capacity_level(
    records: Iterable[dict[str, Any]],
    start: float,
    end: float,
    region: str,
    max_p99_ms: float,
    max_error_rate: float,
    min_requests: int = 50,
) -> dict[str, Any]:
    """One load level over [start, end): did `region` alone carry it within the SLOs?

    Valid when at least `min_requests` were sent, every answer came from
    `region`, the error rate is at most `max_error_rate` and the p99
    latency of answered requests at most `max_p99_ms`; unknown when too
    few requests were sent to judge.
    """
    rows = [r for r in records if start <= float(r["t"]) < end]
    seconds = max(end - start, 1e-9)
    answered = [r for r in rows if is_answered(r)]
    errors = sum(1 for r in rows if is_error(r))
    # Served by another region that named itself; an error without a region is an error.
    others = [r for r in answered if r.get("region") not in (None, region) and not is_error(r)]
    elsewhere = sorted({str(r.get("region")) for r in others})
    good = len(rows) - errors
    level: dict[str, Any] = {
        "start": start,
        "end": end,
        "requests": len(rows),
        "errors": errors,
        "error_rate": round(errors / len(rows), 4) if rows else None,
        "rps": round(len(rows) / seconds, 2),
        "served_rps": round(good / seconds, 2),
        "p99_ms": percentile_ms(rows, 99) if answered else None,
        "served_elsewhere": len(others),
        "max_p99_ms": max_p99_ms,
        "max_error_rate": max_error_rate,
    }
    problems = []
    if len(rows) < min_requests:
        return {
            **level,
            "valid": UNKNOWN,
            "reason": f"{len(rows)} requests, fewer than {min_requests}: too few to judge",
        }
    if answered and all(r.get("region") is None for r in answered):
        why = "no answer says which region served it (X-Served-By): not judged"
        return {**level, "valid": UNKNOWN, "reason": why}
    if elsewhere:
        problems.append(
            f"{level['served_elsewhere']} answers came from {', '.join(elsewhere)}, not {region}"
        )
    if level["error_rate"] > max_error_rate:
        problems.append(f"error rate {level['error_rate']:.2%} above {max_error_rate:.2%}")
    if level["p99_ms"] is None or level["p99_ms"] > max_p99_ms:
        problems.append(f"p99 {level['p99_ms']} ms above {max_p99_ms:g} ms")
    figures = f"{level['rps']} req/s, errors {level['error_rate']:.2%}, p99 {level['p99_ms']} ms"
    if problems:
        return {**level, "valid": False, "reason": f"{figures}: " + "; ".join(problems)}
    return {**level, "valid": True, "reason": f"{figures}: within the SLOs, all on {region}"}


def with_lag(level: dict[str, Any], lag: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A capacity level judged on replication lag too: each source's samples inside the level.

    `lag` is source -> `check.lag.in_windows` for this level. Carrying a
    load includes replicating it: a level whose lag broke its limit fails,
    and one where a source had no sample at all is not judged.
    """
    judged = {**level, "lag": lag}
    broken = [
        f"{source} lag {found['bad']} of {found['samples']} samples over its limit "
        f"(max {found['max_s']} s)"
        for source, found in lag.items()
        if found["valid"] is False
    ]
    blind = [source for source, found in lag.items() if found["valid"] == UNKNOWN]
    if broken:
        return {**judged, "valid": False, "reason": f"{level['reason']}; but " + "; ".join(broken)}
    if blind and level["valid"] is True:
        why = f"no {', '.join(blind)} lag sample in the level: not judged"
        return {**judged, "valid": UNKNOWN, "reason": f"{level['reason']}; but {why}"}
    return judged


def capacity(
    base: dict[str, Any], peak: dict[str, Any], multiple: float, min_offered: float = 0.8
) -> Result:
    """The capacity step: the normal peak (`base`) and `multiple` times it (`peak`), both carried.

    The peak level must really have offered `multiple` times the base's
    requests (at least `min_offered` of that): a second load that never
    started cannot pass for headroom. `headroom` is the throughput served
    without error at the peak level over the base's: 2.0 means the region
    served twice the normal peak.
    """
    name = "capacity"
    offered = peak["requests"] / base["requests"] if base.get("requests") else None
    headroom = peak["served_rps"] / base["served_rps"] if base.get("served_rps") else None
    details = {
        "levels": {"1x": base, f"{multiple:g}x": peak},
        "multiple": multiple,
        "offered_ratio": None if offered is None else round(offered, 2),
        "headroom": None if headroom is None else round(headroom, 2),
    }
    for label, level in (("1x", base), (f"{multiple:g}x", peak)):
        if level["valid"] is not True:
            valid = UNKNOWN if level["valid"] == UNKNOWN else False
            return Result(name, valid, details, f"{label} the normal peak: {level['reason']}")
    if offered is None or offered < multiple * min_offered:
        return Result(
            name,
            UNKNOWN,
            details,
            f"the {multiple:g}x level offered only {offered}x the peak's requests: not judged",
        )
    return Result(
        name,
        True,
        details,
        f"carried {multiple:g}x the normal peak within the SLOs: served {headroom:.2f}x "
        f"the peak's throughput ({peak['served_rps']} of {base['served_rps']} req/s), "
        f"p99 {peak['p99_ms']} ms of {peak['max_p99_ms']:g}",
    )


JOURNEY_STEPS = ("browse", "product", "cart", "checkout", "read_back", "same_key")


def journeys(runs: list[dict[str, Any]]) -> Result:
    """Every geo's journey passed every step; each failed step is named with its evidence.

    `runs` holds one journey per geo: `{"geo": ..., "steps": [{"step",
    "ok", "status", "region", "ms", "evidence"}, ...]}`. A journey that
    stopped at a failed step leaves the later steps not run, which fails.
    """
    name = "journeys"
    if not runs:
        return Result(name, UNKNOWN, {"journeys": []}, "no journey ran")
    failed = []
    for run in runs:
        done = {s["step"]: s for s in run.get("steps", [])}
        for step in JOURNEY_STEPS:
            if step not in done:
                failed.append(f"{run['geo']}: {step} not run")
                break
            if not done[step]["ok"]:
                failed.append(f"{run['geo']}: {step} failed ({done[step]['evidence']})")
                break
    details = {"journeys": runs, "failed": failed}
    geos = ", ".join(str(r["geo"]) for r in runs)
    if failed:
        return Result(name, False, details, "journey broke: " + "; ".join(failed))
    return Result(name, True, details, f"every step of every journey passed ({geos})")
