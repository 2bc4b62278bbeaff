"""Reading the request timeline while it is written, and what a window of it says."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class Tail:
    """Reads the records appended to a JSON Lines file since the last call.

    A line is taken only once its newline is on disk, so a batch caught
    half-written is read whole on the next call.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def new_records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            chunk = handle.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self.offset += len(complete)
        records = []
        for line in complete.splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return records


@dataclass(frozen=True)
class Window:
    """Requests in a stretch of time, as the client saw them."""

    requests: int
    errors: int  # no answer (status 0) or a 5xx
    seconds: float
    p95_ms: float | None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def error_share(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


def is_error(record: dict[str, Any]) -> bool:
    """A request the platform failed: no answer at all, or a 5xx."""
    status = int(record.get("status") or 0)
    return status == 0 or status >= 500


def window(records: list[dict[str, Any]], seconds: float) -> Window:
    """Count, error share and p95 latency of `records` spread over `seconds`."""
    latencies = sorted(float(r.get("ms", 0.0)) for r in records)
    p95 = latencies[max(0, math.ceil(0.95 * len(latencies)) - 1)] if latencies else None
    errors = sum(1 for r in records if is_error(r))
    return Window(len(records), errors, seconds, p95)
