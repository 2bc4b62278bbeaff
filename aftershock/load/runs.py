"""A load run's evidence on disk, and the slices of it the probes judge.

A load run leaves `history.jsonl` and `timeline.jsonl` in its run directory
(`aftershock.load.runner.find_run` finds the newest); the fault journal
(`Ledger.newest_injection`) says when each fault began. Probes read these
files and hand them to `aftershock.check.checkers`; nothing here decides a
verdict.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aftershock.load import history

LAG_FILE = "replication_lag.jsonl"  # the lag recorder's samples, beside the timeline


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
