"""Load helpers shared by the tests that drive real Locust runs."""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

from aftershock.config.topology import Topology
from aftershock.load.runner import LoadRun, LoadSettings, launch, stop


def fast_load(sandbox: Topology, run_dir: Path, **changes: object) -> LoadSettings:
    """A brisk load: short think time so a few seconds make hundreds of requests."""
    base: dict[str, object] = {
        "host": sandbox.edge_url, "run_dir": run_dir, "users": 20, "spawn_rate": 20.0,
        "duration": 8.0, "think_time": "0.05,0.2", "run_id": uuid.uuid4().hex[:10],
        "task_weights": "list=2,product=2,cart=1,checkout=3",
    }  # fmt: skip
    return LoadSettings(**{**base, **changes})  # type: ignore[arg-type]


@contextlib.contextmanager
def locust_running(
    settings: LoadSettings, registry: Path
) -> Iterator[tuple[LoadRun, subprocess.Popen[bytes]]]:
    """Locust started for `settings`; stopped for certain when the block ends, however."""
    try:
        yield launch(settings, registry)
    finally:
        stop(registry)
