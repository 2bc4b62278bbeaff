"""The fault ledger: every fault is written here before it acts.

`heal` undoes exactly what the ledger holds and forgets each entry only
after its undo succeeded, so a harness killed mid-fault leaves a record
that the next `heal` (or `sandbox up`) can act on.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Entry:
    """One injected (or about to be injected) fault."""

    fault: str
    params: dict[str, Any]
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    recorded_at: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds")
    )


class Ledger:
    """A JSON file of active fault entries; writes are atomic and fsynced."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self) -> list[Entry]:
        try:
            raw = json.loads(self.path.read_text())
        except FileNotFoundError:
            return []
        return [Entry(**item) for item in raw]

    def find(self, fault: str, params: dict[str, Any]) -> Entry | None:
        """The active entry of `fault` with exactly `params`, if any."""
        for entry in self.entries():
            if entry.fault == fault and entry.params == params:
                return entry
        return None

    def record(self, entry: Entry) -> Entry:
        self._write([*self.entries(), entry])
        return entry

    def forget(self, entry_id: str) -> None:
        self._write([e for e in self.entries() if e.id != entry_id])

    def _write(self, entries: list[Entry]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w") as out:
            json.dump([asdict(e) for e in entries], out, indent=2)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(self.path)
