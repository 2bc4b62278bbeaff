"""PostgreSQL 15 under Patroni: leader in taiwan, replica in tokyo.

Failover timing (dynamic configuration, written to the DCS at bootstrap):

- ``ttl = 7``: the leader lease. A leader that vanishes (crash, blackhole)
  is replaced once its lease expires, so failover takes about ``ttl`` seconds
  plus a promotion and one edge health check. Production uses 30; 7 keeps
  game days and CI short (measured: ~9 s from blackhole to first write).
- ``loop_wait = 1``: every node re-evaluates the cluster every second.
- ``retry_timeout = 3``: a leader that cannot reach etcd or PostgreSQL for
  this long demotes itself. Patroni's safety rule ``loop_wait + 2 *
  retry_timeout <= ttl`` (1 + 6 <= 7) guarantees that an isolated leader has
  stopped accepting writes before anyone else can take the lease, so a
  partition never yields two writable leaders.

The rule holds only if a returning old leader cannot take the lease back:
Patroni 3.0.4 made the etcd3 leader-key update a compare-and-swap, and 3.2+
refuses a ttl below 20 s, so the sandbox runs PyPI's 3.1.x (see PATRONI_BIN).
"""

from __future__ import annotations

import base64
import json
import stat
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from aftershock.config.topology import (
    PATRONI_PORT,
    PG_PORT,
    REGIONS,
    SITES,
    Topology,
)
from aftershock.errors import SandboxError
from aftershock.sandbox.credentials import Credentials, private_dir, write_private
from aftershock.sandbox.http import get
from aftershock.sandbox.processes import DaemonSpec

PG_USER = "postgres"
PG_BIN_DIR = Path("/usr/lib/postgresql/15/bin")
# Patroni from the project's virtualenv (PyPI 3.1.x), run as postgres. Not
# Debian's 3.0.2: its etcd3 `update_leader` overwrites the leader key
# unconditionally, so an isolated old leader that comes back steals the lock
# from the new one: two primaries, acknowledged orders lost (found by
# tests/test_load.py). 3.0.4 made that a compare-and-swap; 3.2 and newer
# refuse a ttl below 20 s, which would triple every failover.
PROJECT_PATRONI = Path(sys.executable).with_name("patroni")
# Where `make deps` installs the same Patroni when postgres cannot read the
# checkout (a private home directory).
SHARED_PATRONI = Path("/opt/aftershock/patroni/bin/patroni")


def patroni_bin() -> Path:
    """The Patroni the postgres user runs: the project's own when others can read it."""
    if PROJECT_PATRONI.exists() and _others_can_read(Path(sys.prefix)):
        return PROJECT_PATRONI
    return SHARED_PATRONI if SHARED_PATRONI.exists() else PROJECT_PATRONI


def _others_can_read(prefix: Path) -> bool:
    """Every directory down to the virtualenv lets other users through, and it is readable."""
    resolved = prefix.resolve()
    if any(not d.stat().st_mode & stat.S_IXOTH for d in [resolved, *resolved.parents]):
        return False
    return bool(resolved.stat().st_mode & stat.S_IROTH)


TTL = 7
LOOP_WAIT = 1
RETRY_TIMEOUT = 3
PRIMARY_START_TIMEOUT = 10

REPLICATION_MODES = ("sync", "async", "unsafe")
"""sync: Patroni's synchronous_mode. async: asynchronous, failover only within 1 MiB
of lag (Patroni's default guard). unsafe: asynchronous and failover whatever the
lag, the profile under which acknowledged orders can really be lost."""
FAILOVER_LAG_LIMIT = {"sync": 1 << 20, "async": 1 << 20, "unsafe": 1 << 40}  # bytes


def patroni_home(topology: Topology, site: str) -> Path:
    """The node's private directory (postgres, 0700): config, pgpass, data, socket."""
    return topology.site_dir(site) / "patroni"


def config(topology: Topology, site: str, creds: Credentials, replication: str) -> dict[str, Any]:
    """Patroni's configuration for the node in `site`."""
    if replication not in REPLICATION_MODES:
        raise ValueError(f"replication must be one of {REPLICATION_MODES}, not {replication!r}")
    home = patroni_home(topology, site)
    addr = topology.address(site)
    subnet = topology.subnet
    hba = [
        "local all all scram-sha-256",
        f"host all all {subnet} scram-sha-256",
        f"host replication replicator {subnet} scram-sha-256",
    ]
    return {
        "scope": topology.scope,
        "namespace": "/aftershock/",
        "name": site,
        "log": {"level": "INFO", "format": "%(asctime)s %(levelname)s: %(message)s"},
        "restapi": {
            "listen": f"{addr}:{PATRONI_PORT}",
            "connect_address": f"{addr}:{PATRONI_PORT}",
            # Unsafe endpoints (switchover, restart, reload) need the password;
            # the read-only role checks HAProxy uses do not.
            "authentication": {"username": "patroni", "password": creds.patroni_api},
        },
        "etcd3": {"hosts": [f"{topology.address(s)}:2379" for s in SITES]},
        "bootstrap": {
            "dcs": {
                "ttl": TTL,
                "loop_wait": LOOP_WAIT,
                "retry_timeout": RETRY_TIMEOUT,
                "primary_start_timeout": PRIMARY_START_TIMEOUT,
                "maximum_lag_on_failover": FAILOVER_LAG_LIMIT[replication],
                "synchronous_mode": replication == "sync",
                "postgresql": {
                    "use_pg_rewind": True,
                    "use_slots": True,
                    "parameters": {
                        "wal_level": "replica",
                        "hot_standby": "on",
                        "wal_log_hints": "on",
                        "max_connections": 200,
                        "max_wal_senders": 10,
                        "max_replication_slots": 10,
                        "wal_keep_size": "256MB",
                        "password_encryption": "scram-sha-256",
                        "shared_buffers": "64MB",
                        # A leader cut off from its sync standby demotes with a
                        # fast shutdown, which waits for the walsender to flush
                        # to that standby: up to the 60 s default. Meanwhile
                        # Patroni 3.1 demotes a second time from its main loop
                        # and both demotes start a postmaster; the stray one
                        # wedges the node (seen in 1 of 3 isolations). 2 s ends
                        # the wait before Patroni's next loop gives up on it.
                        "wal_sender_timeout": "2s",
                    },
                },
            },
            "initdb": [
                {"encoding": "UTF8"},
                {"locale": "C.UTF-8"},
                "data-checksums",
                {"auth-host": "scram-sha-256"},
                {"auth-local": "scram-sha-256"},
            ],
        },
        "postgresql": {
            "listen": f"{addr}:{PG_PORT}",
            "connect_address": f"{addr}:{PG_PORT}",
            "data_dir": str(home / "pgdata"),
            "bin_dir": str(PG_BIN_DIR),
            "pgpass": str(home / "pgpass"),
            "authentication": {
                "superuser": {"username": "postgres", "password": creds.postgres},
                "replication": {"username": "replicator", "password": creds.replication},
            },
            "parameters": {
                # Outside the data directory: pg_basebackup would copy a socket
                # lock file from inside it and the replica would refuse to start.
                "unix_socket_directories": str(home / "run"),
            },
            "pg_hba": hba,
            # A spread checkpoint makes a replica's first clone wait minutes
            # once the leader has written anything; the sandbox wants it now.
            "basebackup": [{"checkpoint": "fast"}],
            # A sandbox replica holds nothing the leader lacks: when it cannot
            # rewind onto the new timeline, re-clone it rather than leave the
            # region down for good (a production cluster would page instead).
            "remove_data_directory_on_rewind_failure": True,
            "remove_data_directory_on_diverged_timelines": True,
        },
        "tags": {"nofailover": False, "noloadbalance": False, "clonefrom": False},
    }


def spec(topology: Topology, site: str, creds: Credentials, replication: str) -> DaemonSpec:
    """Write the node's config (readable only by postgres) and describe its daemon."""
    if site not in REGIONS:
        raise ValueError(f"PostgreSQL runs only in {REGIONS}, not in {site!r}")
    topology.site_dir(site).mkdir(parents=True, exist_ok=True)
    home = private_dir(patroni_home(topology, site), owner=PG_USER)
    private_dir(home / "run", owner=PG_USER)
    cfg_path = home / "patroni.yml"
    cfg = config(topology, site, creds, replication)
    write_private(cfg_path, yaml.safe_dump(cfg, sort_keys=False), owner=PG_USER)
    return DaemonSpec(
        name=f"patroni-{site}",
        netns=topology.netns(site),
        user=PG_USER,
        log=topology.log_path(f"patroni-{site}"),
        argv=[str(patroni_bin()), str(cfg_path)],
        env={"HOME": str(home)},
    )


def node_state(topology: Topology, site: str) -> dict[str, Any] | None:
    """Patroni's own view of the node (GET /patroni), or None when unreachable."""
    answer = get(f"{topology.patroni_url(site)}/patroni")
    if answer is None or not isinstance(answer[1], dict):
        return None
    return answer[1]


def role_check(topology: Topology, site: str, check: str) -> bool:
    """Ask Patroni a role question (`primary`, `replica`, `sync`, `health`): 200 means yes."""
    answer = get(f"{topology.patroni_url(site)}/{check}")
    return answer is not None and answer[0] == 200


def leader(topology: Topology) -> str | None:
    """The region whose node answers 200 on /primary, if exactly one does."""
    leaders = [site for site in REGIONS if role_check(topology, site, "primary")]
    return leaders[0] if len(leaders) == 1 else None


def request_leader_change(
    topology: Topology, creds: Credentials, action: str, candidate: str, leader: str | None = None
) -> tuple[int, str]:
    """Ask Patroni for a `switchover` (planned) or `failover` to `candidate`.

    Returns Patroni's (status, message); any live node forwards the request.
    """
    if action not in ("switchover", "failover"):
        raise ValueError(f"action must be switchover or failover, not {action!r}")
    body: dict[str, str] = {"candidate": candidate}
    if leader:
        body["leader"] = leader
    token = base64.b64encode(f"patroni:{creds.patroni_api}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310 (http only)
        f"{topology.patroni_url(candidate)}/{action}",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")


def set_maintenance(topology: Topology, creds: Credentials, paused: bool) -> None:
    """Turn Patroni's maintenance mode on or off (PATCH /config {"pause": ...}).

    In maintenance mode Patroni neither fails over nor touches PostgreSQL.
    """
    patch_config(topology, creds, {"pause": paused})


def patch_config(topology: Topology, creds: Credentials, changes: dict[str, Any]) -> None:
    """Change the cluster's dynamic configuration (PATCH /config) through any live node."""
    token = base64.b64encode(f"patroni:{creds.patroni_api}".encode()).decode()
    for region in REGIONS:  # any live node accepts the change for the cluster
        request = urllib.request.Request(  # noqa: S310 (http only)
            f"{topology.patroni_url(region)}/config",
            data=json.dumps(changes).encode(),
            headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
            method="PATCH",
        )
        try:
            with urllib.request.urlopen(request, timeout=5):  # noqa: S310
                return
        except (urllib.error.URLError, OSError):
            continue
    raise SandboxError(f"no Patroni node accepted the configuration change {changes}")


def in_maintenance(topology: Topology, site: str) -> bool:
    """True when the node in `site` runs with maintenance mode on."""
    state = node_state(topology, site)
    return bool(state and state.get("pause"))


def synchronous_mode(topology: Topology) -> bool:
    """Whether the cluster runs with Patroni's synchronous_mode (from GET /config)."""
    for region in REGIONS:
        answer = get(f"{topology.patroni_url(region)}/config")
        if answer is not None and answer[0] == 200 and isinstance(answer[1], dict):
            return bool(answer[1].get("synchronous_mode"))
    raise SandboxError("no Patroni node answered GET /config")
