"""Locust as a subprocess: start a load, stop it for certain, summarize what it recorded.

The harness never imports locust (it monkey-patches the whole process with
gevent): Locust runs as `python -m locust` in its own session, and what it
leaves in the run directory (history, timeline, log, CSV stats) is read back
from disk. A registry file in the state root names the running Locust by
PID and start time, so a stop finds it from any process, also after the
one that started it was killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aftershock.config.service_contract import load_contract
from aftershock.config.topology import Topology
from aftershock.errors import EvidenceMissing, SandboxError
from aftershock.load import history, task_mix, timeline
from aftershock.load.runs import Run
from aftershock.load.schedules import SCHEDULES
from aftershock.sandbox.processes import is_alive, start_time
from aftershock.sandbox.state import info_path, require_up

SHAPES = ("none", *SCHEDULES)
STOP_GRACE = 15.0  # seconds Locust gets to stop its users and write its files
LOG_FILE = "locust.log"
RUN_SETTINGS = "load.json"  # the settings of a run, written before Locust starts
STOP_FILE = "stop.json"  # written when the harness stops the run, before it signals Locust
EXIT_FILE = "exit.json"  # Locust's exit code, written by the process that waited for it


class LoadError(SandboxError):
    """A load run that cannot start, or that Locust refused."""


@dataclass(frozen=True)
class LoadSettings:
    """One Locust run: where it points, how hard, for how long, where evidence goes."""

    host: str
    run_dir: Path
    users: int = 20
    spawn_rate: float = 10.0
    shape: str = "steady"
    duration: float = 60.0
    processes: int = 1
    think_time: str = task_mix.DEFAULT_THINK_TIME
    task_weights: str = task_mix.DEFAULT_WEIGHTS
    products: int = 1000
    run_id: str = ""
    # Share of acknowledged checkouts sent again, same key, through the other region.
    resubmit_share: float = 0.1
    # The service's locustfile (written on aftershock.recording); "": the shop's, from its contract.
    locustfile: str = ""

    def locustfile_path(self) -> Path:
        """The locustfile Locust runs: the one given, else the default service contract's."""
        return Path(self.locustfile) if self.locustfile else load_contract().locustfile

    def validate(self) -> None:
        """Raise LoadError on the first bad value, before anything starts."""
        if not self.host.startswith(("http://", "https://")):
            raise LoadError(f"host must be an http(s) URL, not {self.host!r}")
        if not 1 <= self.users <= 100_000:
            raise LoadError(f"users must be between 1 and 100000, not {self.users}")
        if not self.spawn_rate > 0:
            raise LoadError(f"spawn rate must be above 0, not {self.spawn_rate}")
        if self.shape not in SHAPES:
            raise LoadError(f"shape must be one of {', '.join(SHAPES)}, not {self.shape!r}")
        if not 1 <= self.duration <= 7 * 24 * 3600:
            raise LoadError(f"duration must be 1 s to 7 days, not {self.duration} s")
        if not 0.0 <= self.resubmit_share <= 1.0:
            raise LoadError(f"resubmit share must be between 0 and 1, not {self.resubmit_share}")
        if not 1 <= self.processes <= 64:
            raise LoadError(f"processes must be between 1 and 64, not {self.processes}")
        try:
            task_mix.weights(self.task_weights)
            task_mix.think_time(self.think_time)
        except ValueError as exc:
            raise LoadError(str(exc)) from None
        if not self.locustfile_path().is_file():
            raise LoadError(f"the locustfile is missing: {self.locustfile_path()}")

    def command(self) -> list[str]:
        """The Locust command line for these settings."""
        command = [
            sys.executable, "-m", "locust", "-f", str(self.locustfile_path()), "--headless",
            "--host", self.host, "-u", str(self.users), "-r", str(self.spawn_rate),
            "-t", f"{round(self.duration)}s", "--stop-timeout", "5",
            "--csv", str(self.run_dir / "locust"), "--logfile", str(self.run_dir / LOG_FILE),
            "--exit-code-on-error", "0", "--only-summary",
            "--run-dir", str(self.run_dir), "--think-time", self.think_time,
            "--task-weights", self.task_weights, "--products", str(self.products),
            "--resubmit-share", str(self.resubmit_share),
        ]  # fmt: skip
        if self.shape != "none":
            command += ["--shape", self.shape]
        if self.run_id:
            command += ["--run-id", self.run_id]
        if self.processes > 1:
            command += ["--processes", str(self.processes)]
        return command


@dataclass(frozen=True)
class LoadRun:
    """A Locust that was started: enough to find, watch and stop it from any process."""

    pid: int
    starttime: int
    run_dir: str
    host: str
    started: float

    def alive(self) -> bool:
        return is_alive(self.pid, self.starttime)


def default_run_dir(root: Path = Path("results")) -> Path:
    return root / f"load-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"


def registry_path(state_root: Path, label: str) -> Path:
    """Where the running load for `label` (a sandbox name, or a host label) is written down."""
    return state_root / "loads" / f"{label}.json"


def added_registry(topology: Topology) -> Path:
    """Where a drill's step 3 writes down the second load it runs beside the main one."""
    return registry_path(topology.state_root, f"{topology.name}-capacity")


def stop_sandbox_loads(topology: Topology) -> tuple[dict[str, Any], dict[str, Any]]:
    """Stop the sandbox's load and a drill's added load beside it: (main, added). Idempotent."""
    added = stop(added_registry(topology))
    return stop(registry_path(topology.state_root, topology.name)), added


def last_run_dir(registry: Path) -> Path | None:
    """The run directory of the newest load started under `registry`, running or not."""
    try:
        return Path(registry.with_suffix(".last").read_text().strip())
    except OSError:
        return None


def running(registry: Path) -> LoadRun | None:
    """The load the registry names, if it still runs."""
    try:
        run = LoadRun(**json.loads(registry.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return run if run.alive() else None


def launch(settings: LoadSettings, registry: Path) -> tuple[LoadRun, subprocess.Popen[bytes]]:
    """Start Locust in its own session and write it down; refuses a second load per registry.

    A run always has a run id (random when none was given): it prefixes
    every Idempotency-Key, so the orders checker can find the run's orders.
    """
    settings.validate()
    if not settings.run_id:
        settings = replace(settings, run_id=uuid.uuid4().hex[:8])
    if (current := running(registry)) is not None:
        raise LoadError(
            f"a load already runs (pid {current.pid}, {current.run_dir}): "
            "stop it first (`aftershock load --stop` or the stop_load action)"
        )
    if (settings.run_dir / history.HISTORY_FILE).exists():
        raise LoadError(f"{settings.run_dir} already holds a run's history: pick a new run dir")
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    # `started`: the load coverage counts a Locust silent from its launch on as silent.
    settings_doc = {**asdict(settings), "run_dir": str(settings.run_dir), "started": time.time()}
    (settings.run_dir / RUN_SETTINGS).write_text(json.dumps(settings_doc, indent=2))
    with (settings.run_dir / "locust.out").open("ab") as output:
        process = subprocess.Popen(
            settings.command(), stdout=output, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    began = start_time(process.pid)
    run = LoadRun(process.pid, began or 0, str(settings.run_dir), settings.host, time.time())
    registry.parent.mkdir(parents=True, exist_ok=True)
    registry.write_text(json.dumps(asdict(run)))
    registry.with_suffix(".last").write_text(str(settings.run_dir.resolve()))
    return run, process


def stop(registry: Path, grace: float = STOP_GRACE) -> dict[str, Any]:
    """Stop the load the registry names: SIGINT, wait, then SIGKILL its group. Idempotent."""
    run = running(registry)
    registry.unlink(missing_ok=True)
    if run is None:
        return {"stopped": False, "reason": "no load was running"}
    # Written first: a Locust that exits on the signal ended because we asked.
    with contextlib.suppress(OSError):
        Path(run.run_dir, STOP_FILE).write_text(json.dumps({"at": time.time(), "pid": run.pid}))
    # SIGINT to the master only: it stops its users (each may finish its task
    # within --stop-timeout), its workers, and writes its files. Not SIGTERM:
    # a headless Locust with a load shape installs its SIGTERM handler only
    # after the shape ends, so SIGTERM kills it on the spot (exit -15) and its
    # last invokes never reach the history (an order nobody invoked).
    with contextlib.suppress(ProcessLookupError):  # it ended on its own
        os.kill(run.pid, signal.SIGINT)
    deadline = time.monotonic() + grace
    while run.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    killed = run.alive()
    with contextlib.suppress(ProcessLookupError):  # it ended on its own
        os.killpg(run.pid, signal.SIGKILL)  # workers, and the master if it hung
    return {"stopped": True, "pid": run.pid, "run_dir": run.run_dir, "sigkilled": killed}


def record_exit(run_dir: Path, code: int) -> None:
    """Write down how Locust ended: its exit code, when, and whether the harness stopped it."""
    stopped = (run_dir / STOP_FILE).exists()
    doc = {"code": code, "at": time.time(), "stopped_by_harness": stopped}
    (run_dir / EXIT_FILE).write_text(json.dumps(doc))


def summarize(run_dir: Path) -> dict[str, Any]:
    """What the run recorded: operations by outcome, requests, errors, p95, well-formedness."""
    found = history.read(run_dir / history.HISTORY_FILE)
    shape = history.operations(found.records)
    requests = history.read(run_dir / history.TIMELINE_FILE).records
    stats = timeline.summarize(requests, timeline.span_s(requests))
    return {
        "run_dir": str(run_dir),
        "operations": len(shape.operations),
        "ok": shape.count(history.OK),
        "fail": shape.count(history.FAIL),
        "info": shape.count(history.INFO),
        "pending": len(shape.pending),
        "malformed": len(shape.problems),
        "torn_lines": found.torn,
        "requests": stats.requests,
        "errors": stats.errors,
        "error_rate": stats.error_rate,
        "rps": round(stats.rps, 1),
        "p95_ms": stats.p95_ms,
    }


def sandbox_host(topology: Topology) -> tuple[str, int]:
    """The edge URL and catalog size of a sandbox that is up."""
    info = json.loads(info_path(require_up(topology)).read_text())
    return topology.edge_url, int(info.get("options", {}).get("products", 1000))


def find_run(topology: Topology, run_dir: str = "") -> Run:
    """The run at `run_dir`, else the newest load started against `topology`."""
    registry = registry_path(topology.state_root, topology.name)
    path = Path(run_dir) if run_dir else last_run_dir(registry)
    recorded = path is not None and any(
        (path / name).exists() for name in (RUN_SETTINGS, history.TIMELINE_FILE)
    )
    if path is None or not recorded:
        where = run_dir or f"sandbox {topology.name}"
        raise EvidenceMissing(
            f"no load run recorded for {where}: start one (start_load, `aftershock load`) "
            "or pass run_dir"
        )
    current = running(registry)
    live = current is not None and Path(current.run_dir).resolve() == path.resolve()
    try:
        run_id = str(json.loads((path / RUN_SETTINGS).read_text()).get("run_id", ""))
    except (OSError, ValueError):
        run_id = ""
    return Run(path, live, run_id)
