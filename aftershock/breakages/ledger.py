"""The breakage ledger: what was broken, written before it is broken, read only to undo it."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aftershock.config.topology import Topology

FILE = "breakages.json"


@dataclass(frozen=True)
class Applied:
    """One breakage in force: its name, its parameters, and what it touched (for the undo)."""

    id: str
    name: str
    params: dict[str, Any]
    touched: dict[str, Any] = field(default_factory=dict)
    at: float = 0.0


class BreakageLedger:
    """A JSON list in the sandbox's state directory; rewritten whole, atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def of(cls, topology: Topology) -> BreakageLedger:
        return cls(topology.state_dir / FILE)

    def entries(self) -> list[Applied]:
        try:
            raw = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return []
        return [Applied(**entry) for entry in raw]

    def record(self, name: str, params: dict[str, Any]) -> Applied:
        entry = Applied(uuid.uuid4().hex[:12], name, dict(params), {}, time.time())
        self._write([*self.entries(), entry])
        return entry

    def touched(self, entry: Applied, touched: dict[str, Any]) -> Applied:
        """Note what `entry` changed, as soon as it changed it: the undo needs it."""
        updated = Applied(entry.id, entry.name, entry.params, dict(touched), entry.at)
        self._write([updated if e.id == entry.id else e for e in self.entries()])
        return updated

    def forget(self, entry_id: str) -> None:
        self._write([e for e in self.entries() if e.id != entry_id])

    def _write(self, entries: list[Applied]) -> None:
        if not entries and not self.path.exists():
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f".{self.path.name}.partial")
        partial.write_text(json.dumps([asdict(e) for e in entries], indent=2))
        partial.replace(self.path)
