"""Load as Chaos Toolkit activities: `start_load` (run it in the background) and `stop_load`.

The experiment's configuration picks the host (`aftershock_host`, else the
sandbox's edge) and the registry the run is written down in, so
`stop_load` finds the Locust `start_load` started from any process.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from chaoslib.types import Configuration, Secrets

from aftershock.config.target import sandbox
from aftershock.load import history
from aftershock.load.runner import (
    LoadError,
    LoadSettings,
    default_run_dir,
    launch,
    record_exit,
    registry_path,
    running,
    sandbox_host,
    stop,
    stop_sandbox_loads,
    summarize,
)

__all__ = ["start_load", "stop_load", "wait_until_sending"]

SENDING_TIMEOUT_S = 90.0


def start_load(
    users: int = 20,
    spawn_rate: float = 10.0,
    shape: str = "steady",
    duration: int = 60,
    run_dir: str = "",
    configuration: Configuration = None,
    secrets: Secrets = None,
    *,
    hot_products: int = 0,
    resubmit_share: float = 0.1,
) -> dict[str, Any]:
    """Run Locust against the target for `duration` seconds and return what it recorded.

    Blocks until the run ends (or `stop_load` ends it): use it as a
    background activity (`"background": true`) beside the faults. The host
    is `aftershock_host` from the configuration, else the sandbox's edge;
    evidence goes to `run_dir` (default `results/load-<time>`). With
    `hot_products`, shoppers only buy the catalog's first N products (a
    flash sale: both regions sell the same items at once). `resubmit_share`
    of the acknowledged checkouts are sent again, same key, through the
    other region.
    """
    users = int(users)
    spawn_rate = float(spawn_rate)
    duration = int(duration)
    hot_products = int(hot_products)
    resubmit_share = float(resubmit_share)
    settings, registry = _settings(users, spawn_rate, shape, duration, run_dir, configuration)
    settings = replace(settings, resubmit_share=float(resubmit_share))
    if hot_products > 0:
        settings = replace(settings, products=min(settings.products, int(hot_products)))
    run, process = launch(settings, registry)
    try:
        code = process.wait(timeout=settings.duration + 120)
    except subprocess.TimeoutExpired:
        stop(registry)
        code = process.wait()
    finally:
        if running(registry) is None:
            registry.unlink(missing_ok=True)
    record_exit(settings.run_dir, code)
    return {**summarize(settings.run_dir), "exit_code": code, "pid": run.pid}


def wait_until_sending(
    timeout: float = SENDING_TIMEOUT_S, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Block until the load `start_load` launched has recorded a request; how long that took.

    Put it right after the background load: the next activity's pause then
    counts from a load that sends, not from a Locust still starting up (under
    CI's contention it took 14 s). Only the harness's own start-up is waited
    for: a request counts once answered or timed out, whatever the answer.
    Raises LoadError when none is recorded within `timeout` seconds; the load
    coverage verdict then says what the load missed.
    """
    registry = registry_path(sandbox(configuration).state_root, sandbox(configuration).name)
    began = time.monotonic()
    while (waited := time.monotonic() - began) < float(timeout):
        run = running(registry)
        if run is not None and _has_a_request(Path(run.run_dir) / history.TIMELINE_FILE):
            return {"sending_after_s": round(waited, 2), "run_dir": run.run_dir}
        time.sleep(0.2)
    state = "runs but recorded no request" if running(registry) else "is not running"
    raise LoadError(
        f"the load {state} {float(timeout):.0f} s after the experiment started it: "
        "see locust.out and locust.log in its run directory"
    )


def _has_a_request(timeline: Path) -> bool:
    try:
        return timeline.stat().st_size > 0
    except OSError:
        return False


def stop_load(configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """Stop the load `start_load` runs for this target; safe twice and when none runs."""
    # A drill's step 3 runs a second load beside it: stopped with it.
    stopped, added = stop_sandbox_loads(sandbox(configuration))
    return {**stopped, "added_load": added} if added.get("stopped") else stopped


def _settings(
    users: int,
    spawn_rate: float,
    shape: str,
    duration: float,
    run_dir: str,
    configuration: dict[str, Any] | None,
) -> tuple[LoadSettings, Path]:
    cfg = configuration or {}
    topology = sandbox(configuration)
    host = str(cfg.get("aftershock_host", ""))
    products = int(cfg.get("aftershock_products", 1000))
    if not host:
        host, products = sandbox_host(topology)
    settings = LoadSettings(
        host=host,
        run_dir=Path(run_dir) if run_dir else default_run_dir(),
        users=int(users),
        spawn_rate=float(spawn_rate),
        shape=shape,
        duration=float(duration),
        products=products,
    )
    return settings, registry_path(topology.state_root, topology.name)
