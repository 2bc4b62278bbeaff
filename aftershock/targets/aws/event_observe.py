"""Read-only observations of the AWS event path: mirror lag, backlog, drain, total queue.

- mirror lag: the record's alarm metric (`events.mirror_lag_metric`) from
  CloudWatch, the newest datapoint per region; None when there is none.
- backlog: per direction, the source topic's end offsets against MirrorMaker
  2's mirrored topic in the other region (confluent-kafka), in messages.
- events: every key of each region's topic and mirrored topic, for the
  total-queue check. The fulfilment consumers' deliveries are the
  platform's own records and are not read here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aftershock.config.topology import REGIONS, other_region
from aftershock.targets.aws.events import events_of
from aftershock.targets.aws.kafka_reads import end_offsets, read_keys
from aftershock.targets.remote import Context

LAG_WINDOW = timedelta(minutes=5)
LAG_PERIOD = 60
FRESH = timedelta(seconds=2 * LAG_PERIOD)
DRAIN_POLL_S = 5.0
UNDO_RECENT_S = 3600.0  # heal_mirror_link may wait up to 30 min for MirrorMaker 2


def mirror_lag(ctx: Context) -> dict[str, Any]:
    """The newest datapoint of the mirror-lag metric per region (seconds); `max_seconds` of them.

    `max_seconds` is None when a region has no datapoint in the last five
    minutes: no figure is never read as no lag.
    """
    events = events_of(ctx)
    end = datetime.fromtimestamp(ctx.clock(), UTC).replace(microsecond=0)
    mirrors: dict[str, Any] = {}
    for name in events.regions:
        found = ctx.aws.call(
            "cloudwatch",
            ctx.target.region(name).aws_region,
            "get_metric_statistics",
            {
                "Namespace": events.lag_namespace,
                "MetricName": events.lag_metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in events.lag_dimensions.items()],
                "StartTime": end - LAG_WINDOW,
                "EndTime": end,
                "Period": LAG_PERIOD,
                "Statistics": ["Maximum"],
            },
        )
        points = sorted(found.get("Datapoints", []), key=lambda p: p["Timestamp"])
        # With MirrorMaker 2 stopped nothing is published: an old low reading is no figure.
        fresh = [p for p in points if p["Timestamp"] >= end - FRESH]
        mirrors[name] = {"seconds": float(fresh[-1]["Maximum"]) if fresh else None}
    values = [m["seconds"] for m in mirrors.values()]
    complete = bool(values) and all(v is not None for v in values)
    return {
        "mirrors": mirrors,
        "max_seconds": max(values) if complete else None,
        "max_messages": None,
        "source": f"cloudwatch {events.lag_namespace}/{events.lag_metric}",
    }


def mirror_backlog(ctx: Context) -> dict[str, Any]:
    """Messages each region's mirrored topic lacks of the other region's topic, now.

    End offsets, not keys: cheap enough to sample every second, and what
    `backlog_grows` judges is the change of this figure while MirrorMaker 2
    is stopped, which offsets that do not line up across clusters still show.
    """
    events = events_of(ctx)
    mirrors: dict[str, Any] = {}
    for region in REGIONS:
        source = other_region(region)
        here, there = events.region(region), events.region(source)
        source_end = sum(end_offsets(ctx, there, events.topic).values())
        mirror_end = sum(end_offsets(ctx, here, here.mirrormaker.mirrored_topic).values())
        mirrors[f"{region} <- {source}"] = {
            "messages": max(0, source_end - mirror_end),
            "source_end": source_end,
            "mirror_end": mirror_end,
        }
    return {"mirrors": mirrors, "max_messages": max(m["messages"] for m in mirrors.values())}


def backlog_sample(ctx: Context, watch_s: float = 10.0) -> dict[str, Any]:
    """One sample of what `probes.events.backlog_grows` watches (the dry run's view of it)."""
    return mirror_backlog(ctx)


def total_queue_reads(
    ctx: Context, drain_timeout_s: float = 60.0, prefix: str = ""
) -> dict[str, list[str | None]]:
    """The reads behind `probes.events.total_queue` (the dry run's view of them)."""
    return copies(ctx, prefix)


def drain(ctx: Context, budget_s: float = 300.0) -> dict[str, Any]:
    """From now until each region's mirrored topic holds every event its source held at the start.

    Judged by keys, not offsets: MirrorMaker 2 does not keep offsets, and
    copies at least once, so an end offset can pass its target while
    events are still missing.
    """
    events = events_of(ctx)
    # From when the newest undo began (MirrorMaker 2's restart is part of the drain).
    undos = [e.at for e in ctx.ledger.events() if e.event == "undo" and e.at <= ctx.clock()]
    began = max(undos) if undos and ctx.clock() - max(undos) < UNDO_RECENT_S else ctx.clock()
    wanted = {}
    for region in REGIONS:
        source = events.region(other_region(region))
        wanted[region] = {k for k, _ in read_keys(ctx, source, events.topic) if k is not None}
    if ctx.dry_run:
        ctx.log.note(f"wait up to {budget_s:.0f} s until every mirrored topic holds those keys")
        return {"valid": "unknown", "seconds": None, "reason": "a dry run drains nothing"}
    backlog = {region: len(keys) for region, keys in wanted.items()}
    while True:
        left = {}
        for region, keys in wanted.items():
            here = events.region(region)
            held = {k for k, _ in read_keys(ctx, here, here.mirrormaker.mirrored_topic)}
            if keys - held:
                left[region] = f"{len(keys - held)} events"
        elapsed = ctx.clock() - began
        if not left:
            return {"valid": True, "seconds": round(elapsed, 1), "budget_s": budget_s,
                    "backlog": backlog, "reason": f"drained in {elapsed:.0f} s"}  # fmt: skip
        if elapsed >= budget_s:
            reason = f"not drained within {budget_s:g} s: {left}"
            return {"valid": False, "seconds": None, "budget_s": budget_s, "backlog": backlog,
                    "left": left, "reason": reason}  # fmt: skip
        ctx.sleep(DRAIN_POLL_S)


def copies(ctx: Context, prefix: str, since: float = 0.0) -> dict[str, list[str | None]]:
    """Each region's copy of a run's events: its own topic and its mirrored topic.

    The run's events are those keyed with `prefix`, and those with no key
    written since `since` (the run's start).
    """
    events = events_of(ctx)
    found: dict[str, list[str | None]] = {}
    for region in REGIONS:
        cluster = events.region(region)
        read = read_keys(ctx, cluster, events.topic)
        read += read_keys(ctx, cluster, cluster.mirrormaker.mirrored_topic)
        found[region] = [
            k for k, at in read if (k.startswith(prefix) if k is not None else at >= since)
        ]
    return found
