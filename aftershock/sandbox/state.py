"""Where a sandbox keeps its records on disk."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aftershock.config.topology import Topology
from aftershock.errors import SandboxError
from aftershock.sandbox.credentials import Credentials, load_or_create
from aftershock.sandbox.processes import Registry

Report = Callable[[str, str], None]
"""Progress callback: (component, message)."""


def quiet(component: str, message: str) -> None:
    """The default progress callback: say nothing."""


def credentials_path(topology: Topology) -> Path:
    return topology.state_dir / "credentials.json"


def info_path(topology: Topology) -> Path:
    """Written when a boot completed; removed first thing by `down`."""
    return topology.state_dir / "sandbox.json"


def registry(topology: Topology) -> Registry:
    return Registry(topology.state_dir / "processes.json")


def load_credentials(topology: Topology) -> Credentials:
    return load_or_create(credentials_path(topology))


def options_of(topology: Topology) -> dict[str, Any]:
    """The options the sandbox booted with (sandbox.json); {} when it is not up."""
    try:
        info = json.loads(info_path(topology).read_text())
    except (OSError, ValueError):
        return {}
    options = info.get("options") if isinstance(info, dict) else None
    return options if isinstance(options, dict) else {}


def writers_of(topology: Topology) -> str:
    """`single-writer` or `multi-writer`: how the sandbox runs PostgreSQL."""
    return str(options_of(topology).get("topology") or "single-writer")


def require_up(topology: Topology) -> Topology:
    """`topology`, or a SandboxError that says how to bring it up."""
    if not info_path(topology).exists():
        raise SandboxError(
            f"sandbox {topology.name} is not up (no {info_path(topology)}): "
            f"run `aftershock sandbox up --name {topology.name}`"
        )
    return topology
