"""The release gate's policy file (`gate.yaml`): what a release must show to ship.

    required: [baseline, region-outage, database-failover, lost-write]
    min_score: 90                   # the run's resilience score, 0-100
    budgets:                        # per experiment; any may be left out
      region-outage: {rto_s: 60, error_budget: 0.05}
    regression:                     # against the median of the last passing runs
      runs: 5                       # how many passing runs (fewer: not judged, said so)
      tolerance:                    # how much worse than that median is allowed
        rto: 0.25                   # failover RTO +25 %
        lag_p99: 1.0                # replication lag p99 under load +100 %
        error_budget: 1.0

Read with one line per bad field (`budgets.region-outage.rto_s: must be a
number above 0`), before any experiment runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aftershock.config.fields import Fields
from aftershock.errors import SandboxError

FIGURES = ("rto", "lag_p99", "error_budget")
"""What regression compares: failover RTO (s), replication lag p99 under load (s), and
the share of the 30-day error budget the run used."""
BUDGET_KEYS = ("rto_s", "error_budget")


class GatePolicyInvalid(SandboxError):
    """A policy file that cannot be used; the message names every bad field."""


@dataclass(frozen=True)
class GatePolicy:
    """A validated gate policy."""

    path: Path
    required: tuple[str, ...] = ()
    min_score: float | None = None
    budgets: dict[str, dict[str, float]] = field(default_factory=dict)
    regression_runs: int = 5
    tolerance: dict[str, float] = field(default_factory=dict)


def load(path: Path) -> GatePolicy:
    """Parse and validate `path`; GatePolicyInvalid names every problem on one line."""
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise GatePolicyInvalid(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise GatePolicyInvalid(f"{path}: not YAML: {str(exc).splitlines()[0]}") from None
    problems: list[str] = []
    policy = parse(path, raw, problems)
    if problems:
        raise GatePolicyInvalid(f"{path}: " + "; ".join(problems))
    return policy


def parse(path: Path, raw: Any, problems: list[str]) -> GatePolicy:
    top = Fields(raw, "", problems)
    top.known("required", "min_score", "budgets", "regression")
    required = _names(top.data.get("required", []), "required", problems)
    min_score = _number(top.data.get("min_score"), "min_score", problems, high=100.0)
    budgets: dict[str, dict[str, float]] = {}
    section = top.section("budgets", required=False)
    if section is not None:
        for experiment, values in section.data.items():
            limits = Fields(values, section.name(str(experiment)), problems)
            limits.known(*BUDGET_KEYS)
            budgets[str(experiment)] = {
                key: value
                for key in BUDGET_KEYS
                if key in limits.data
                and (value := _number(limits.data[key], limits.name(key), problems)) is not None
            }
    runs, tolerance = 5, {}
    regression = top.section("regression", required=False)
    if regression is not None:
        regression.known("runs", "tolerance")
        runs = regression.number("runs", 5)
        tolerances = regression.section("tolerance")
        if tolerances is not None:
            tolerances.known(*FIGURES)
            tolerance = {
                key: value
                for key in FIGURES
                if key in tolerances.data
                and (value := _number(tolerances.data[key], tolerances.name(key), problems))
                is not None
            }
    return GatePolicy(path, required, min_score, budgets, runs, tolerance)


def _names(value: Any, where: str, problems: list[str]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        problems.append(f"{where}: must be a list of experiment names")
        return ()
    return tuple(value)


def _number(value: Any, where: str, problems: list[str], high: float | None = None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        problems.append(f"{where}: must be a number of 0 or more")
        return None
    if high is not None and value > high:
        problems.append(f"{where}: must be at most {high:g}")
        return None
    return float(value)
