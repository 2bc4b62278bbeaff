"""Global catalog cache probes: which copy leads, replication lag, stale reads after an update.

Chaos Toolkit probes. The keys they write are the measurement's own (a
heartbeat key, and a marked copy of one product's cache entry that is
deleted afterwards so the next read loads it from the database again).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import redis
from chaoslib.types import Configuration, Secrets

from aftershock.config.target import target_name
from aftershock.config.topology import REGIONS
from aftershock.errors import EvidenceMissing
from aftershock.sandbox import catalog_cache
from aftershock.sandbox.shop.global_cache import writer_name
from aftershock.sandbox.state import load_credentials
from aftershock.targets.dispatch import local_sandbox

__all__ = [
    "cache_lag",
    "cache_primary",
    "stale_read_sample",
    "stale_reads",
    "writes_follow_primary",
]

HEARTBEAT_KEY = "aftershock:heartbeat"
LIMIT_S = 1.0
POLL_S = 0.005


def cache_primary(configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """Which region's copy of the catalog cache takes writes now, each copy asked directly.

    `primary` is None when no copy or more than one says it is the primary;
    `roles` has each copy's answer. Run it while a cache failover holds and
    judge `$.primary` with a verdict.
    """
    target = target_name(configuration)
    if target != "local":  # aws: the Global Datastore's members and their roles
        from aftershock.targets.drivers import observe

        return observe(target, "cache_primary", configuration)
    topology = local_sandbox("cache_primary", configuration)
    creds = load_credentials(topology)
    roles: dict[str, str] = {}
    for region in REGIONS:
        info = catalog_cache.replication(topology, region, creds)
        if info is None:
            raise EvidenceMissing(f"could not look: the {region} catalog cache does not answer")
        roles[region] = str(info.get("role"))
    masters = [r for r, role in roles.items() if role == "master"]
    return {"primary": masters[0] if len(masters) == 1 else None, "roles": roles}


def cache_lag(
    timeout: float = 5.0, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Seconds until a heartbeat written to the primary copy is readable on the replica.

    `seconds` (capped at `timeout`, with `capped`), `valid` when within
    1 s, and the replication offsets as a cross-check. Could not look when
    a copy does not answer or no single primary exists. On aws: the newest
    CloudWatch `GlobalDatastoreReplicationLag` of the secondary's primary
    node (`seconds` None, with the error, when there is no datapoint).
    """
    if target_name(configuration) != "local":
        from aftershock.targets.drivers import observe

        return observe(target_name(configuration), "cache_lag", configuration)
    topology = local_sandbox("cache_lag", configuration)
    creds = load_credentials(topology)
    primary = _primary(configuration)
    replica = next(r for r in REGIONS if r != primary)
    token = uuid.uuid4().hex
    try:
        with (
            catalog_cache.client(topology, primary, creds) as writer,
            catalog_cache.client(topology, replica, creds) as reader,
        ):
            # A key of its own: the lag recorder's heartbeat must not overwrite this one's.
            key = f"{HEARTBEAT_KEY}:{token}"
            began = time.monotonic()
            writer.set(key, token, ex=60)
            while (seen := reader.get(key)) != token.encode():
                if time.monotonic() - began >= float(timeout):
                    break
                time.sleep(POLL_S)
            seconds = time.monotonic() - began
            offsets = {
                "primary": writer.info("replication").get("master_repl_offset"),
                "replica": reader.info("replication").get("slave_repl_offset"),
            }
    except redis.RedisError as exc:
        raise EvidenceMissing(f"could not look at the catalog cache lag: {exc}") from exc
    capped = seen != token.encode()
    return {
        "seconds": round(seconds, 4),
        "capped": capped,
        "primary": primary,
        "replica": replica,
        "offsets": offsets,
        "limit_s": LIMIT_S,
        "valid": not capped and seconds <= LIMIT_S,
    }


def stale_reads(
    product_id: int = 1,
    timeout: float = 5.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """After a catalog entry changes on the primary, how long each region's shop serves the old.

    Writes a marked copy of product `product_id`'s cache entry to the
    primary copy (as a catalog update does), then reads the product through
    every region's shop at once until each shows the mark: `stale_s` per
    region, `valid` when every region shows it within 1 s. The entry is
    deleted afterwards, so the next read loads the product from the database.
    """
    product_id = int(product_id)
    timeout = float(timeout)
    topology = local_sandbox("stale_reads", configuration)
    creds = load_credentials(topology)
    primary = _primary(configuration)
    key = f"product:{int(product_id)}"
    stale: dict[str, float | None] = {region: None for region in REGIONS}
    with (
        catalog_cache.client(topology, primary, creds) as writer,
        httpx.Client(timeout=2.0) as http,
    ):
        current = _product(http, topology.shop_url(primary), product_id)
        mark = uuid.uuid4().hex
        writer.set(key, json.dumps({**current, "cache_mark": mark}), ex=60)
        began = time.monotonic()
        try:
            # Round robin over the regions: each is asked every few milliseconds.
            while time.monotonic() - began < float(timeout) and None in stale.values():
                for region in [r for r, s in stale.items() if s is None]:
                    body = _product(http, topology.shop_url(region), product_id)
                    if body.get("cache_mark") == mark:
                        stale[region] = round(time.monotonic() - began, 4)
                time.sleep(POLL_S)
        finally:
            writer.delete(key)
    worst = max((s for s in stale.values() if s is not None), default=None)
    valid = all(s is not None and s <= LIMIT_S for s in stale.values())
    return {"stale_s": stale, "max_s": worst, "limit_s": LIMIT_S, "valid": valid,
            "primary": primary}  # fmt: skip


STALE_PRODUCT = 2  # not product 1, which `stale_reads` marks while a cache failover holds


def stale_read_sample(
    timeout: float = 1.0,
    product_id: int = STALE_PRODUCT,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """A catalog change on the primary copy, and how long each region's shop served the old one.

    The lag recorder's stale-read sample, taken under load: a marked entry
    for product `product_id` is written to the primary copy (as a catalog
    update does), then the product is read through every region's shop
    until each shows the mark, or `timeout` passes (then `capped`). The
    entry is built here, not read from the database first, so a sample
    needs only the cache and the shops; it is deleted afterwards. A shop
    that does not answer 200 is "could not look".
    """
    timeout = float(timeout)
    product_id = int(product_id)
    topology = local_sandbox("stale_read_sample", configuration)
    creds = load_credentials(topology)
    primary = _primary(configuration)
    key = f"product:{int(product_id)}"
    mark = uuid.uuid4().hex
    entry = {"id": int(product_id), "name": f"stale-read sample {mark[:8]}",
             "price_cents": 100, "stock": 1, "cache_mark": mark}  # fmt: skip
    stale: dict[str, float | None] = {region: None for region in REGIONS}
    try:
        with (
            catalog_cache.client(topology, primary, creds) as writer,
            httpx.Client(timeout=max(0.5, float(timeout))) as http,
        ):
            writer.set(key, json.dumps(entry), ex=60)
            began = time.monotonic()
            try:
                while time.monotonic() - began < float(timeout) and None in stale.values():
                    for region in [r for r, seen in stale.items() if seen is None]:
                        body = _product(http, topology.shop_url(region), product_id)
                        if body.get("cache_mark") == mark:
                            stale[region] = round(time.monotonic() - began, 4)
                    time.sleep(POLL_S)
            finally:
                writer.delete(key)
    except redis.RedisError as exc:
        raise EvidenceMissing(f"could not look at stale reads: {exc}") from exc
    capped = None in stale.values()
    worst = float(timeout) if capped else max(s for s in stale.values() if s is not None)
    return {"stale_s": stale, "max_s": round(worst, 4), "capped": capped, "primary": primary,
            "valid": not capped and worst <= LIMIT_S}  # fmt: skip


def writes_follow_primary(
    product_id: int = 11,
    timeout: float = 5.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Does every region's shop write the catalog cache to the copy that leads now?

    Per region: the product's entry is deleted on the primary, the product
    is read through that region's shop (a miss: the shop loads it from the
    database and writes it to the primary it knows), and the entry must
    reappear on the primary with a connection of that shop's writer there
    (`CLIENT LIST`, by its client name). A shop still writing to a demoted
    copy is refused (READONLY) and fails this. `valid` when every region's did.
    """
    product_id = int(product_id)
    timeout = float(timeout)
    topology = local_sandbox("writes_follow_primary", configuration)
    creds = load_credentials(topology)
    primary = _primary(configuration)
    key = f"product:{int(product_id)}"
    followed: dict[str, bool] = {}
    with (
        catalog_cache.client(topology, primary, creds) as conn,
        httpx.Client(timeout=2.0) as http,
    ):
        for region in REGIONS:
            conn.delete(key)
            began = time.monotonic()
            followed[region] = False
            while time.monotonic() - began < float(timeout):
                _product(http, topology.shop_url(region), product_id)
                if conn.exists(key) and _just_wrote(conn, writer_name(f"shop-{region}")):
                    followed[region] = True
                    break
                time.sleep(0.1)
    missing = [r for r, ok in followed.items() if not ok]
    reason = (
        f"every shop writes to {primary}'s copy"
        if not missing
        else f"{', '.join(missing)} did not write to {primary}'s copy within {timeout:g} s"
    )
    return {"valid": not missing, "primary": primary, "followed": followed, "reason": reason}


def _just_wrote(conn: redis.Redis, name: str) -> bool:
    """True when a connection named `name` sent a SET within the last second.

    A connection left over from an earlier failover is idle; the other
    region's shop re-creating the key under load writes under its own name.
    """
    return any(
        c.get("name") == name and c.get("cmd") == "set" and int(c.get("idle", 99)) <= 1
        for c in conn.client_list()
    )


def _primary(configuration: Configuration) -> str:
    """The region whose copy leads; could not look when none (or both) does."""
    primary = cache_primary(configuration=configuration)["primary"]
    if primary is None:
        raise EvidenceMissing("could not look: the catalog cache has no single primary")
    return str(primary)


def _product(http: httpx.Client, shop: str, product_id: int) -> dict[str, Any]:
    try:
        answer = http.get(f"{shop}/products/{int(product_id)}")
    except httpx.HTTPError as exc:
        raise EvidenceMissing(f"could not look: {shop} does not answer ({exc})") from exc
    if answer.status_code != 200:
        raise EvidenceMissing(f"could not look: {shop} answered {answer.status_code}")
    return dict(answer.json())
