"""Database breakages: a failover that cannot happen, a replica that stops applying, lost orders.

Each `apply` returns what it touched and each `undo` puts it back from the
parameters and that record alone; an undo of something not broken (or
already mended) changes nothing.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import psycopg
import yaml

from aftershock.config.topology import PG_PORT, REGIONS, Topology
from aftershock.errors import SandboxError
from aftershock.sandbox import nft, postgres
from aftershock.sandbox.endpoints import connect, connect_node
from aftershock.sandbox.readiness import wait_until
from aftershock.sandbox.shop.schema import DATABASE
from aftershock.sandbox.state import load_credentials, registry

RECOVERY_CONFLICT_TRIES = 5


def failover_paused(topology: Topology, params: dict[str, Any]) -> dict[str, Any]:
    """Patroni in maintenance mode, as an operator may leave it: nothing fails over."""
    creds = load_credentials(topology)
    postgres.set_maintenance(topology, creds, paused=True)
    wait_until(
        "Patroni in maintenance mode",
        lambda: all(postgres.in_maintenance(topology, r) for r in REGIONS),
        10,
    )
    return {"paused": True}


def undo_failover_paused(topology: Topology, params: dict[str, Any], touched: dict) -> None:
    postgres.set_maintenance(topology, load_credentials(topology), paused=False)


def no_successor(topology: Topology, params: dict[str, Any]) -> dict[str, Any]:
    """`region`'s node tagged `nofailover`: the leader's only standby may never take over."""
    region = params.get("region", "tokyo")
    _nofailover(topology, region, True)
    return {"region": region}


def undo_no_successor(topology: Topology, params: dict[str, Any], touched: dict) -> None:
    _nofailover(topology, params.get("region", "tokyo"), False)


def _nofailover(topology: Topology, region: str, value: bool) -> None:
    """Patroni's `nofailover` tag on `region`: its config, then SIGHUP to reload it."""
    path = postgres.patroni_home(topology, region) / "patroni.yml"
    doc = yaml.safe_load(path.read_text())
    if bool((doc.get("tags") or {}).get("nofailover", False)) is value:
        return
    doc.setdefault("tags", {})["nofailover"] = value
    path.write_text(yaml.safe_dump(doc, sort_keys=False))  # in place: owner and mode kept
    os.kill(registry(topology).load()[f"patroni-{region}"].pid, signal.SIGHUP)
    wait_until(
        f"Patroni in {region} with nofailover={value}",
        lambda: (
            ((postgres.node_state(topology, region) or {}).get("tags") or {}).get(
                "nofailover", False
            )
            is value
        ),
        15,
    )


def slow_lease(topology: Topology, params: dict[str, Any]) -> dict[str, Any]:
    """A leader lease of `ttl_s` (40 s): a standby takes over, but after the 30 s claimed."""
    ttl = int(params.get("ttl_s", 40))
    postgres.patch_config(topology, load_credentials(topology), {"ttl": ttl})
    time.sleep(3)  # the leader renews its lease with the new ttl on its next loop
    return {"ttl": ttl}


def undo_slow_lease(topology: Topology, params: dict[str, Any], touched: dict) -> None:
    postgres.patch_config(topology, load_credentials(topology), {"ttl": postgres.TTL})


def replay_paused(topology: Topology, params: dict[str, Any]) -> dict[str, Any]:
    """`region`'s replica stops applying WAL (Patroni in maintenance, or it resumes it)."""
    region = params.get("region", "tokyo")
    creds = load_credentials(topology)
    postgres.set_maintenance(topology, creds, paused=True)
    wait_until("maintenance", lambda: postgres.in_maintenance(topology, region), 10)
    with connect_node(topology, region, creds) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
    return {"region": region}


def undo_replay_paused(topology: Topology, params: dict[str, Any], touched: dict) -> None:
    region = params.get("region", "tokyo")
    creds = load_credentials(topology)
    for attempt in range(RECOVERY_CONFLICT_TRIES):
        try:
            with connect_node(topology, region, creds) as conn:
                if conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,):
                    conn.execute("SELECT pg_wal_replay_resume()")
            break
        except psycopg.errors.SerializationFailure:
            # "canceling statement due to conflict with recovery": the replica cancels a
            # query whose snapshot replay must overrun (seen once in a drill). Ask again.
            if attempt == RECOVERY_CONFLICT_TRIES - 1:
                raise
            time.sleep(0.5)
    postgres.set_maintenance(topology, creds, paused=False)


def writer_read_only(topology: Topology, params: dict[str, Any]) -> dict[str, Any]:
    """The leader turns read-only (`default_transaction_read_only`): a primary that takes no write.

    As a disk-full guard or an operator's switch would leave it: Patroni
    still calls it the leader, no standby takes over, and no order can be
    taken anywhere.
    """
    region = params.get("region") or postgres.leader(topology)
    if region is None:
        raise SandboxError("no single leader to make read-only")
    with connect_node(topology, region, load_credentials(topology)) as conn:
        conn.execute("ALTER SYSTEM SET default_transaction_read_only = on")
        conn.execute("SELECT pg_reload_conf()")
    return {"region": region}


def undo_writer_read_only(topology: Topology, params: dict[str, Any], touched: dict) -> None:
    region = touched.get("region") or params.get("region")
    for site in [region] if region else list(REGIONS):
        with connect_node(topology, site, load_credentials(topology)) as conn:
            conn.execute("SET default_transaction_read_only = off")
            conn.execute("ALTER SYSTEM RESET default_transaction_read_only")
            conn.execute("SELECT pg_reload_conf()")


STARVED_TABLE = "aftershock_breakage_wal"


def wal_starved(topology: Topology, params: dict[str, Any]) -> dict[str, Any]:
    """The WAL stream from the leader to `region`'s replica squeezed to `kbytes_s` (a bad link).

    An nftables rate limit on the leader's replication traffic to the
    replica: under load the replica falls behind and stays behind.
    """
    region = params.get("region", "tokyo")
    rate = int(params.get("kbytes_s", 8))
    leader = postgres.leader(topology)
    if leader is None or leader == region:
        raise SandboxError(f"the WAL stream to {region} needs another region to lead")
    replica = topology.address(region)
    rules = f"""table inet {STARVED_TABLE} {{
    chain output {{
        type filter hook output priority -50; policy accept;
        ip daddr {replica} tcp sport {PG_PORT} limit rate over {rate} kbytes/second drop
    }}
}}
"""
    nft.apply(topology, leader, rules)
    return {"leader": leader, "region": region}


def undo_wal_starved(topology: Topology, params: dict[str, Any], touched: dict) -> None:
    for site in [touched["leader"]] if touched.get("leader") else list(REGIONS):
        nft.delete_table(topology, site, STARVED_TABLE)


MONITOR_TABLE = "aftershock_breakage_monitor"


def monitoring_refused(topology: Topology, params: dict[str, Any]) -> dict[str, Any]:
    """`region`'s PostgreSQL refuses every connection from outside the sandbox's sites.

    Replication between the sites goes on; a harness (or a monitoring
    system) in the root namespace can no longer ask the node anything.
    """
    region = params.get("region", "tokyo")
    rules = f"""table inet {MONITOR_TABLE} {{
    chain input {{
        type filter hook input priority -50; policy accept;
        ip saddr {topology.gateway} tcp dport {PG_PORT} reject with tcp reset
    }}
}}
"""
    nft.apply(topology, region, rules)
    return {"region": region}


def undo_monitoring_refused(topology: Topology, params: dict[str, Any], touched: dict) -> None:
    nft.delete_table(topology, params.get("region", "tokyo"), MONITOR_TABLE)


def phantom_stock(topology: Topology, params: dict[str, Any]) -> dict[str, Any]:
    """`units` appear in the stock of the first `products` products (a lost stock update)."""
    units, products = int(params.get("units", 5)), int(params.get("products", 3))
    with connect(topology, load_credentials(topology), dbname=DATABASE) as conn:
        conn.execute("UPDATE products SET stock = stock + %s WHERE id <= %s", (units, products))
    return {"units": units, "products": products}


def undo_phantom_stock(topology: Topology, params: dict[str, Any], touched: dict) -> None:
    if not touched:
        return  # never applied: nothing to take back
    with connect(topology, load_credentials(topology), dbname=DATABASE) as conn:
        conn.execute(
            "UPDATE products SET stock = greatest(0, stock - %s) WHERE id <= %s",
            (int(touched["units"]), int(touched["products"])),
        )


def sold_out(topology: Topology, params: dict[str, Any]) -> dict[str, Any]:
    """Every product sold out on the single writer: stock 0, stocked lowered to match.

    The books stay consistent (stocked = left + sold), so only the shoppers
    notice: every checkout is refused (409).
    """
    with connect(topology, load_credentials(topology), dbname=DATABASE) as conn:
        rows = conn.execute(
            "UPDATE products p SET stock = 0, stocked = p.stocked - old.stock"
            " FROM (SELECT id, stock FROM products FOR UPDATE) old"
            " WHERE p.id = old.id AND old.stock > 0 RETURNING p.id, old.stock"
        ).fetchall()
    return {"left": {str(pid): int(units) for pid, units in rows}}


def undo_sold_out(topology: Topology, params: dict[str, Any], touched: dict) -> None:
    left = touched.get("left") or {}
    if not left:
        return
    with connect(topology, load_credentials(topology), dbname=DATABASE) as conn, conn.transaction():
        for pid, units in left.items():
            conn.execute(
                "UPDATE products SET stock = stock + %s, stocked = stocked + %s WHERE id = %s",
                (units, units, int(pid)),
            )


def allotment_sold_out(topology: Topology, params: dict[str, Any]) -> dict[str, Any]:
    """ADR-037's delta design: `region`'s allotment of every product used up (allotted = sold).

    Consistent books again (stocked = the allotments' sum), and every
    checkout of that region's shoppers refused (409): the region is down
    for checkout, whatever the status code.
    """
    region = params.get("region", "tokyo")
    from aftershock.sandbox import pglogical

    with pglogical.connect_writer(topology, region, load_credentials(topology)) as conn:
        rows = conn.execute(
            "UPDATE stock_allotments a SET allotted = a.sold"
            " FROM (SELECT product_id, allotted FROM stock_allotments"
            "       WHERE region = %s FOR UPDATE) old"
            " WHERE a.region = %s AND a.product_id = old.product_id AND a.allotted > a.sold"
            " RETURNING a.product_id, old.allotted - a.sold",
            (region, region),
        ).fetchall()
    return {"region": region, "freed": {str(pid): int(units) for pid, units in rows}}


def undo_allotment_sold_out(topology: Topology, params: dict[str, Any], touched: dict) -> None:
    freed = touched.get("freed") or {}
    if not freed:
        return
    from aftershock.sandbox import pglogical

    region = touched["region"]
    creds = load_credentials(topology)
    with pglogical.connect_writer(topology, region, creds) as conn, conn.transaction():
        for pid, units in freed.items():
            conn.execute(
                "UPDATE stock_allotments SET allotted = allotted + %s"
                " WHERE region = %s AND product_id = %s",
                (units, region, int(pid)),
            )


def orders_lost(topology: Topology, params: dict[str, Any]) -> dict[str, Any]:
    """A job that deletes one committed order in `one_in` (100), at random, after its commit.

    The shopper was told the order was placed; later it is gone. The job's
    log names each order it deleted (`breakage-order-loss.log`).
    """
    from aftershock.breakages import daemons

    one_in = int(params.get("one_in", 100))
    arguments = [str(topology.state_root), topology.name, str(one_in)]
    if params.get("seed") is not None:
        arguments.append(str(int(params["seed"])))
    log = topology.log_path(f"{daemons.PREFIX}order-loss")
    started = log.stat().st_size if log.exists() else 0

    def ready() -> bool:
        return log.exists() and b"deleting one committed" in log.read_bytes()[started:]

    daemons.start(topology, "order-loss", "aftershock.breakages.order_loss", arguments, ready)
    return {"one_in": one_in, "log": str(log), "log_offset": started}


def undo_orders_lost(topology: Topology, params: dict[str, Any], touched: dict) -> None:
    from aftershock.breakages import daemons

    daemons.stop_daemon(topology, "order-loss")


def deleted_orders(topology: Topology) -> list[str]:
    """The idempotency keys the order-loss job set out to delete, as its log says (oldest first).

    A deletion whose commit a failover cut short may have landed or not: it is listed.
    """
    from aftershock.breakages import daemons

    log = topology.log_path(f"{daemons.PREFIX}order-loss")
    if not log.exists():
        return []
    lines = log.read_text(errors="replace").splitlines()
    return [line.split()[1] for line in lines if line.startswith("deleting ")]


DROP_REMOTE_PROFILES = """
CREATE OR REPLACE FUNCTION aftershock_drop_remote_profiles() RETURNS trigger
    LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
DROP TRIGGER IF EXISTS aftershock_profiles_drop_remote ON profiles;
CREATE TRIGGER aftershock_profiles_drop_remote BEFORE INSERT OR UPDATE ON profiles
    FOR EACH ROW EXECUTE FUNCTION aftershock_drop_remote_profiles();
ALTER TABLE profiles ENABLE REPLICA TRIGGER aftershock_profiles_drop_remote;
"""
MEND_REMOTE_PROFILES = """
DROP TRIGGER IF EXISTS aftershock_profiles_drop_remote ON profiles;
DROP FUNCTION IF EXISTS aftershock_drop_remote_profiles();
"""


def remote_profiles_dropped(topology: Topology, params: dict[str, Any]) -> dict[str, Any]:
    """ADR-037 multi-writer: each region's apply silently discards the other's profile writes.

    A replica trigger (it fires only for rows pglogical applies): local
    writes land, replicated ones vanish, and nothing reports an error.
    """
    from aftershock.sandbox import pglogical

    creds = load_credentials(topology)
    for region in REGIONS:
        with pglogical.connect_writer(topology, region, creds) as conn:
            conn.execute(DROP_REMOTE_PROFILES)
    return {"regions": list(REGIONS)}


def undo_remote_profiles_dropped(topology: Topology, params: dict[str, Any], touched: dict) -> None:
    from aftershock.sandbox import pglogical

    creds = load_credentials(topology)
    for region in REGIONS:
        with pglogical.connect_writer(topology, region, creds) as conn:
            conn.execute(MEND_REMOTE_PROFILES)
