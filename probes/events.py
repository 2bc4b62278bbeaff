"""Event probes: mirror lag, the drain after a heal, and the total-queue check.

Chaos Toolkit probes, read-only. The sandbox's brokers stand in for MSK and
MirrorMaker 2 (see `aftershock.sandbox.brokers`); every figure is read
from the brokers and the database themselves, never from the experiment's
own script.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from chaoslib.types import Configuration, Secrets

from aftershock.check.checkers import UNKNOWN
from aftershock.check.total_queue import total_queue as judge_total_queue
from aftershock.config.budgets import budgets
from aftershock.config.target import sandbox, target_name
from aftershock.errors import EvidenceMissing
from aftershock.load import history
from aftershock.load.runner import find_run
from aftershock.targets.dispatch import fault_ledger, local_sandbox

__all__ = ["backlog_grows", "drain", "mirror_lag", "mirror_lag_under_load", "total_queue"]

log = logging.getLogger("chaostoolkit")
POLL_S = 0.5
PROGRESS_S = 5.0


def mirror_lag(configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """How far each region's mirror of the other's order stream is behind, now.

    `max_seconds` is the age of the oldest event a mirror does not hold yet
    (0 when it holds all), `max_messages` the events it lacks; `valid` says
    whether `max_seconds` is within the record's mirror-lag alarm (10 s).
    A broker that does not answer is "could not look", never 0.
    """
    alarm = budgets(configuration).alarm_mirror_lag_s
    target = target_name(configuration)
    if target != "local":  # aws: the record's alarm metric (events.mirror_lag_metric)
        from aftershock.targets.drivers import observe

        found = observe(target, "mirror_lag", configuration)
        seconds = found["max_seconds"]
        # No datapoint is "could not look": unknown, never a lag within the alarm.
        valid = UNKNOWN if seconds is None else seconds <= alarm
        return {**found, "alarm_s": alarm, "valid": valid}
    topology = local_sandbox("mirror_lag", configuration)
    from aftershock.sandbox.event_reads import mirror_lag as read

    lag = read(topology)
    if lag.unreachable:
        where = "; ".join(f"{r}: {why}" for r, why in lag.unreachable.items())
        raise EvidenceMissing(f"could not look at the mirror lag: {where}")
    seconds = lag.max_seconds or 0.0
    return {**lag.as_dict(), "alarm_s": alarm, "valid": seconds <= alarm}


def _positions(configuration: Configuration) -> tuple[int, int]:
    """(events the sources hold, events their mirrors hold), both directions summed."""
    target = target_name(configuration)
    if target != "local":  # aws: topic end offsets against MirrorMaker 2's mirrored topics
        from aftershock.targets.drivers import observe

        found = observe(target, "mirror_backlog", configuration)["mirrors"].values()
        return sum(m["source_end"] for m in found), sum(m["mirror_end"] for m in found)
    found = mirror_lag(configuration=configuration)["mirrors"].values()
    return sum(m["source_last_seq"] for m in found), sum(m["mirror_last_seq"] for m in found)


def backlog_grows(
    watch_s: float = 10.0, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """While the mirror link is cut under load, is every new event held back?

    Samples, once a second for `watch_s` seconds, how many events the
    sources and their mirrors hold (both directions together). `valid` when
    the sources took events and the mirrors took none of them: the backlog
    grew by exactly what was published. A mirror that moved was not cut,
    and the drain measured after it would mean nothing. "unknown" when no
    event was published while watching: nothing could be held back.
    """
    watch_s = float(watch_s)
    samples = []
    deadline = time.time() + float(watch_s)
    while True:
        source, mirrored = _positions(configuration)
        samples.append({"t": round(time.time(), 3), "source": source, "mirrored": mirrored,
                        "messages": source - mirrored})  # fmt: skip
        if time.time() >= deadline:
            break
        time.sleep(1.0)
    published = samples[-1]["source"] - samples[0]["source"]
    passed = samples[-1]["mirrored"] - samples[0]["mirrored"]
    first, last = samples[0]["messages"], samples[-1]["messages"]
    if published == 0:
        reason = f"no event was published in {watch_s:g} s: nothing to hold back"
        return {"valid": UNKNOWN, "reason": reason, "samples": samples}
    if passed == 0:
        reason = f"all {published} new events held back: backlog {first} -> {last}"
        return {"valid": True, "reason": reason, "samples": samples}
    reason = (
        f"backlog did not grow as events came: {passed} of {published} new events reached "
        "the mirrors, the cut held nothing back"
    )
    return {"valid": False, "reason": reason, "samples": samples}


def drain(
    budget_s: float | None = None,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """From now (run it right after the heal) until every event of the backlog is everywhere.

    At its start it notes each region's outbox rows; the drain is over when
    the relays have published every noted row and then each region's
    mirror holds the other's stream up to its head at that moment. Judge
    `$.valid`: drained within `budget_s` (default: the record's 5 min
    reconciliation promise). `seconds` is the drain time; `backlog` what it
    started with. Logs its progress every 5 s.
    """
    budget = float(budget_s) if budget_s else budgets(configuration).promise_drain_s
    target = target_name(configuration)
    if target != "local":  # aws: each mirrored topic up to its source's end offsets at the start
        from aftershock.targets.drivers import observe

        return observe(target, "drain", configuration, budget_s=budget)
    topology = local_sandbox("drain", configuration)
    from aftershock.sandbox import event_reads

    began, since = _heal_time(configuration)
    outbox = _until(lambda: event_reads.outbox_backlog(topology), began + budget)
    lag = _until(lambda: _reachable(event_reads.mirror_lag(topology)), began + budget)
    if outbox is None or lag is None:
        return {"valid": UNKNOWN, "seconds": None, "budget_s": budget,
                "reason": "could not look: the brokers or the database did not answer"}  # fmt: skip
    backlog = {"outbox": outbox, "mirrors": lag.mirrors}
    heads: dict[str, int] | None = None
    next_line = began + PROGRESS_S
    while True:
        left = _outbox_left(topology, outbox)
        if not left:
            heads = heads or _all_known(event_reads.stream_heads(topology))
            left = _mirrors_left(topology, heads) if heads else {"brokers": "do not answer"}
        now = time.time()
        if not left:
            seconds = round(now - began, 2)
            log.info("drain: every region holds every event %.2f s after %s", seconds, since)
            reason = f"drained {seconds:.2f} s after {since}, within {budget:g} s"
            return {"valid": True, "seconds": seconds, "budget_s": budget, "backlog": backlog,
                    "from": since, "reason": reason}  # fmt: skip
        if now >= began + budget:
            return {"valid": False, "seconds": None, "budget_s": budget, "backlog": backlog,
                    "left": left, "reason": f"not drained within {budget:g} s: {left}"}  # fmt: skip
        if now >= next_line:
            log.info("drain: %.0f s, still behind: %s", now - began, left)
            next_line = now + PROGRESS_S
        time.sleep(POLL_S)


def mirror_lag_under_load(
    settle_s: float = 30.0,
    run_dir: str = "",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """The mirror-lag alarm (10 s) judged on every recorder sample under load (judge `$.valid`).

    The lag recorder samples the mirrors once a second. A mirror's figure
    is the age of the oldest event it lacks, so it looks back: a sample is
    left out when that age reaches into the window of a fault on the event
    path (from its injection to `settle_s` after its undo), never because a
    fault came after it. A sample that could not look counts against it.
    """
    from probes.replication import _judge_lag

    alarm = budgets(configuration).alarm_mirror_lag_s
    return _judge_lag("mirror", float(settle_s), alarm, run_dir, configuration)


def total_queue(
    drain_timeout_s: float = 60.0,
    run_dir: str = "",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Jepsen's total-queue check of the newest load run's order events, after a drain.

    Waits up to `drain_timeout_s` for every acknowledged order to have its
    event in each region's copy and its delivery in each region, then
    judges: `lost`, `duplicated`, `unexpected` and `recovered`, each
    counted and named by key, per region too. Judge `$.valid`. A region
    whose broker cannot be read makes it "unknown" (could not look).
    Refuses while the load still runs.
    """
    run = find_run(sandbox(configuration), run_dir)
    if run.live:
        raise EvidenceMissing(f"the load of {run.path} still runs: stop it before judging events")
    read = history.read(run.path / history.HISTORY_FILE)
    shape = history.operations(read.records)
    acked = {key for key, _ in history.acknowledged(shape)}
    since = min((float(r.get("t") or 0.0) for r in read.records), default=time.time())
    target = target_name(configuration)
    if target != "local":  # aws: both clusters' topics and mirrored topics (confluent-kafka)
        from aftershock.targets.drivers import observe

        deadline = time.time() + float(drain_timeout_s)
        while True:
            copies = observe(
                target, "event_copies", configuration, prefix=run.key_prefix, since=since
            )
            if all(acked <= set(keys) for keys in copies.values()) or time.time() >= deadline:
                break
            time.sleep(5.0)
        result = judge_total_queue(read.records, read.torn, copies, {})
        return {**result.as_dict(), "run_dir": str(run.path)}
    topology = local_sandbox("total_queue", configuration)
    from aftershock.sandbox import event_reads

    deadline = time.time() + float(drain_timeout_s)
    began = time.time()
    while True:
        copies, unreadable = event_reads.copies(topology, run.key_prefix, since)
        deliveries = event_reads.deliveries(topology, run.key_prefix, since)
        complete = not unreadable and all(
            acked <= set(copies[r]) and acked <= set(deliveries[r]) for r in copies
        )
        if complete or time.time() >= deadline:
            break
        time.sleep(1.0)
    waited = round(time.time() - began, 1)
    if unreadable:
        where = "; ".join(f"{r}: {why}" for r, why in unreadable.items())
        return {"checker": "total_queue", "valid": UNKNOWN, "waited_s": waited,
                "reason": f"could not look: {where}", "run_dir": str(run.path)}  # fmt: skip
    result = judge_total_queue(read.records, read.torn, copies, deliveries)
    return {**result.as_dict(), "waited_s": waited, "run_dir": str(run.path)}


def _outbox_left(topology: Any, outbox: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The noted outbox rows the relays have not published yet (empty: none)."""
    from aftershock.sandbox import event_reads

    left: dict[str, Any] = {}
    for region, noted in outbox.items():
        if not noted["rows"]:
            continue
        try:
            waiting = event_reads.outbox_rows_up_to(topology, region, noted["max_id"])
        except Exception as exc:  # noqa: BLE001 - a failed look means "not drained yet"
            left[f"outbox {region}"] = f"could not look: {type(exc).__name__}"
            continue
        if waiting:
            left[f"outbox {region}"] = f"{waiting} rows from before the heal"
    return left


def _mirrors_left(topology: Any, heads: dict[str, int]) -> dict[str, Any]:
    """The mirrors that do not hold their source up to `heads` yet (empty: none)."""
    from aftershock.sandbox import event_reads

    left: dict[str, Any] = {}
    try:
        lag = event_reads.mirror_lag(topology)
    except Exception as exc:  # noqa: BLE001 - a failed look means "not drained yet"
        return {"mirrors": f"could not look: {type(exc).__name__}: {exc}"}
    for region in lag.unreachable:
        left[f"broker-{region}"] = "does not answer"
    for name, mirror in lag.mirrors.items():
        source = name.split(" <- ")[1]
        if mirror["mirror_last_seq"] < heads[source]:
            left[name] = f"{heads[source] - mirror['mirror_last_seq']} events behind"
    return left


def _reachable(lag: Any) -> Any:
    return None if lag.unreachable else lag


def _heal_time(configuration: Configuration, recent_s: float = 60.0) -> tuple[float, str]:
    """When the drain starts: when the newest recent undo began (its heal if it logged no
    start), else now. From the start of the undo: a slow restore is part of the drain."""
    now = time.time()
    recent = [e for e in fault_ledger(configuration).events() if now - recent_s <= e.at <= now]
    undos = [e for e in recent if e.event == "undo"] or [e for e in recent if e.event == "heal"]
    if not undos:
        return now, "the probe's start"
    newest = max(undos, key=lambda e: e.at)
    return newest.at, f"the undo of {newest.fault}"


def _all_known(heads: dict[str, int | None]) -> dict[str, int] | None:
    if any(v is None for v in heads.values()):
        return None
    return {k: int(v) for k, v in heads.items() if v is not None}


def _until(look: Any, deadline: float) -> Any:
    """Call `look` until it returns something and does not raise, or the deadline passes."""
    while time.time() < deadline:
        try:
            found = look()
        except Exception:  # noqa: BLE001 - a failed look is retried until the deadline
            found = None
        if found is not None:
            return found
        time.sleep(POLL_S)
    return None
