"""The recovery budgets verdicts judge against: the platform's promise and its design claims.

The architecture record promises RTO < 5 min and RPO < 1 min, and claims
that a region failure and a database failure each recover in 30 s. Its
event path promises that a partition's queued events are reconciled in
under 5 min, and alarms when mirror lag passes 10 s. The two
are judged apart: a failover in 45 s keeps the promise and breaks the claim.

A target file may set its own (`budgets:`, tighter for a sandbox, say),
and an experiment's configuration may set `aftershock_budgets` (a mapping,
or its JSON text through env indirection) over both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from aftershock.errors import SandboxError

KEYS = (
    "promise_rto_s",
    "promise_rpo_s",
    "claim_region_rto_s",
    "claim_database_rto_s",
    "promise_drain_s",
    "alarm_mirror_lag_s",
    "promise_convergence_s",
)


@dataclass(frozen=True)
class Budgets:
    """Seconds: the promise (RTO, RPO) and the design claims per kind of failure."""

    promise_rto_s: float = 300.0
    promise_rpo_s: float = 60.0
    claim_region_rto_s: float = 30.0
    claim_database_rto_s: float = 30.0
    promise_drain_s: float = 300.0
    # ADR-037: after a partition heals, both writers agree again within 5 min.
    promise_convergence_s: float = 300.0
    alarm_mirror_lag_s: float = 10.0

    def claim_s(self, kind: str) -> float:
        """The design claim for a `region` or `database` failure."""
        if kind not in ("region", "database"):
            raise SandboxError(f"claim must be region or database, not {kind!r}")
        return self.claim_region_rto_s if kind == "region" else self.claim_database_rto_s


def problems_of(data: Any, where: str = "budgets") -> list[str]:
    """Every problem of a budgets mapping, one per field; empty when it is good."""
    if not isinstance(data, dict):
        return [f"{where}: must be a mapping of {', '.join(KEYS)}"]
    found = []
    for key, value in data.items():
        if key not in KEYS:
            found.append(f"{where}.{key}: unknown field (one of {', '.join(KEYS)})")
        elif isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            found.append(f"{where}.{key}: must be a number of seconds above 0")
    return found


def budgets(configuration: dict[str, Any] | None) -> Budgets:
    """The budgets of this run: the record's, with `aftershock_budgets` over them."""
    raw = (configuration or {}).get("aftershock_budgets") or {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise SandboxError(f"aftershock_budgets is not JSON: {raw[:80]!r}") from None
    problems = problems_of(raw, "aftershock_budgets")
    if problems:
        raise SandboxError("; ".join(problems))
    return replace(Budgets(), **{k: float(v) for k, v in raw.items()})
