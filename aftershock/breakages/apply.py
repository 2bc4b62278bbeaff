"""Applying and undoing breakages: recorded before they act, undone with certainty.

    with broken(topology, "replay_paused", region="tokyo"):
        ...  # the platform is broken; the experiment does not know it

`apply` writes the ledger entry first, then breaks, then notes what it
touched; if breaking fails half-way the undo runs at once and the error
says what happened. `undo_all` mends everything the ledger holds, newest
first, and runs at `sandbox heal` and before a shared sandbox is reused.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from aftershock.breakages.catalog import get
from aftershock.breakages.ledger import Applied, BreakageLedger
from aftershock.config.topology import Topology
from aftershock.errors import SandboxError


class BreakageFailed(SandboxError):
    """A breakage could not be applied (undone already) or undone (still in the ledger)."""


def apply(topology: Topology, name: str, **given: Any) -> Applied:
    """Break the platform with breakage `name`; the ledger entry that will undo it."""
    breakage = get(name)
    params = breakage.params(given)
    book = BreakageLedger.of(topology)
    entry = book.record(name, params)
    try:
        touched = breakage.apply(topology, params)
    except Exception as exc:
        try:
            breakage.undo(topology, params, {})
        finally:
            book.forget(entry.id)
        raise BreakageFailed(f"breakage {name} could not be applied: {exc}") from exc
    return book.touched(entry, touched)


def undo(topology: Topology, entry: Applied) -> None:
    """Mend `entry`; it leaves the ledger only once mended (a failed undo stays to retry)."""
    try:
        get(entry.name).undo(topology, entry.params, entry.touched)
    except Exception as exc:
        raise BreakageFailed(f"breakage {entry.name} could not be undone: {exc}") from exc
    BreakageLedger.of(topology).forget(entry.id)


def undo_named(topology: Topology, name: str) -> list[str]:
    """Mend every applied breakage called `name`; the names mended."""
    found = [e for e in BreakageLedger.of(topology).entries() if e.name == name]
    for entry in reversed(found):
        undo(topology, entry)
    return [e.name for e in found]


def undo_all(topology: Topology) -> list[str]:
    """Mend everything the ledger holds, newest first; each failure is collected, then raised."""
    mended, failures = [], []
    for entry in reversed(BreakageLedger.of(topology).entries()):
        try:
            undo(topology, entry)
            mended.append(entry.name)
        except BreakageFailed as exc:
            failures.append(str(exc))
    if failures:
        raise BreakageFailed("; ".join(failures))
    return mended


@contextlib.contextmanager
def broken(topology: Topology, name: str, **given: Any) -> Iterator[Applied]:
    """The platform broken with `name` for the block; mended when it ends, however it ends."""
    entry = apply(topology, name, **given)
    try:
        yield entry
    finally:
        undo(topology, entry)
