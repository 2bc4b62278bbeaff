"""Every breakage the library has: the promise it breaks, how, and its apply and undo."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aftershock.breakages import cache, database, edge, events, network, shop
from aftershock.config.topology import Topology

Apply = Callable[[Topology, dict[str, Any]], dict[str, Any]]
Undo = Callable[[Topology, dict[str, Any], dict[str, Any]], None]


@dataclass(frozen=True)
class Breakage:
    """One platform defect: what promise it breaks, by what mechanism, and how to mend it."""

    name: str
    promise: str
    mechanism: str
    apply: Apply
    undo: Undo
    defaults: dict[str, Any] = field(default_factory=dict)

    def params(self, given: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(given) - set(self.defaults))
        if unknown:
            known = ", ".join(sorted(self.defaults)) or "none"
            raise ValueError(
                f"breakage {self.name} takes no {', '.join(unknown)} (it takes {known})"
            )
        return {**self.defaults, **given}


def _shop(name: str, promise: str, mechanism: str, region: str, **knobs: Any) -> Breakage:
    return Breakage(
        name, promise, mechanism, shop.settings, shop.undo_settings, {"region": region, **knobs}
    )


BREAKAGES = (
    # failover (RTO)
    Breakage("failover_paused", "failover", "Patroni left in maintenance mode",
             database.failover_paused, database.undo_failover_paused),
    Breakage("no_successor", "failover", "the only standby tagged nofailover",
             database.no_successor, database.undo_no_successor, {"region": "tokyo"}),
    Breakage("slow_lease", "failover", "a 40 s leader lease: the takeover comes late",
             database.slow_lease, database.undo_slow_lease, {"ttl_s": 40}),
    Breakage("writer_read_only", "failover", "the leader switched read-only: no writer at all",
             database.writer_read_only, database.undo_writer_read_only, {"region": None}),
    Breakage("sorry_page", "failover", "the router answers 200 itself when a region is down",
             edge.sorry_page, edge.undo_sorry_page, {"region": "taiwan"}),
    Breakage("never_readmitted", "failover", "the router checks a region on a closed port",
             edge.never_readmitted, edge.undo_never_readmitted, {"region": "taiwan"}),
    Breakage("shop_frozen", "failover", "a region's shop hangs (SIGSTOP)",
             shop.frozen, shop.undo_frozen, {"region": "taiwan"}),
    # zero order loss, no oversell
    Breakage("orders_lost", "orders", "a job deletes one committed order in N",
             database.orders_lost, database.undo_orders_lost, {"one_in": 100, "seed": None}),
    Breakage("phantom_stock", "stock", "units added to stock that nobody received",
             database.phantom_stock, database.undo_phantom_stock, {"units": 5, "products": 3}),
    Breakage("sold_out", "availability", "every product sold out (stock 0, books consistent)",
             database.sold_out, database.undo_sold_out),
    Breakage("allotment_sold_out", "availability",
             "ADR-037 delta: a region's allotments used up (allotted = sold)",
             database.allotment_sold_out, database.undo_allotment_sold_out, {"region": "tokyo"}),
    Breakage("remote_profiles_dropped", "updates",
             "ADR-037: each region's apply discards the other's profile writes",
             database.remote_profiles_dropped, database.undo_remote_profiles_dropped),
    # replication lag: database
    Breakage("replay_paused", "lag", "a replica stops applying WAL",
             database.replay_paused, database.undo_replay_paused, {"region": "tokyo"}),
    Breakage("wal_starved", "lag", "the WAL stream rate-limited on the wire (nftables)",
             database.wal_starved, database.undo_wal_starved, {"region": "tokyo", "kbytes_s": 8}),
    Breakage("monitoring_refused", "lag", "a replica refuses every connection from outside",
             database.monitoring_refused, database.undo_monitoring_refused, {"region": "tokyo"}),
    # replication lag: catalog cache
    Breakage("replica_detached", "cache", "a catalog copy cut loose (REPLICAOF NO ONE)",
             cache.replica_detached, cache.undo_replica_detached, {"region": "tokyo"}),
    Breakage("follow_refused", "cache", "a catalog copy with a wrong replication password",
             cache.follow_refused, cache.undo_follow_refused, {"region": "taiwan"}),
    Breakage("shop_cut_off", "cache", "a shop cannot reach the other region's catalog copy",
             cache.shop_cut_off, cache.undo_shop_cut_off, {"region": "taiwan"}),
    _shop("stale_catalog", "cache", "a shop serves products from its own stale copy", "tokyo",
          catalog_stale_s=30.0),
    # replication lag: event mirrors, and the events themselves
    Breakage("mirror_link_blocked", "events", "the brokers' link drops every packet",
             events.mirror_link_blocked, events.undo_mirror_link_blocked),
    Breakage("retention_cut", "events", "a region's copy of the events kept for 1 s only",
             events.retention_cut, events.undo_retention_cut,
             {"region": "tokyo", "max_age_s": 1.0}),
    Breakage("relay_killed", "events", "an outbox relay SIGKILLed",
             events.relay_killed, events.undo_relay_killed, {"region": "taiwan"}),
    Breakage("consumer_frozen", "events", "a fulfilment consumer frozen (SIGSTOP)",
             events.consumer_frozen, events.undo_consumer_frozen, {"region": "taiwan"}),
    # partitions that do not partition
    Breakage("transit", "partition", "inter-region traffic relayed through the witness",
             network.transit, network.undo_transit, {"dialer": "tokyo", "ports": [7422]}),
    # the evidence itself
    Breakage("load_frozen", "evidence", "the load generator frozen (SIGSTOP)",
             shop.load_frozen, shop.undo_load_frozen),
    # availability, latency, split
    _shop("shedding", "availability", "a region sheds what it cannot serve (503)", "tokyo",
          capacity_rps=1.0),
    _shop("checkout_off", "availability", "a region's checkout switched off (503)", "tokyo",
          checkout_enabled=False),
    _shop("slow_region", "latency", "every answer of a region waits", "tokyo", latency_ms=600.0),
    Breakage("geo_ignored", "split", "the router sends a geo's customers to the other region",
             edge.geo_ignored, edge.undo_geo_ignored, {"geo": "jp"}),
)  # fmt: skip

CATALOG: dict[str, Breakage] = {b.name: b for b in BREAKAGES}
"""Every breakage by name."""


def get(name: str) -> Breakage:
    """The breakage `name`; a one-line error naming the known ones otherwise."""
    if name not in CATALOG:
        raise KeyError(f"no breakage {name!r}: one of {', '.join(sorted(CATALOG))}")
    return CATALOG[name]


__all__ = ["BREAKAGES", "CATALOG", "Breakage", "get"]
