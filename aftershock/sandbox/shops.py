"""The shop instances in the sandbox: one per region, supervised like every daemon."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from aftershock.config.topology import (
    BROKER_PORT,
    CATALOG_PORT,
    PG_PORT,
    REDIS_PORT,
    REGIONS,
    SHOP_PORT,
    Topology,
    other_region,
)
from aftershock.errors import SandboxError
from aftershock.sandbox.brokers import client_url
from aftershock.sandbox.credentials import Credentials, write_private
from aftershock.sandbox.http import get
from aftershock.sandbox.processes import DaemonSpec, is_alive
from aftershock.sandbox.shop.config import ShopConfig
from aftershock.sandbox.shop.runtime import RuntimeSettings
from aftershock.sandbox.shop.schema import DATABASE, ROLE
from aftershock.sandbox.state import registry

if TYPE_CHECKING:
    from aftershock.sandbox.options import SandboxOptions

UNPRIVILEGED_USER = "nobody"


def runs_unprivileged() -> bool:
    """True when `nobody` can import the shop from this checkout.

    The shop runs from the project's virtualenv; when the checkout lives
    where other users cannot read it (a home directory), it runs as root in
    its namespace instead, and `up` says so.
    """
    probe = [
        "setpriv", f"--reuid={UNPRIVILEGED_USER}", "--regid=nogroup", "--clear-groups", "--",
        sys.executable, "-c", "import aftershock.sandbox.shop.app",
    ]  # fmt: skip
    try:
        done = subprocess.run(probe, capture_output=True, timeout=30, check=False, cwd="/")
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def dsn(
    topology: Topology,
    region: str,
    creds: Credentials,
    attrs: str,
    application: str = "shop",
    local_only: bool = False,
) -> str:
    """libpq conninfo listing every node, the client's own region first.

    With `local_only` (the multi-writer topology, where every region has its
    own primary) only the region's own node: a region never writes into the
    other's database behind replication's back.
    """
    hosts = [region] if local_only else [region] + [r for r in REGIONS if r != region]
    return " ".join(
        [
            f"host={','.join(topology.address(h) for h in hosts)}",
            f"port={','.join(str(PG_PORT) for _ in hosts)}",
            f"dbname={DATABASE} user={ROLE} password={creds.shop}",
            f"target_session_attrs={attrs}",
            f"application_name={application}-{region}",
            # A blackholed leader must not hang a request for minutes: bound
            # connecting, and detect a dead peer on an open connection fast.
            "connect_timeout=2 keepalives=1 keepalives_idle=2 keepalives_interval=1",
            "keepalives_count=2 tcp_user_timeout=3000",
        ]
    )


def config(
    topology: Topology, region: str, creds: Credentials, options: SandboxOptions
) -> ShopConfig:
    local = options.multi_writer
    peer = other_region(region)
    return ShopConfig(
        region=region,
        listen_host=topology.address(region),
        listen_port=SHOP_PORT,
        write_dsn=dsn(topology, region, creds, "read-write", local_only=local),
        read_dsn=dsn(topology, region, creds, "any", local_only=local),
        redis_host=topology.address(region),
        redis_port=REDIS_PORT,
        redis_password=creds.redis,
        catalog_host=topology.address(region),
        catalog_port=CATALOG_PORT,
        readiness_policy=options.readiness_policy,
        broker_host=topology.address(region),
        broker_port=BROKER_PORT,
        broker_url=client_url(topology, region, creds),
        events=options.events,
        orders_policy=options.orders,
        inventory=options.inventory,
        order_keys=options.order_keys,
        peer_dsn=dsn(topology, peer, creds, "any", "quorum", local_only=True) if local else "",
    )


def spec(
    topology: Topology,
    region: str,
    creds: Credentials,
    options: SandboxOptions,
    unprivileged: bool,
) -> DaemonSpec:
    """Write the region's shop config (0600, its user's) and describe the daemon."""
    if region not in REGIONS:
        raise ValueError(f"the shop runs only in {REGIONS}, not in {region!r}")
    user = UNPRIVILEGED_USER if unprivileged else None
    path = topology.site_dir(region) / "shop.json"
    runtime = runtime_path(topology, region)
    write_private(
        path,
        config(topology, region, creds, options).dumps(),
        owner=user,
    )
    return DaemonSpec(
        name=f"shop-{region}",
        netns=topology.netns(region),
        user=user,
        group="nogroup" if unprivileged else None,
        log=topology.log_path(f"shop-{region}"),
        argv=[
            *(sys.executable, "-m", "aftershock.sandbox.shop"),
            *("--config", str(path), "--runtime", str(runtime)),
        ],
        env={"HOME": "/"},
    )


def ready(topology: Topology, region: str) -> bool:
    """True when the region's shop answers readiness with 200 (directly, not via the edge)."""
    answer = get(f"{topology.shop_url(region)}/health/readiness")
    return answer is not None and answer[0] == 200


def runtime_path(topology: Topology, region: str) -> Path:
    """The region's shop runtime settings (`shop.runtime`), reloaded on SIGHUP."""
    return topology.site_dir(region) / "shop-runtime.json"


def reconfigure(
    topology: Topology, region: str, settings: RuntimeSettings, timeout: float = 10.0
) -> dict[str, object]:
    """Give the region's running shop new runtime settings and wait until it says it took them.

    Writes the settings file, sends the shop SIGHUP and reads its readiness
    answer (directly, not through the edge) until it reports them.
    """
    if region not in REGIONS:
        raise SandboxError(f"the shop runs only in {', '.join(REGIONS)}, not in {region!r}")
    shop = registry(topology).load().get(f"shop-{region}")
    if shop is None or not is_alive(shop.pid, shop.starttime):
        raise SandboxError(f"shop-{region} of sandbox {topology.name} is not running")
    path = runtime_path(topology, region)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(settings.as_dict()))
    os.chmod(partial, 0o644)  # not secret; the shop may run as nobody
    partial.replace(path)
    os.kill(shop.pid, signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = get(f"{topology.shop_url(region)}/health/readiness")
        body = answer[1] if answer is not None else None
        if isinstance(body, dict) and body.get("runtime") == settings.as_dict():
            return {"region": region, "runtime": settings.as_dict()}
        time.sleep(0.1)
    raise SandboxError(
        f"shop-{region} did not take its runtime settings within {timeout:g} s: "
        f"see {topology.log_path(f'shop-{region}')}"
    )


def reset_runtime(topology: Topology) -> list[str]:
    """Put every region's shop back on the default runtime settings; returns those changed."""
    changed = []
    for region in REGIONS:
        if runtime_path(topology, region).exists():
            reconfigure(topology, region, RuntimeSettings())
            runtime_path(topology, region).unlink(missing_ok=True)
            changed.append(region)
    return changed
