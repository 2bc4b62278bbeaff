"""The fault ledger: every fault is written here before it acts.

`heal` undoes exactly what the ledger holds and forgets each entry only
after its undo succeeded, so a harness killed mid-fault leaves a record
that the next `heal` (or `sandbox up`) can act on.

Beside the ledger (the faults active now) an append-only journal keeps
every injection and heal with its wall-clock time: the evidence that
recovery is measured from, and that a report draws the fault windows with.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aftershock.errors import EvidenceMissing


@dataclass(frozen=True)
class Entry:
    """One injected (or about to be injected) fault."""

    fault: str
    params: dict[str, Any]
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    recorded_at: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds")
    )


@dataclass(frozen=True)
class Event:
    """One line of the journal: a fault injected or healed, at `at` (Unix seconds)."""

    event: str  # "inject", "undo" (its undo begins) or "heal" (undone)
    id: str
    fault: str
    params: dict[str, Any]
    at: float


class Ledger:
    """A JSON file of active fault entries; writes are atomic and fsynced.

    The journal (`<ledger>.log`, JSON Lines) gets an `inject` line when an
    entry is recorded and a `heal` line when it is forgotten.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.journal = path.with_suffix(".log")

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
        self._log(Event("inject", entry.id, entry.fault, entry.params, time.time()))
        return entry

    def undoing(self, entry: Entry) -> None:
        """Journal that `entry`'s undo begins: the fault's window ends here, not at the heal.

        An undo can take seconds (a node started, a replica rejoining), and
        what it costs the clients is failback, not the fault's.
        """
        self._log(Event("undo", entry.id, entry.fault, entry.params, time.time()))

    def forget(self, entry_id: str) -> None:
        entries = self.entries()
        self._write([e for e in entries if e.id != entry_id])
        for gone in (e for e in entries if e.id == entry_id):
            self._log(Event("heal", gone.id, gone.fault, gone.params, time.time()))

    def events(self) -> list[Event]:
        """Every injection and heal so far, oldest first; unreadable lines are skipped."""
        try:
            lines = self.journal.read_text().splitlines()
        except FileNotFoundError:
            return []
        events = []
        for line in lines:
            try:
                events.append(Event(**json.loads(line)))
            except (ValueError, TypeError):
                continue  # a line torn by a kill mid-write
        return events

    def newest_injection(self, fault: str = "", since: float = 0.0) -> Event:
        """The newest injection (of `fault`, when given) at or after `since`: when recovery starts.

        `since` is the experiment's start: an injection that failed must not
        be stood in for by an older experiment's, whose recovery is not ours.
        """
        injected = [
            e
            for e in self.events()
            if e.event == "inject" and fault in ("", e.fault) and e.at >= since
        ]
        if not injected:
            what = f"no {fault} fault" if fault else "no fault"
            when = " since the experiment began" if since else ""
            raise EvidenceMissing(f"{what} in the journal {self.journal}{when}: nothing to time")
        return injected[-1]

    def faults_since(self, since: float) -> list[tuple[Event, float | None]]:
        """Every injection at or after `since`, with when its heal was journalled (None: never)."""
        events = self.events()
        healed = {e.id: e.at for e in events if e.event == "heal"}
        return [(e, healed.get(e.id)) for e in events if e.event == "inject" and e.at >= since]

    def healed(self, injection: Event) -> Event | None:
        """The heal that undid `injection`, if one was journalled."""
        return next((e for e in self.events() if e.event == "heal" and e.id == injection.id), None)

    def undo_began(self, injection: Event) -> float | None:
        """When the undo of `injection` began: its `undo` line, else its heal, else None."""
        events = [e for e in self.events() if e.id == injection.id]
        began = next((e.at for e in events if e.event == "undo"), None)
        healed = next((e.at for e in events if e.event == "heal"), None)
        return began if began is not None else healed

    def _log(self, event: Event) -> None:
        with self.journal.open("a") as out:
            out.write(json.dumps(asdict(event)) + "\n")
            out.flush()
            os.fsync(out.fileno())

    def _write(self, entries: list[Entry]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w") as out:
            json.dump([asdict(e) for e in entries], out, indent=2)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(self.path)
