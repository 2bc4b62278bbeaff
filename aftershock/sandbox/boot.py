"""The boot sequence of a sandbox, component by component, with progress."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from aftershock.config.topology import REGIONS, SITES, Topology
from aftershock.sandbox import (
    brokers,
    cache,
    catalog_cache,
    etcd,
    event_streams,
    eventing,
    haproxy,
    network,
    pglogical,
    postgres,
    shops,
    writers,
)
from aftershock.sandbox.credentials import write_private
from aftershock.sandbox.endpoints import (
    connect,
    connect_node,
    node_answers,
    pgpass_text,
    writable,
)
from aftershock.sandbox.options import SandboxOptions
from aftershock.sandbox.processes import DaemonSpec, spawn
from aftershock.sandbox.readiness import wait_until
from aftershock.sandbox.shop import schema
from aftershock.sandbox.state import Report, load_credentials, registry

BOOT_TIMEOUT = 60.0


class Boot:
    """One `up` in progress: starts daemons, records them, watches them."""

    def __init__(self, topology: Topology, report: Report) -> None:
        self.topology = topology
        self.report = report
        self.registry = registry(topology)
        self.procs: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}

    def start(self, spec: DaemonSpec) -> None:
        proc, running = spawn(spec)
        self.registry.add(running)
        self.procs[spec.name] = (proc, spec.log)
        self.report(spec.name, f"started (pid {proc.pid})")

    def wait(self, component: str, check: Callable[[], bool], *watched: str) -> None:
        watch = {name: self.procs[name] for name in watched}
        took = wait_until(component, check, BOOT_TIMEOUT, watch)
        self.report(component, f"ready in {took:.1f} s")

    def step(self, component: str, action: Callable[[], object]) -> None:
        began = time.monotonic()
        action()
        self.report(component, f"done in {time.monotonic() - began:.1f} s")


def boot(topology: Topology, options: SandboxOptions, report: Report) -> None:
    """Start every component in dependency order; raises on the first failure."""
    if options.multi_writer:
        writers.require_pglogical()
    creds = load_credentials(topology)
    write_private(topology.state_dir / "pgpass", pgpass_text(topology, creds))
    run = Boot(topology, report)
    run.step("network", lambda: network.create(topology))

    for site in SITES:
        run.start(etcd.spec(topology, site))
    for region in REGIONS:
        run.start(cache.spec(topology, region, creds))
        run.start(catalog_cache.spec(topology, region, creds))
        run.start(brokers.spec(topology, region, creds))
    run.start(haproxy.spec(topology, haproxy.edge_blocks(topology, options.checks)))
    if options.multi_writer:  # no Patroni, so nothing waits for etcd: initdb meanwhile
        _start_writers(run, options)

    run.wait("etcd", lambda: all(etcd.healthy(topology, s) for s in SITES), "etcd-taiwan",
             "etcd-tokyo", "etcd-witness")  # fmt: skip
    if not options.multi_writer:
        run.start(postgres.spec(topology, "taiwan", creds, options.replication))
    for region in REGIONS:
        healthy = lambda r=region: cache.healthy(topology, r, creds)  # noqa: E731
        run.wait(f"redis-{region}", healthy, f"redis-{region}")
        linked = lambda r=region: catalog_cache.healthy(topology, r, creds)  # noqa: E731
        run.wait(f"catalog-{region}", linked, f"catalog-{region}")
    for region in REGIONS:
        broker = lambda r=region: brokers.healthy(topology, r)  # noqa: E731
        run.wait(f"broker-{region}", broker, f"broker-{region}")
    run.wait("mirror link", lambda: brokers.linked(topology), "broker-taiwan", "broker-tokyo")
    run.step("order streams and mirrors", lambda: event_streams.create_streams(topology, creds))
    if options.multi_writer:
        _link_writers(run, options)
    else:
        _start_single_writer(run, options)
    unprivileged = shops.runs_unprivileged()
    if not unprivileged:
        report("shop", "runs as root: this checkout is not readable by `nobody`")
    for region in REGIONS:
        run.start(shops.spec(topology, region, creds, options, unprivileged))
        for role in eventing.ROLES:
            run.start(
                eventing.spec(topology, region, role, creds, unprivileged, options.multi_writer)
            )

    if not options.multi_writer:
        replica_check = "sync" if options.replication == "sync" else "replica"
        standby = lambda: postgres.role_check(topology, "tokyo", replica_check)  # noqa: E731
        run.wait(f"patroni-tokyo ({replica_check})", standby, "patroni-tokyo")
    for region in REGIONS:
        shop_ready = lambda r=region: shops.ready(topology, r)  # noqa: E731
        run.wait(f"shop-{region}", shop_ready, f"shop-{region}")
        relaying = lambda r=region: eventing.connected(topology, r, "relay")  # noqa: E731
        run.wait(f"relay-{region}", relaying, f"relay-{region}")
        consuming = lambda r=region: eventing.consuming(topology, r)  # noqa: E731
        run.wait(f"fulfil-{region}", consuming, f"fulfil-{region}")
    run.wait("edge", lambda: _edge_serves_both_regions(topology), "haproxy")


def _start_single_writer(run: Boot, options: SandboxOptions) -> None:
    """Patroni: taiwan's node wins the initialize race, tokyo clones it; the shop database."""
    topology, creds = run.topology, load_credentials(run.topology)
    primary = lambda: postgres.role_check(topology, "taiwan", "primary")  # noqa: E731
    run.wait("patroni-taiwan", primary, "patroni-taiwan")
    run.start(postgres.spec(topology, "tokyo", creds, options.replication))
    run.wait("write endpoint", lambda: writable(topology, creds), "haproxy", "patroni-taiwan")

    def create_shop_database() -> None:
        with connect(topology, creds) as admin:
            schema.create(admin, creds.shop)
        with connect(topology, creds, dbname=schema.DATABASE, as_shop=True) as conn:
            schema.seed(conn, options.products, options.stock)

    run.step(f"shop database ({options.products} products)", create_shop_database)


def _start_writers(run: Boot, options: SandboxOptions) -> None:
    """ADR-037: a fresh cluster per region, both started at once."""
    topology, creds = run.topology, load_credentials(run.topology)
    run.step("initdb (both writers)", lambda: writers.initdb_all(topology, creds))
    for region in REGIONS:
        run.start(writers.spec(topology, region))


def _link_writers(run: Boot, options: SandboxOptions) -> None:
    """The shop database on each writer, seeded alike, then pglogical both ways, proven."""
    topology, creds = run.topology, load_credentials(run.topology)
    for region in REGIONS:
        answers = lambda r=region: node_answers(topology, r, creds)  # noqa: E731
        run.wait(f"postgres-{region}", answers, f"postgres-{region}")

    def create_shop_databases() -> None:
        for index, region in enumerate(REGIONS):
            with connect_node(topology, region, creds) as admin:
                schema.create(admin, creds.shop)
            with pglogical.connect_writer(topology, region, creds) as conn:
                conn.execute(f"SET ROLE {schema.ROLE}")
                schema.seed(conn, options.products, options.stock, (index, len(REGIONS)))

    run.step(f"shop databases ({options.products} products each)", create_shop_databases)
    min_stock = options.inventory == "min"
    run.step("pglogical nodes", lambda: pglogical.create_nodes(topology, creds, min_stock))
    run.step("subscriptions both ways", lambda: pglogical.subscribe(topology, creds))
    run.wait("replicating", lambda: pglogical.replicating(topology, creds),
             "postgres-taiwan", "postgres-tokyo")  # fmt: skip
    for region in REGIONS:
        crossed = lambda r=region: pglogical.crossed(topology, creds, r, 2.0)  # noqa: E731
        run.wait(f"a write from {region} crossed", crossed, "postgres-taiwan", "postgres-tokyo")


def _edge_serves_both_regions(topology: Topology) -> bool:
    states = haproxy.server_states(topology)
    return all(states.get((f"shop-{r}", r)) == "UP" for r in REGIONS)
