"""Checks that run before a sandbox touches the machine, so nothing fails half-way."""

from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path

from aftershock.sandbox.errors import PreflightError
from aftershock.sandbox.postgres import PATRONI_BIN, PG_BIN_DIR

CAP_NET_ADMIN = 12
CAP_SYS_ADMIN = 21

REQUIRED_COMMANDS = {
    "ip": "iproute2",
    "nft": "nftables",
    "setpriv": "util-linux",
    "etcd": "etcd-server",
    "haproxy": "haproxy",
    "redis-server": "redis-server",
}
REQUIRED_FILES = {
    PATRONI_BIN: "patroni",
    PG_BIN_DIR / "postgres": "postgresql-15",
}
REQUIRED_USERS = ("postgres", "etcd", "redis", "haproxy")


def effective_capabilities() -> int:
    """This process's effective capability mask, from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    return 0


def check_privileges() -> None:
    """Network namespaces need root with CAP_NET_ADMIN and CAP_SYS_ADMIN."""
    caps = effective_capabilities()
    if os.geteuid() != 0 or not (caps >> CAP_NET_ADMIN) & 1 or not (caps >> CAP_SYS_ADMIN) & 1:
        raise PreflightError(
            "the sandbox needs root with CAP_NET_ADMIN (network namespaces, nftables): "
            "run `sudo make gameday`, or `sudo .venv/bin/aftershock sandbox up`"
        )


def check_packages() -> None:
    """Every daemon binary and system user the sandbox starts must exist."""
    missing = {pkg for cmd, pkg in REQUIRED_COMMANDS.items() if shutil.which(cmd) is None}
    missing |= {pkg for path, pkg in REQUIRED_FILES.items() if not path.exists()}
    for user in REQUIRED_USERS:
        try:
            pwd.getpwnam(user)
        except KeyError:
            missing.add(f"(system user {user})")
    if missing:
        raise PreflightError(
            f"missing Debian packages: {', '.join(sorted(missing))}; "
            "run `make deps` as root to install them"
        )


def check_all() -> None:
    check_privileges()
    check_packages()
