"""The helper processes some breakages run: a transit relay, an order deleter, a sorry page.

Each runs in its own process group with its output in the sandbox's log
directory, and is registered with the sandbox's daemons, so `sandbox down`
stops it even when the harness that started it was killed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from aftershock.config.topology import Topology
from aftershock.sandbox.processes import DaemonSpec, Running, is_alive, log_tail, spawn, stop
from aftershock.sandbox.readiness import wait_until
from aftershock.sandbox.state import registry

PREFIX = "breakage-"


def start(
    topology: Topology,
    name: str,
    module: str,
    arguments: Sequence[str],
    ready: Callable[[], bool],
    netns: str | None = None,
) -> Running:
    """Run `python -m module arguments` as sandbox daemon `breakage-<name>`; wait until ready."""
    spec = DaemonSpec(
        name=f"{PREFIX}{name}",
        argv=[sys.executable, "-m", module, *arguments],
        log=topology.log_path(f"{PREFIX}{name}"),
        netns=netns,
    )
    process, running = spawn(spec)
    registry(topology).add(running)
    try:
        wait_until(f"{PREFIX}{name}", ready, 15, watch={spec.name: (process, spec.log)})
    except Exception:
        stop_daemon(topology, name)
        raise
    return running


def stop_daemon(topology: Topology, name: str) -> bool:
    """Stop `breakage-<name>` if it runs; False when there was none."""
    reg = registry(topology)
    entry = reg.load().get(f"{PREFIX}{name}")
    if entry is None:
        return False
    if is_alive(entry.pid, entry.starttime):
        stop([entry], timeout=3.0)
    reg.remove([entry.name])
    return True


def tail(topology: Topology, name: str) -> str:
    return log_tail(topology.log_path(f"{PREFIX}{name}"))
