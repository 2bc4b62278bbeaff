"""What the `aws` and `k8s` drivers share: the context a fault runs in and its ledger entries.

A remote fault records in the fault ledger, before it acts, the call's own
parameters (`region`, `a`/`b`: how its undo and `heal_all` find it) and
under `touched` what it is about to change as it is now: the network ACL
each subnet was associated with, the replica count of each deployment, the
Aurora cluster that was the global writer. The undo restores exactly that
and forgets the entry only once it succeeded, so `heal_all` (also after the
harness was killed) can simply be run again.

The ledger is `<state root>/<aftershock_sandbox>/faults-<target>.json`, beside
the sandbox's and never it, with its journal, so the recovery probes time a
remote fault exactly as they time a local one.
A dry run keeps its ledger in memory and never touches that file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aftershock.config.target_file import TargetFile
from aftershock.errors import SandboxError
from aftershock.sandbox.http import get
from aftershock.targets.ledger import Entry, Event, Ledger
from aftershock.targets.plan import Call, CallLog

TOUCHED = "touched"
READY_TIMEOUT = 2.0  # seconds an endpoint gets to answer its readiness check


class FaultConflict(SandboxError):
    """The same or a conflicting fault is already injected."""


class HealIncomplete(SandboxError):
    """Some recorded faults could not be undone; they stay in the ledger."""


class MemoryLedger(Ledger):
    """A ledger that lives in memory: a dry run plans undos without writing the real one."""

    def __init__(self) -> None:
        self._entries: list[Entry] = []
        self._events: list[Event] = []

    def entries(self) -> list[Entry]:
        return list(self._entries)

    def events(self) -> list[Event]:
        return list(self._events)

    def _write(self, entries: list[Entry]) -> None:
        self._entries = list(entries)

    def _log(self, event: Event) -> None:
        self._events.append(event)


@dataclass
class Context:
    """Everything one fault or probe needs: the target file, its callers, the ledger, the log."""

    target: TargetFile
    ledger: Ledger
    log: CallLog
    aws: Any = None  # aftershock.targets.aws.calls.AwsCaller
    kube: Any = None  # aftershock.targets.k8s.calls.KubeCaller
    dry_run: bool = False
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    extra: dict[str, Any] = field(default_factory=dict)

    def wait(self, what: str, check: Callable[[], bool], timeout: float, every: float) -> None:
        """Poll `check` until it holds; a dry run only says it would wait."""
        if self.dry_run:
            self.log.note(f"wait up to {timeout:.0f} s until {what}")
            return
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise SandboxError(f"timed out after {timeout:.0f} s waiting until {what}")
            self.sleep(every)


def find(ctx: Context, fault: str, key: dict[str, Any]) -> Entry | None:
    """The active entry of `fault` whose call parameters are `key`."""
    for entry in ctx.ledger.entries():
        if entry.fault == fault and call_params(entry) == key:
            return entry
    return None


def call_params(entry: Entry) -> dict[str, Any]:
    """The parameters the fault was called with (what its undo is called with)."""
    return {k: v for k, v in entry.params.items() if k != TOUCHED}


def record(
    ctx: Context,
    fault: str,
    key: dict[str, Any],
    touched: dict[str, Any],
    busy: str,
    conflicts: tuple[str, ...] = (),
) -> Entry:
    """Write the fault and what it is about to change to the ledger, before it acts."""
    if any(find(ctx, name, key) for name in (fault, *conflicts)):
        raise FaultConflict(f"{busy} already: undo it first, or run `aftershock fault heal --all`")
    return ctx.ledger.record(Entry(fault, {**key, TOUCHED: touched}))


def forget(ctx: Context, entry: Entry | None) -> None:
    if entry is not None:
        ctx.ledger.forget(entry.id)


def act_or_forget(ctx: Context, entry: Entry, action: Callable[[], Any]) -> Any:
    """Run a single-call fault; when the call fails nothing changed, so drop its entry."""
    try:
        return action()
    except Exception:
        ctx.ledger.forget(entry.id)
        raise


def result(ctx: Context, fault: str, mark: int, **details: Any) -> dict[str, Any]:
    """A fault's return value: what it did, with every call it made (for the journal)."""
    return {"fault": fault, **details, "calls": [c.as_dict() for c in ctx.log.since(mark)]}


def heal_all(ctx: Context, undo: dict[str, Callable[..., dict[str, Any]]]) -> list[dict[str, Any]]:
    """Undo every entry in the ledger, newest first; every entry gets its try.

    An entry leaves the ledger only when its undo succeeded; the failures
    are raised together at the end, so a heal can simply be run again.
    """
    undone: list[dict[str, Any]] = []
    failures: list[str] = []
    for entry in reversed(ctx.ledger.entries()):
        action = undo.get(entry.fault)
        try:
            if action is None:
                raise SandboxError(f"unknown fault {entry.fault!r} for this target")
            ctx.ledger.undoing(entry)
            undone.append(action(ctx, **call_params(entry)))
        except Exception as exc:  # noqa: BLE001 - botocore, kubernetes and chaoslib errors alike
            failures.append(f"{entry.fault} {call_params(entry)} ({entry.id}): {exc}")
    if failures:
        raise HealIncomplete(
            f"{len(failures)} fault(s) not healed, {len(undone)} healed: " + "; ".join(failures)
        )
    return undone


def endpoint_readiness(ctx: Context, where: str, endpoint: str) -> tuple[int, Any] | None:
    """GET `<endpoint>/health/readiness`; a dry run logs it and answers nothing."""
    url = f"{endpoint}/health/readiness"
    ctx.log.add(Call("http", where, "GET", {"url": url}))
    if ctx.dry_run:
        return None
    return get(url, timeout=READY_TIMEOUT)
