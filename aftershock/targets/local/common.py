"""What every local fault shares: the ledger, argument checks, restarting daemons."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import Any

from aftershock.config.topology import Topology
from aftershock.errors import SandboxError
from aftershock.sandbox.processes import is_alive, kill_pids, respawn
from aftershock.sandbox.readiness import wait_until
from aftershock.sandbox.state import registry
from aftershock.targets.ledger import Entry, Ledger

START_TIMEOUT = 60.0


class FaultConflict(SandboxError):
    """The same or a conflicting fault is already injected."""


class FaultUnavailable(SandboxError):
    """This machine cannot inject the fault (e.g. a missing kernel module); nothing was done."""


def ledger(topology: Topology) -> Ledger:
    return Ledger(topology.state_dir / "faults.json")


def check_choice(value: str, choices: tuple[str, ...], what: str = "region") -> None:
    """Refuse an unknown value before anything is recorded or touched."""
    if value not in choices:
        raise SandboxError(f"unknown {what} {value!r}: choose one of {', '.join(choices)}")


def require_up(topology: Topology) -> None:
    if not (topology.state_dir / "sandbox.json").exists():
        raise SandboxError(
            f"sandbox {topology.name} is not up: run `aftershock sandbox up --name {topology.name}`"
        )


def record(
    topology: Topology,
    fault: str,
    params: dict[str, Any],
    busy: str,
    conflicts: tuple[str, ...] = (),
) -> Entry:
    """Write the fault's intent to the ledger before it acts.

    Refuses when the same fault, or one of `conflicts`, is active with the
    same parameters.
    """
    require_up(topology)
    book = ledger(topology)
    if any(book.find(name, params) for name in (fault, *conflicts)):
        raise FaultConflict(f"{busy} already: undo it first, or run `aftershock fault heal --all`")
    return book.record(Entry(fault, params))


def forget(topology: Topology, fault: str, params: dict[str, Any]) -> None:
    book = ledger(topology)
    entry = book.find(fault, params)
    if entry:
        book.forget(entry.id)


def act_or_forget(topology: Topology, entry: Entry, action: Callable[[], Any]) -> Any:
    """Run an all-or-nothing fault; when it fails (and undid itself), drop its ledger entry."""
    try:
        return action()
    except Exception:
        ledger(topology).forget(entry.id)
        raise


def start_daemon(topology: Topology, name: str, ready: Callable[[], bool]) -> int:
    """Start a registered daemon again with its recorded command; no-op if it runs.

    Waits until `ready()` holds (also when it was already running).
    """
    reg = registry(topology)
    entries = reg.load()
    if name not in entries:
        raise SandboxError(f"{name} is not part of sandbox {topology.name}")
    previous = entries[name]
    if is_alive(previous.pid, previous.starttime):
        wait_until(name, ready, START_TIMEOUT)
        return previous.pid
    proc, running = respawn(previous)
    reg.add(running)
    wait_until(name, ready, START_TIMEOUT, {name: (proc, previous.log_path)})
    return running.pid


def daemon_pid(topology: Topology, name: str) -> int | None:
    """The PID of a registered daemon if it runs, else None."""
    entry = registry(topology).load().get(name)
    if entry and is_alive(entry.pid, entry.starttime):
        return entry.pid
    return None


def signal_daemon(topology: Topology, name: str, signum: int) -> int | None:
    """Send `signum` to a registered daemon's process group; its PID, or None if it is gone."""
    pid = daemon_pid(topology, name)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(os.getpgid(pid), signum)
    return pid


def kill_daemon(topology: Topology, fault: str, region: str, daemon: str) -> dict[str, Any]:
    """Record `fault`, then SIGKILL the registered `daemon` and its process group."""
    entry = record(topology, fault, {"region": region}, f"{daemon} is killed")
    pid = daemon_pid(topology, daemon)
    if pid:
        kill_pids([pid])
    return {"fault": fault, "id": entry.id, "region": region, "killed_pid": pid}
