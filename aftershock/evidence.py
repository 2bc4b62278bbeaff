"""Where a target's evidence is on disk, and the slices of it the probes judge.

A load run leaves `history.jsonl` and `timeline.jsonl` in its run directory;
the sandbox's state root names the newest run (`load.last_run_dir`), and the
fault journal says when each fault began. Probes read these files and hand
them to `aftershock.checkers`; nothing here decides a verdict.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aftershock import history
from aftershock.faults.ledger import Event, Ledger
from aftershock.load import RUN_SETTINGS, last_run_dir, registry_path, running
from aftershock.sandbox.errors import SandboxError
from aftershock.sandbox.topology import Topology
from aftershock.targets.local.common import ledger


class EvidenceMissing(SandboxError):
    """The evidence a probe needs is not on disk (no load ran, no fault was injected)."""


@dataclass(frozen=True)
class Run:
    """One load run's directory, whether its Locust still runs, and its run id."""

    path: Path
    live: bool
    run_id: str

    @property
    def key_prefix(self) -> str:
        """What every Idempotency-Key of this run starts with."""
        return f"{self.run_id}-"


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


def recent_requests(
    run: Run, window_s: float, now: float | None = None
) -> tuple[list[dict[str, Any]], float, float]:
    """The timeline's requests that started in the last `window_s` seconds, and the bounds.

    The window ends now while the load runs, else at the run's last request
    (the output says which, so a stale window is never mistaken for a live one).
    """
    if window_s <= 0:
        raise ValueError(f"window_s must be above 0, not {window_s}")
    records = history.read(run.path / history.TIMELINE_FILE).records
    if run.live:
        end = time.time() if now is None else now
    else:
        end = max((float(r["t"]) for r in records), default=0.0)
    start = end - window_s
    return [r for r in records if start <= float(r["t"]) <= end], start, end


def fault_began(topology: Topology, fault: str = "", book: Ledger | None = None) -> Event:
    """The newest injection (of `fault`, when given) in the fault journal.

    `book` is the target's ledger (an aws or k8s target keeps its own); the
    sandbox's by default.
    """
    events = (book or ledger(topology)).events()
    injected = [e for e in events if e.event == "inject" and (not fault or e.fault == fault)]
    if not injected:
        what = f"no {fault} fault" if fault else "no fault"
        raise EvidenceMissing(f"{what} in the journal of sandbox {topology.name}: nothing to time")
    return injected[-1]
