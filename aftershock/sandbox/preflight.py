"""Checks that run before a sandbox touches the machine, so nothing fails half-way."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

from aftershock.errors import PreflightError
from aftershock.sandbox.postgres import PG_BIN_DIR, SHARED_PATRONI, patroni_bin

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


def check_patroni() -> None:
    """Patroni runs as postgres from the project's virtualenv: postgres must be able to."""
    patroni = patroni_bin()
    if not patroni.exists():
        raise PreflightError(f"Patroni is not installed in {patroni.parent}: run `make deps`")
    probe = ["setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups", "--",
             str(patroni), "--version"]  # fmt: skip
    try:
        done = subprocess.run(probe, capture_output=True, timeout=30, check=False, cwd="/")
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PreflightError(f"cannot run Patroni as postgres: {exc}") from None
    if done.returncode != 0:
        raise PreflightError(
            f"the postgres user cannot run {patroni}: run `make deps` as root (it installs "
            f"Patroni in {SHARED_PATRONI.parents[1]} when postgres cannot read this checkout)"
        )


def check_all() -> None:
    check_privileges()
    check_packages()
    check_patroni()
