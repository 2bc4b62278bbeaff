"""The resilience score: the weighted share of the platform's promises an experiment kept.

This is the one place the score is defined. Four promises, each with a weight:

| promise    | weight | kept when                                                    |
|------------|--------|--------------------------------------------------------------|
| orders     | 3      | the order-integrity verdict is true (none lost, duplicated   |
|            |        | or unexpected)                                               |
| rto        | 2      | the recovery verdict is true: recovered within its target    |
| hypothesis | 2      | the share of the other probes met: steady state before and   |
|            |        | after the method, and every other verdict                    |
| lag        | 1      | the share of replication-lag probes (hypothesis or verdict)  |
|            |        | that met their tolerance                                     |

Zero order loss weighs most because it is the one promise a customer cannot
be compensated for; lag weighs least because it matters through the other
three. A promise an experiment does not check is left out of its score (not
counted as kept). A check that could not look (`unknown`, a failed probe)
counts as not kept: a score is never raised by missing evidence.

An experiment's score is kept weight / checked weight, as 0..100. A run's
score pools every promise of every experiment the same way, so an
experiment that checks more promises weighs more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WEIGHTS: dict[str, float] = {"orders": 3.0, "rto": 2.0, "hypothesis": 2.0, "lag": 1.0}


@dataclass(frozen=True)
class Promise:
    """One promise as an experiment checked it: the share kept (0..1) and how it was judged."""

    name: str
    kept: float
    detail: str

    @property
    def weight(self) -> float:
        return WEIGHTS[self.name]


def score(promises: list[Promise]) -> float | None:
    """Kept weight over checked weight, 0..100 rounded to 0.1; None when nothing was checked."""
    checked = sum(p.weight for p in promises)
    if checked == 0:
        return None
    return round(100.0 * sum(p.weight * p.kept for p in promises) / checked, 1)


def promises_of(checks: list[dict[str, Any]]) -> list[Promise]:
    """The promises a list of checks decides.

    Each check is `{"promise": name, "met": bool}` as `figures` extracts it
    from the journal: hypothesis probes before and after, and verdicts.
    """
    by_promise: dict[str, list[bool]] = {}
    for check in checks:
        by_promise.setdefault(check["promise"], []).append(check["met"] is True)
    found = []
    for name in WEIGHTS:
        met = by_promise.get(name)
        if met:
            found.append(Promise(name, sum(met) / len(met), f"{sum(met)} of {len(met)} met"))
    return found


def as_dict(promises: list[Promise]) -> dict[str, Any]:
    """The score and its parts, for summary.json."""
    return {
        "score": score(promises),
        "promises": {
            p.name: {"kept": round(p.kept, 3), "weight": p.weight, "detail": p.detail}
            for p in promises
        },
    }


def pooled(experiments: list[dict[str, Any]]) -> float | None:
    """A run's score: every promise of every experiment (`as_dict` output), pooled."""
    parts = [p for e in experiments for p in (e.get("promises") or {}).values()]
    checked = sum(p["weight"] for p in parts)
    if checked == 0:
        return None
    return round(100.0 * sum(p["weight"] * p["kept"] for p in parts) / checked, 1)
