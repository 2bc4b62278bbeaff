"""ADR-037's multi-writer topology: one PostgreSQL primary per region, no Patroni.

Each region runs a plain PostgreSQL 15 cluster (initdb at boot, the
postmaster supervised like every daemon) configured for pglogical:
``wal_level=logical``, ``shared_preload_libraries=pglogical``,
``track_commit_timestamp=on`` (last-update-wins needs commit times) and
``pglogical.conflict_resolution=last_update_wins``, the ADR's rule.
`aftershock.sandbox.pglogical` then links the two both ways.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from aftershock.config.topology import PG_PORT, REGIONS, Topology
from aftershock.errors import SandboxError
from aftershock.sandbox.credentials import Credentials, private_dir, write_private
from aftershock.sandbox.postgres import PG_BIN_DIR, PG_USER
from aftershock.sandbox.processes import DaemonSpec

TOPOLOGIES = ("single-writer", "multi-writer")
"""single-writer: Patroni's one leader (Aurora Global's writer). multi-writer: ADR-037."""

CONFLICT_RESOLUTION = "last_update_wins"

SETTINGS = {
    "wal_level": "logical",
    "shared_preload_libraries": "pglogical",
    "track_commit_timestamp": "on",
    "pglogical.conflict_resolution": CONFLICT_RESOLUTION,
    # pglogical logs every conflict it resolves: the only trace of an
    # accepted order that last-update-wins threw away.
    "pglogical.conflict_log_level": "log",
    "max_connections": "200",
    "max_worker_processes": "16",
    "max_replication_slots": "10",
    "max_wal_senders": "10",
    "shared_buffers": "64MB",
    "fsync": "on",
    # A cut link must show as a dead walsender / apply worker within
    # seconds, as it would across a real WAN with keepalives: otherwise a
    # short cut heals inside one TCP retransmission and nothing reconnects.
    "wal_sender_timeout": "10s",
    "wal_receiver_timeout": "10s",
}


def writer_home(topology: Topology, region: str) -> Path:
    """The region's private PostgreSQL directory (postgres, 0700): data, socket, password."""
    return topology.site_dir(region) / "writer"


def data_dir(topology: Topology, region: str) -> Path:
    return writer_home(topology, region) / "pgdata"


PGLOGICAL_LIBRARY = Path("/usr/lib/postgresql/15/lib/pglogical.so")


def require_pglogical() -> None:
    """Refuse, before anything starts, a multi-writer boot on a host without pglogical."""
    if not PGLOGICAL_LIBRARY.exists():
        raise SandboxError(
            f"the multi-writer topology needs pglogical ({PGLOGICAL_LIBRARY} is missing): "
            "run `make deps` (it installs postgresql-15-pglogical)"
        )


def initdb_all(topology: Topology, creds: Credentials) -> None:
    """Create both regions' clusters at once (each initdb takes about a second)."""
    running = []
    for region in REGIONS:
        topology.site_dir(region).mkdir(parents=True, exist_ok=True)
        home = private_dir(writer_home(topology, region), owner=PG_USER)
        private_dir(home / "run", owner=PG_USER)
        pwfile = home / "pwfile"
        write_private(pwfile, creds.postgres + "\n", owner=PG_USER)
        argv = [
            "setpriv", f"--reuid={PG_USER}", f"--regid={PG_USER}", "--init-groups", "--",
            str(PG_BIN_DIR / "initdb"), "-D", str(data_dir(topology, region)),
            "-U", PG_USER, f"--pwfile={pwfile}", "--auth=scram-sha-256",
            "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
        ]  # fmt: skip
        running.append(
            (region, subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
        )
    for region, proc in running:
        out, _ = proc.communicate(timeout=60)
        if proc.returncode != 0:
            tail = out.decode(errors="replace").strip().splitlines()[-3:]
            raise SandboxError(f"initdb for {region} failed: {' '.join(tail)}")
        write_private(data_dir(topology, region) / "pg_hba.conf", hba(topology), owner=PG_USER)
        (writer_home(topology, region) / "pwfile").unlink()


def hba(topology: Topology) -> str:
    """Password logins from the sandbox's subnet, for clients and for pglogical's links."""
    return "".join(
        f"{line}\n"
        for line in (
            "local all all scram-sha-256",
            f"host all all {topology.subnet} scram-sha-256",
            f"host replication all {topology.subnet} scram-sha-256",
        )
    )


def spec(topology: Topology, region: str) -> DaemonSpec:
    """The region's postmaster, listening on its own address, with pglogical loaded."""
    if region not in REGIONS:
        raise ValueError(f"PostgreSQL runs only in {REGIONS}, not in {region!r}")
    settings = SETTINGS | {
        "listen_addresses": topology.address(region),
        "port": str(PG_PORT),
        "unix_socket_directories": str(writer_home(topology, region) / "run"),
        "cluster_name": f"{topology.name}-{region}",
    }
    argv = [str(PG_BIN_DIR / "postgres"), "-D", str(data_dir(topology, region))]
    for name, value in settings.items():
        argv += ["-c", f"{name}={value}"]
    return DaemonSpec(
        name=f"postgres-{region}",
        netns=topology.netns(region),
        user=PG_USER,
        log=topology.log_path(f"postgres-{region}"),
        argv=argv,
        env={"HOME": str(writer_home(topology, region))},
    )
