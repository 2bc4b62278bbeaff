"""The DR drill's probes: traffic moved and back, the region kept running, capacity, journeys.

Chaos Toolkit probes, read-only towards the platform (the capacity step
adds load, as the drill's script does). The drill's fault is
`fail_health_check`: the router takes a healthy region for failed. The
method probes hold the drill at a step until the platform has done what
the step waits for (or a budget is spent); the verdicts judge the figures.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from chaoslib.types import Configuration, Secrets

from aftershock.check import checkers, drill, lag, phases
from aftershock.config.budgets import budgets
from aftershock.config.target import sandbox, target_name
from aftershock.load import history
from aftershock.load import journeys as journey_client
from aftershock.load.runner import (
    RUN_SETTINGS,
    LoadSettings,
    added_registry,
    find_run,
    launch,
    record_exit,
    stop,
)
from aftershock.load.runs import LAG_FILE
from aftershock.targets.dispatch import fault_ledger

__all__ = [
    "capacity",
    "capacity_orders",
    "hold_until_moved",
    "hold_until_returned",
    "journeys",
    "region_kept_running",
]

log = logging.getLogger("chaostoolkit")
FAULT = "fail_health_check"
POLL_S = 0.5
PROGRESS_S = 5.0


def hold_until_moved(
    away_from: str = "taiwan",
    budget_s: float = 60.0,
    min_s: float = 5.0,
    claim: str = "region",
    sustain_s: float = phases.SUSTAIN_S,
    run_dir: str = "",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Step 2: hold the failed health check until the traffic left `away_from`; the drill's RTO.

    Moved means answered without error by another region, sustained for
    `sustain_s`; a request `away_from` still answered is not moved, so a
    router that ignored the failed check cannot pass for a failover nobody
    noticed. Holds at least `min_s`, logs its progress every 5 s, and gives
    up after `budget_s`. The RTO is judged over this step alone (step 3
    overloads on purpose) against the promise (`$.promise.valid`, 300 s)
    and the design claim for a `claim` failure (`$.claim.valid`, 30 s).
    """
    book = fault_ledger(configuration)
    began = book.newest_injection(FAULT)
    if book.healed(began) is not None:  # an older drill's, undone: step 1 did not take
        why = f"no {FAULT} is in force: step 1 did not fail the health check"
        return {"valid": checkers.UNKNOWN, "fault": began.fault, "reason": why}
    path = find_run(sandbox(configuration), run_dir).path / history.TIMELINE_FILE

    def judge() -> checkers.Result:
        timeline = history.read(path).records
        return drill.moved(timeline, began.at, None, away_from, float(sustain_s))

    held = _hold(judge, began.at, float(budget_s), float(min_s), f"traffic off {away_from}")
    limits = budgets(configuration)
    judged = {
        "promise": _within(held, limits.promise_rto_s),
        "claim": {"kind": claim, **_within(held, limits.claim_s(claim))},
    }
    reason = held["reason"]
    if held["valid"] is True:
        reason += f"; the promise: {judged['promise']['reason']}; the {claim} design claim: "
        reason += judged["claim"]["reason"]
    return {**held, **judged, "reason": reason, "fault": began.fault, "fault_start": began.at,
            "away_from": away_from, "target_s": limits.promise_rto_s}  # fmt: skip


def _within(held: dict[str, Any], target_s: float) -> dict[str, Any]:
    """A hold's RTO against `target_s`: met, missed, or not known.

    Not known when the evidence straddles the target, or when the hold gave
    up before the target was reached (a 45 s hold cannot fail a 300 s
    promise: the drill's hold budget should be the promise).
    """
    if held["valid"] is not True:
        valid = held["valid"]
        reason = held["reason"]
        if valid is False and float(held.get("held_s") or 0.0) < target_s:
            valid = checkers.UNKNOWN
            reason = f"not judged: the hold gave up after {held.get('held_s')} s; {reason}"
        return {"target_s": target_s, "valid": valid, "reason": reason}
    valid = phases.within(held.get("seconds"), held.get("at_least"), target_s)
    verb = {True: "within", False: "beyond"}.get(valid, "perhaps within")  # type: ignore[arg-type]
    return {"target_s": target_s, "valid": valid, "reason": f"{verb} {target_s:g} s"}


def region_kept_running(
    region: str = "taiwan", configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Step 2: the failed region still runs while the router keeps traffic away (judge `$.valid`).

    Sandbox: every registered daemon of the region is alive, its shop
    answers readiness directly, and the edge holds it down. aws, k8s: the
    region's own endpoint answers its readiness check.
    """
    target = target_name(configuration)
    if target != "local":
        from aftershock.targets.drivers import observe

        # The same two facts as in the sandbox: the region's own endpoint answers
        # (it runs), and the router holds it down (the failed check is in force).
        ready = observe(target, "region_ready", configuration, region=region)
        answers = (ready.get("shop") or {}).get("status") == 200
        held = ready.get("edge") == "DOWN"
        problems = [] if answers else [f"{region}'s endpoint does not answer readiness with 200"]
        problems += [] if held else [f"the router has {region} {ready.get('edge')}, not DOWN"]
        running = f"{region}'s endpoint ready, the router holding it down"
        return {"valid": not problems, "region": region, "ready": ready,
                "shop_ready": answers, "edge": ready.get("edge"),
                "reason": "; ".join(problems) or running}  # fmt: skip
    from aftershock.targets.dispatch import local_sandbox
    from aftershock.targets.local.health_check import kept_running

    return kept_running(local_sandbox("region_kept_running", configuration), region)


def capacity(
    region: str = "tokyo",
    multiple: float = 2.0,
    seconds: float = 15.0,
    max_p99_ms: float = 500.0,
    max_error_rate: float = 0.01,
    run_dir: str = "",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Step 3: `region` alone carries the normal peak, then `multiple` times it (judge `$.valid`).

    The normal peak is the drill's own production-shaped load, all of it on
    `region` now. It is measured for `seconds`; then a second Locust adds
    (`multiple` - 1) times its users and the sum is measured for as long.
    Each level is judged on who answered, its error rate and its p99
    latency; `headroom` is the throughput served at the top level over the
    normal peak's.
    """
    multiple = float(multiple)
    seconds = float(seconds)
    max_p99_ms = float(max_p99_ms)
    max_error_rate = float(max_error_rate)
    seconds, multiple = float(seconds), float(multiple)
    run = find_run(sandbox(configuration), run_dir)
    settings = json.loads((run.path / RUN_SETTINGS).read_text())
    main = run.path / history.TIMELINE_FILE
    start = time.time()
    log.info("capacity: measuring the normal peak on %s for %g s", region, seconds)
    time.sleep(float(seconds))
    base = drill.capacity_level(
        history.read(main).records,
        start,
        start + float(seconds),
        region,
        float(max_p99_ms),
        float(max_error_rate),
    )
    log.info("capacity: 1x %s", base["reason"])
    extra_users = max(1, round(int(settings["users"]) * (float(multiple) - 1.0)))
    extra_dir = run.path.parent / f"capacity-{float(multiple):g}x"
    peak_start, extra = _added_load(configuration, settings, extra_users, extra_dir, seconds)
    timeline = history.read(main).records + extra
    peak = drill.capacity_level(
        timeline,
        peak_start,
        peak_start + float(seconds),
        region,
        float(max_p99_ms),
        float(max_error_rate),
    )
    base, peak = _with_lag(
        run.path, configuration, base, peak, {"1x": start, f"{multiple:g}x": peak_start}, seconds
    )
    log.info("capacity: %gx %s", multiple, peak["reason"])
    result = checkers.checked("capacity", drill.capacity, base, peak, float(multiple))
    return {**result.as_dict(), "region": region, "added_load": str(extra_dir)}


def _with_lag(
    run_dir: Path,
    configuration: Configuration,
    base: dict[str, Any],
    peak: dict[str, Any],
    starts: dict[str, float],
    seconds: float,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both levels judged on every source of replication lag the recorder sampled in them."""
    records = history.read(run_dir / LAG_FILE).records
    windows = {label: (at, at + seconds) for label, at in starts.items()}
    limits = {"database": lag.LIMIT_S, "cache": lag.LIMIT_S,
              "mirror": budgets(configuration).alarm_mirror_lag_s}  # fmt: skip
    found = {
        source: lag.in_windows(lag.samples_of(records, source), windows, limit)
        for source, limit in limits.items()
    }
    base_label, peak_label = list(windows)
    return (
        drill.with_lag(base, {s: levels[base_label] for s, levels in found.items()}),
        drill.with_lag(peak, {s: levels[peak_label] for s, levels in found.items()}),
    )


def capacity_orders(
    multiple: float = 2.0, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Zero order loss at `multiple` times the peak: step 3's added load against the database.

    The same set check as `probes.orders.integrity`, on the checkouts the
    added load made while tokyo was at its busiest (judge `$.valid`).
    """
    from probes.orders import integrity

    run = find_run(sandbox(configuration))
    added = run.path.parent / f"capacity-{float(multiple):g}x"
    return integrity(run_dir=str(added), configuration=configuration)


def _added_load(
    configuration: Configuration,
    settings: dict[str, Any],
    users: int,
    run_dir: Path,
    seconds: float,
) -> tuple[float, list[dict[str, Any]]]:
    """Run `users` more shoppers like the drill's own; return when the level began and its requests.

    Its own registry: the drill's load is never stopped by it, and a stop
    of this one (or the drill's rollbacks) finds it by PID, not by name.
    """
    topology = sandbox(configuration)
    registry = added_registry(topology)
    spawn_rate = float(settings.get("spawn_rate") or users)
    ramp_s = users / spawn_rate + 2.0
    load = LoadSettings(
        host=str(settings["host"]),
        run_dir=run_dir,
        users=users,
        spawn_rate=spawn_rate,
        duration=ramp_s + float(seconds) + 2.0,
        products=int(settings.get("products", 1000)),
    )
    load = replace(load, resubmit_share=0.0)
    _, process = launch(load, registry)
    try:
        time.sleep(ramp_s)
        began = time.time()
        log.info("capacity: %d more shoppers on, measuring for %g s", users, seconds)
        time.sleep(float(seconds))
    finally:
        stop(registry)
        record_exit(run_dir, process.wait())
    return began, history.read(run_dir / history.TIMELINE_FILE).records


def journeys(
    geos: list[str] | None = None,
    run_dir: str = "",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Step 4: a scripted shopper per customer geo through every critical step (judge `$.valid`).

    browse, product, cart, checkout, read the order back, the same key
    again; each step passes or fails with its evidence (status, region
    that answered, latency, the answer).
    """
    run = find_run(sandbox(configuration), run_dir)
    host = str(json.loads((run.path / RUN_SETTINGS).read_text())["host"])
    runs = [journey_client.journey(host, geo) for geo in (geos or ["TW", "JP"])]
    result = checkers.checked("journeys", drill.journeys, runs)
    for line in result.details.get("failed", []) or [result.reason]:
        log.info("journeys: %s", line)
    return result.as_dict()


def hold_until_returned(
    region: str = "taiwan",
    geo: str = "TW",
    budget_s: float = 60.0,
    sustain_s: float = phases.SUSTAIN_S,
    run_dir: str = "",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Step 5: after the health check is restored, wait until `geo` is served by `region` again.

    The failback: from the restore until `geo`'s requests are answered by
    their home region, sustained for `sustain_s` (judge `$.valid`; `seconds`
    is the figure). The restore only lets the router judge the region
    again: it is the router's own checks that bring it back.
    """
    book = fault_ledger(configuration)
    began = book.newest_injection(FAULT)
    undo_at = book.undo_began(began)
    if undo_at is None:
        return {
            "valid": False,
            "region": region,
            "geo": geo,
            "reason": f"{FAULT} {region} was never restored: no failback to measure",
        }
    path = find_run(sandbox(configuration), run_dir).path / history.TIMELINE_FILE

    def judge() -> checkers.Result:
        timeline = history.read(path).records
        return drill.returned(timeline, undo_at, region, geo, None, float(sustain_s))

    return _hold(judge, undo_at, float(budget_s), 0.0, f"{geo} back on {region}")


def _hold(judge: Any, since: float, budget_s: float, min_s: float, what: str) -> dict[str, Any]:
    """Poll `judge` until it is valid (after `min_s`) or `budget_s` from `since` passed."""
    next_line = time.time() + PROGRESS_S
    while True:
        now = time.time()
        result = judge()
        held = now - since
        if result.valid is True and held >= min_s:
            log.info("hold: %s after %.1f s (%s)", what, held, result.reason)
            return {**result.as_dict(), "valid": True, "held_s": round(held, 1)}
        if now >= since + budget_s:
            log.warning("hold: not %s within the %g s budget", what, budget_s)
            return {
                **result.as_dict(),
                "valid": False,
                "held_s": round(held, 1),
                "reason": f"not {what} within {budget_s:g} s: {result.reason}",
            }
        if now >= next_line:
            log.info("hold: waiting for %s, %.0f s so far, %s", what, held, result.reason)
            next_line = now + PROGRESS_S
        time.sleep(POLL_S)
