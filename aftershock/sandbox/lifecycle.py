"""Bringing a sandbox up and down, and reaping what killed runs left behind."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from aftershock.sandbox import cache, etcd, haproxy, network, postgres, preflight
from aftershock.sandbox.credentials import Credentials, load_or_create, write_private
from aftershock.sandbox.endpoints import describe, pgpass_text, writable
from aftershock.sandbox.errors import SandboxError
from aftershock.sandbox.processes import (
    DaemonSpec,
    Registry,
    Running,
    is_alive,
    kill_pids,
    pids_with_argument,
    spawn,
    stop,
)
from aftershock.sandbox.readiness import wait_until
from aftershock.sandbox.topology import NAME_PATTERN, REGIONS, SITES, Topology

Report = Callable[[str, str], None]
"""Progress callback: (component, message)."""

BOOT_TIMEOUT = 60.0


def _quiet(component: str, message: str) -> None:
    """The default progress callback: say nothing."""


def credentials_path(topology: Topology) -> Path:
    return topology.state_dir / "credentials.json"


def info_path(topology: Topology) -> Path:
    return topology.state_dir / "sandbox.json"


def registry(topology: Topology) -> Registry:
    return Registry(topology.state_dir / "processes.json")


def load_credentials(topology: Topology) -> Credentials:
    return load_or_create(credentials_path(topology))


class _Boot:
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


def up(topology: Topology, replication: str = "sync", report: Report = _quiet) -> dict:
    """Boot the sandbox; on any failure or interrupt, tear down what was started.

    Returns the sandbox description (endpoints, no secrets).
    """
    preflight.check_all()
    if replication not in postgres.REPLICATION_MODES:
        raise ValueError(f"--replication must be one of {postgres.REPLICATION_MODES}")
    if is_running(topology):
        raise SandboxError(
            f"sandbox {topology.name} is already up: use it, or run "
            f"`aftershock sandbox down --name {topology.name}` first"
        )
    began = time.monotonic()
    leftovers = reap(topology)
    if leftovers:
        report("reap", f"removed leftovers of an earlier run: {', '.join(leftovers)}")
    topology.state_dir.mkdir(parents=True, exist_ok=True)
    topology.state_dir.chmod(0o755)
    try:
        _boot(topology, replication, report)
    except BaseException:
        report("sandbox", "boot failed: tearing down what was started")
        down(topology)
        raise
    info = describe(topology) | {
        "replication": replication,
        "booted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "boot_seconds": round(time.monotonic() - began, 2),
    }
    info_path(topology).write_text(json.dumps(info, indent=2))
    report("sandbox", f"up in {info['boot_seconds']:.1f} s")
    return info


def is_running(topology: Topology) -> bool:
    """True when the sandbox finished booting and every daemon it started still runs."""
    if not info_path(topology).exists():
        return False
    entries = registry(topology).load().values()
    return bool(entries) and all(is_alive(d.pid, d.starttime) for d in entries)


def is_in_use(topology: Topology) -> bool:
    """True when the sandbox finished booting and any of its daemons still runs.

    Such a sandbox is someone's (a game day may have crashed some of its
    daemons on purpose): only `down`, or a reap that names it, removes it.
    """
    if not info_path(topology).exists():
        return False
    return any(is_alive(d.pid, d.starttime) for d in registry(topology).load().values())


def _boot(topology: Topology, replication: str, report: Report) -> None:
    creds = load_credentials(topology)
    write_private(topology.state_dir / "pgpass", pgpass_text(topology, creds))
    boot = _Boot(topology, report)
    started = time.monotonic()
    network.create(topology)
    report(
        "network",
        f"namespaces {', '.join(topology.namespaces())} ready in "
        f"{time.monotonic() - started:.1f} s",
    )

    for site in SITES:
        boot.start(etcd.spec(topology, site))
    for region in REGIONS:
        boot.start(cache.spec(topology, region, creds))
    boot.start(haproxy.spec(topology))

    etcds = [f"etcd-{s}" for s in SITES]
    boot.wait("etcd", lambda: all(etcd.healthy(topology, s) for s in SITES), *etcds)
    # The leader must start in taiwan: start its Patroni alone, let it win the
    # initialize race, then clone tokyo from it.
    boot.start(postgres.spec(topology, "taiwan", creds, replication))
    boot.wait(
        "patroni-taiwan",
        lambda: postgres.role_check(topology, "taiwan", "primary"),
        "patroni-taiwan",
    )
    boot.start(postgres.spec(topology, "tokyo", creds, replication))
    for region in REGIONS:
        boot.wait(
            f"redis-{region}", lambda r=region: cache.healthy(topology, r, creds), f"redis-{region}"
        )
    boot.wait("write endpoint", lambda: writable(topology, creds), "haproxy", "patroni-taiwan")
    replica_check = "sync" if replication == "sync" else "replica"
    boot.wait(
        f"patroni-tokyo ({replica_check})",
        lambda: postgres.role_check(topology, "tokyo", replica_check),
        "patroni-tokyo",
    )


def down(topology: Topology, keep_state: bool = False, report: Report = _quiet) -> list[str]:
    """Stop every daemon, delete the network, remove the state directory.

    Idempotent, and independent of the process registry's accuracy: after the
    registered daemons are stopped gracefully, anything left inside the
    sandbox's namespaces, and any root-namespace process started with one of
    its config files, is killed. Returns what was found and removed.
    """
    removed: list[str] = []
    # From here on the sandbox is no longer "in use": a killed `down` is reaped.
    info_path(topology).unlink(missing_ok=True)
    reg = registry(topology)
    for wave, grace in _stop_waves(reg.load()):
        began = time.monotonic()
        forced = stop(wave, timeout=grace)
        names = [d.name for d in wave]
        reg.remove(names)
        removed += names
        report(", ".join(names), f"stopped in {time.monotonic() - began:.1f} s")
        if forced:
            report(", ".join(forced), f"SIGKILLed after a {grace:.0f} s grace period")
    for ns in network.owned_namespaces(topology):
        pids = network.namespace_pids(ns)
        if pids:
            kill_pids(pids)
            removed.append(f"{len(pids)} process(es) in {ns}")
    strays = processes_started_with(topology)
    if strays:
        kill_pids(strays)
        removed.append(f"{len(strays)} stray process(es) of {topology.name}")
    plumbing = network.owned_namespaces(topology) + network.owned_links(topology)
    network.destroy(topology)
    removed += plumbing
    if not keep_state and topology.state_dir.exists():
        shutil.rmtree(topology.state_dir)
        removed.append(str(topology.state_dir))
    return removed


def _stop_waves(entries: dict[str, Running]) -> list[tuple[list[Running], float]]:
    """Registered daemons in stopping order, each wave with its SIGTERM grace period.

    Clients first (the edge, the shops), then Patroni, then etcd and Redis.
    `down` discards all state, so graceful shutdown buys nothing but time:
    Patroni's leader waits for its sync standby and etcd tries to hand over
    leadership to members that are stopping too. Short grace periods, then
    SIGKILL, keep teardown within seconds; PostgreSQL orphans left by a killed
    Patroni are swept with the namespace.
    """
    groups = [
        ([n for n in entries if n == "haproxy" or n.startswith("shop-")], 2.0),
        ([n for n in entries if n.startswith("patroni-")], 2.0),
        ([n for n in entries if n.startswith(("etcd-", "redis-"))], 1.0),
    ]
    listed = {n for names, _ in groups for n in names}
    groups.append(([n for n in entries if n not in listed], 2.0))
    return [([entries[n] for n in names], grace) for names, grace in groups if names]


def processes_started_with(topology: Topology) -> list[int]:
    """Root-namespace processes whose command line names this sandbox's config files."""
    return pids_with_argument([str(topology.haproxy_config)])


def known_sandboxes(state_root: Path) -> list[str]:
    """Names of sandboxes with a state directory under `state_root`.

    `up` creates the state directory before anything else and `down` removes
    it last, so every sandbox that may have left something behind has one.
    """
    if not state_root.is_dir():
        return []
    return sorted(p.name for p in state_root.iterdir() if p.is_dir() and NAME_PATTERN.match(p.name))


def reap(topology: Topology) -> list[str]:
    """Remove everything an earlier (possibly killed) run of this sandbox left behind."""
    return down(topology)


def leftovers(topology: Topology) -> list[str]:
    """Everything of this sandbox that still exists: empty after a clean `down`."""
    found = [f"namespace {ns}" for ns in network.owned_namespaces(topology)]
    found += [f"link {link}" for link in network.owned_links(topology)]
    found += [f"process {pid}" for pid in processes_started_with(topology)]
    found += [
        f"resolver files {network.NETNS_ETC / ns}"
        for ns in topology.namespaces()
        if (network.NETNS_ETC / ns).exists()
    ]
    if topology.state_dir.exists():
        found.append(f"state directory {topology.state_dir}")
    return found
