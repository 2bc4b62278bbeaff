"""What each sandbox topology can serve, and the one-line refusal when it cannot.

The multi-writer topology (ADR-037) has no Patroni: no leader to crash or
switch over, no physical replica whose replay can pause, and two primaries
by design, so a probe that judges "at most one primary" has nothing true
to say there. Experiments that call these are refused on it, by name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aftershock.config.topology import Topology
from aftershock.errors import SandboxError
from aftershock.sandbox.state import writers_of

NEEDS_PATRONI = "multi-writer runs a primary per region and no Patroni"
SINGLE_WRITER_ONLY = {
    "kill_db_leader": f"there is no leader to kill: {NEEDS_PATRONI}",
    "crash_db_leader": f"there is no leader to crash: {NEEDS_PATRONI}",
    "stop_db_node": f"it stops a Patroni node: {NEEDS_PATRONI}",
    "start_db_node": f"it starts a Patroni node: {NEEDS_PATRONI}",
    "switchover_db": f"there is no leader to switch over: {NEEDS_PATRONI}",
    "switchback_db": f"there is no leader to switch back: {NEEDS_PATRONI}",
    "pause_replication_replay": f"it pauses a physical replica's replay: {NEEDS_PATRONI}",
    "resume_replication_replay": f"it resumes a physical replica's replay: {NEEDS_PATRONI}",
    "leader_changed": f"there is no leader to change: {NEEDS_PATRONI}",
    "primaries": "it judges at most one primary, and two primaries are multi-writer's design",
}
"""Faults and probes the multi-writer topology cannot serve, with the reason."""


class TopologyUnsupported(SandboxError):
    """The sandbox's topology cannot serve this fault, probe or experiment."""


def refuse(topology: Topology, name: str) -> None:
    """Raise, in one line, when the sandbox's topology cannot serve the function `name`."""
    kind = writers_of(topology)
    reason = SINGLE_WRITER_ONLY.get(name) if kind == "multi-writer" else None
    if reason:
        raise TopologyUnsupported(
            f"{name} is not supported by the {kind} topology of sandbox {topology.name}: {reason}"
        )


def experiment_refusal(experiment: dict[str, Any], kind: str) -> str | None:
    """Why an experiment cannot run on a `kind` sandbox (None when it can)."""
    if kind != "multi-writer":
        return None
    used = sorted(_functions(experiment) & SINGLE_WRITER_ONLY.keys())
    if not used:
        return None
    return f"cannot run on the {kind} topology: {used[0]}: {SINGLE_WRITER_ONLY[used[0]]}" + (
        f" (also {', '.join(used[1:])})" if used[1:] else ""
    )


def _functions(node: Any) -> set[str]:
    """Every provider function an experiment names, wherever it sits."""
    found: set[str] = set()
    if isinstance(node, dict):
        func = node.get("func")
        if isinstance(func, str):
            found.add(func)
        for value in node.values():
            found |= _functions(value)
    elif isinstance(node, list):
        for value in node:
            found |= _functions(value)
    return found


def experiment_file_refusal(path: Path, kind: str) -> str | None:
    """`experiment_refusal` for an experiment file."""
    return experiment_refusal(json.loads(path.read_text()), kind)
