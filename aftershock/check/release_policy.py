"""The release gate's policy, judged: a pure function of this run and earlier ones.

Rules, each failure named so the summary can say which one broke:

- `required`: every required experiment ran and passed;
- `min_score`: the run's resilience score reaches the minimum;
- `budget.<experiment>.<rto_s|error_budget>`: a figure within its budget;
- `regression.<figure>`: a figure no worse than the median of the last N
  passing runs of the same topology by more than the stated tolerance. A
  passing run passed its experiments *and* the policy: a run the policy
  failed never moves the baseline. With fewer than N passing runs that
  measured it, the rule is not judged and says so.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from typing import Any

from aftershock.check.checkers import Result

FLOORS = {"rto": 1.0, "lag_p99": 0.01, "error_budget": 0.001}
"""The smallest worsening that counts, per figure (s, s, share of the budget)."""


def figure(experiment: Mapping[str, Any], name: str) -> float | None:
    """`rto`, `lag_p99` or `error_budget` of one experiment in a run summary."""
    if name == "rto":
        value = (experiment.get("rto") or {}).get("seconds")
    elif name == "lag_p99":
        value = ((experiment.get("replication_lag") or {}).get("under_load") or {}).get("p99_s")
    elif name == "error_budget":
        value = (experiment.get("error_budget") or {}).get("used")
    else:
        raise ValueError(f"unknown figure {name!r}")
    return None if value is None else float(value)


def passed_policy(summary: Mapping[str, Any]) -> bool:
    """A run fit for the regression baseline: its experiments passed and its policy held.

    A run judged by no policy is no baseline either: nobody checked its
    figures against anything.
    """
    policy = summary.get("policy") or {}
    return summary.get("verdict") == "passed" and policy.get("valid") is True


def judge(
    run: Mapping[str, Any],
    history: list[Mapping[str, Any]],
    required: tuple[str, ...] = (),
    min_score: float | None = None,
    budgets: Mapping[str, Mapping[str, float]] | None = None,
    regression_runs: int = 5,
    tolerance: Mapping[str, float] | None = None,
) -> Result:
    """This run's summary against the policy, and against `history` (earlier summaries)."""
    failed: list[dict[str, Any]] = []
    not_judged: list[str] = []
    experiments = {e["name"]: e for e in run.get("experiments", [])}
    for name in required:
        if name not in experiments:
            failed.append(
                {
                    "rule": "required",
                    "experiment": name,
                    "reason": f"required experiment {name} did not run",
                }
            )
        elif experiments[name].get("verdict") != "passed":
            failed.append(
                {
                    "rule": "required",
                    "experiment": name,
                    "reason": f"required experiment {name} failed",
                }
            )
    score = run.get("score")
    if min_score is not None and (score is None or float(score) < min_score):
        failed.append(
            {
                "rule": "min_score",
                "value": score,
                "limit": min_score,
                "reason": f"resilience score {score} is under the minimum {min_score:g}",
            }
        )
    for name, limits in (budgets or {}).items():
        experiment = experiments.get(name)
        for key, limit in limits.items():
            value = figure(experiment, "rto" if key == "rto_s" else key) if experiment else None
            rule = f"budget.{name}.{key}"
            if experiment is None:
                not_judged.append(f"{rule}: {name} did not run")
            elif value is None:
                failed.append(
                    {
                        "rule": rule,
                        "experiment": name,
                        "limit": limit,
                        "reason": f"{name}: no {key} measured against its budget {limit:g}",
                    }
                )
            elif value > limit:
                failed.append(
                    {
                        "rule": rule,
                        "experiment": name,
                        "value": value,
                        "limit": limit,
                        "reason": f"{name}: {key} {value:g} over its budget {limit:g}",
                    }
                )
    # Only runs that passed, their experiments and the policy both, of the same topology
    # are a baseline: a multi-writer region outage fails over in 2 s, the single writer's
    # in 10 s, and neither regressed from the other. A run the policy failed never moves
    # the median: otherwise three retries of a regression make it the baseline.
    passing = [
        h
        for h in history
        if passed_policy(h)
        and h.get("run") != run.get("run")
        and h.get("topology") == run.get("topology")
    ]
    passing.sort(key=lambda h: str(h.get("started") or ""))
    for name, experiment in experiments.items():
        for key, allowed in (tolerance or {}).items():
            _regression(
                name, experiment, key, allowed, passing, regression_runs, failed, not_judged
            )
    details = {"failed": failed, "not_judged": not_judged, "history_runs": len(passing)}
    if failed:
        return Result("release_policy", False, details, "; ".join(f["reason"] for f in failed))
    return Result(
        "release_policy",
        True,
        details,
        "every rule of the policy held"
        + (f" ({len(not_judged)} not judged)" if not_judged else ""),
    )


def _regression(
    name: str,
    experiment: Mapping[str, Any],
    key: str,
    allowed: float,
    passing: list[Mapping[str, Any]],
    runs: int,
    failed: list[dict[str, Any]],
    not_judged: list[str],
) -> None:
    rule = f"regression.{key}"
    value = figure(experiment, key)
    earlier = [
        v
        for h in passing
        for e in h.get("experiments", [])
        if e.get("name") == name and (v := figure(e, key)) is not None
    ][-runs:]
    if value is None:
        if earlier:  # the passing runs measured it and this one could not: say so
            not_judged.append(f"{rule} of {name}: this run did not measure it")
        return
    if len(earlier) < runs:
        not_judged.append(f"{rule} of {name}: {len(earlier)} of {runs} passing runs measured it")
        return
    median = statistics.median(earlier)
    # A floor keeps a tolerance meaningful over a median of zero (no error budget used).
    limit = max(median * (1 + allowed), median + FLOORS[key])
    if value > limit:
        worse = (value / median - 1) * 100 if median else float("inf")
        failed.append(
            {
                "rule": rule,
                "experiment": name,
                "value": value,
                "median": median,
                "limit": limit,
                "reason": f"regression: {name} {key} {value:g} is {worse:.0f} % worse than the "
                f"median {median:g} of the last {runs} passing runs "
                f"(tolerance {allowed * 100:.0f} %)",
            }
        )
