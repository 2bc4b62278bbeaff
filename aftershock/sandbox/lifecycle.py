"""Bringing a sandbox up and down, and reaping what killed runs left behind."""

from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

from aftershock.config.topology import NAME_PATTERN, Topology
from aftershock.errors import SandboxError
from aftershock.sandbox import network, preflight
from aftershock.sandbox.boot import boot
from aftershock.sandbox.endpoints import describe
from aftershock.sandbox.options import SandboxOptions
from aftershock.sandbox.processes import Running, is_alive, kill_pids, pids_with_argument, stop
from aftershock.sandbox.state import Report, info_path, quiet, registry


def up(topology: Topology, options: SandboxOptions | None = None, report: Report = quiet) -> dict:
    """Boot the sandbox; on any failure or interrupt, tear down what was started.

    Returns the sandbox description (endpoints, no secrets).
    """
    options = options or SandboxOptions()
    preflight.check_all()
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
        boot(topology, options, report)
    except BaseException:
        kept = keep_logs(topology)
        report("sandbox", f"boot failed: logs kept in {kept}; tearing down what was started")
        down(topology)
        raise
    info = describe(topology) | {
        "options": options.as_dict(),
        "booted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "boot_seconds": round(time.monotonic() - began, 2),
    }
    info_path(topology).write_text(json.dumps(info, indent=2))
    report("sandbox", f"up in {info['boot_seconds']:.1f} s")
    return info


def keep_logs(topology: Topology) -> Path:
    """Copy the sandbox's logs out of its state directory, which `down` removes."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = topology.state_root / "failed-boots" / f"{topology.name}-{stamp}"
    if topology.log_dir.exists():
        shutil.copytree(topology.log_dir, target, dirs_exist_ok=True)
    return target


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


def down(topology: Topology, keep_state: bool = False, report: Report = quiet) -> list[str]:
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


CLIENTS = ("shop-", "relay-", "fulfil-")


def _stop_waves(entries: dict[str, Running]) -> list[tuple[list[Running], float]]:
    """Registered daemons in stopping order, each wave with its SIGTERM grace period.

    Clients first (the edge, the shops, the event daemons), then Patroni,
    then etcd, the Redis instances and the brokers.
    `down` discards all state, so graceful shutdown buys nothing but time:
    Patroni's leader waits for its sync standby and etcd tries to hand over
    leadership to members that are stopping too. Short grace periods, then
    SIGKILL, keep teardown within seconds; PostgreSQL orphans left by a killed
    Patroni are swept with the namespace.
    """
    groups = [
        ([n for n in entries if n == "haproxy" or n.startswith(CLIENTS)], 2.0),
        ([n for n in entries if n.startswith(("patroni-", "postgres-"))], 2.0),
        ([n for n in entries if n.startswith(("etcd-", "redis-", "catalog-", "broker-"))], 1.0),
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
