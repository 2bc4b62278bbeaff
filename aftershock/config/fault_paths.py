"""Which replication paths each fault touches: the lag a fault may excuse, and no other.

The lag promises are judged under load, outside the windows of the faults
that touch *that* path only. A database failover excuses database lag; it
does not excuse a catalog cache that stopped replicating meanwhile, nor a
mirror that fell behind. A fault that touches no replication path (the DR
drill's failed health check) excuses none: replication lag at twice the
peak is judged while it holds.

- `database`: the leader's writes reaching each replica (or each writer's
  reaching the other);
- `cache`: the global catalog cache's copies, and the shops' reads of them
  (the stale-read samples go through each region's shop);
- `mirror`: each region's order events reaching the other region's mirror.
"""

from __future__ import annotations

DATABASE = "database"
CACHE = "cache"
MIRROR = "mirror"
PATHS = (DATABASE, CACHE, MIRROR)
_ALL = frozenset(PATHS)

TOUCHES: dict[str, frozenset[str]] = {
    # A region or the link between regions: every path crosses it.
    "isolate_region": _ALL,
    "crash_region": _ALL,
    "partition_regions": _ALL,
    "throttle_link": _ALL,
    "delay_link": _ALL,
    # The database alone.
    "kill_db_leader": frozenset({DATABASE}),
    "crash_db_leader": frozenset({DATABASE}),
    "stop_db_node": frozenset({DATABASE}),
    "switchover_db": frozenset({DATABASE}),
    "pause_replication_replay": frozenset({DATABASE}),
    # The catalog cache alone; a shop down also fails the stale reads through it.
    "kill_cache": frozenset({CACHE}),
    "pause_cache": frozenset({CACHE}),
    "fail_over_cache": frozenset({CACHE}),
    "kill_shop": frozenset({CACHE}),
    # The event path: a broker down or its link cut holds the mirrors back.
    "kill_broker": frozenset({MIRROR}),
    "pause_broker": frozenset({MIRROR}),
    "cut_mirror_link": frozenset({MIRROR}),
    # A stopped relay publishes nothing and a stalled consumer delivers nothing: the
    # mirrors lack no event of their sources, so no mirror lag is theirs to excuse.
    "stop_relay": frozenset(),
    "stall_consumer": frozenset(),
    # The router takes a healthy region for failed: every path still replicates.
    "fail_health_check": frozenset(),
}
"""Every fault (its injecting function's name) and the replication paths it touches."""


def touches(fault: str, path: str) -> bool:
    """Does `fault` touch replication `path`? A fault this table does not know touches all.

    Unknown faults excuse every path: better a window left out than a
    fault's own lag failing a promise. A test keeps the table complete.
    """
    if path not in PATHS:
        raise ValueError(f"unknown replication path {path!r} (one of {', '.join(PATHS)})")
    return path in TOUCHES.get(fault, _ALL)
