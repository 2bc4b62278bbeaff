"""The release policy: each rule fails for its reason, and a regression exits the gate with 1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aftershock.check.release_policy import judge
from aftershock.config.gate_policy import GatePolicyInvalid, load

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "gate.yaml"
GATE = ("baseline", "region-outage", "database-failover", "lost-write")


def experiment(name: str, rto: float | None = None, verdict: str = "passed") -> dict[str, Any]:
    return {
        "name": name,
        "verdict": verdict,
        "rto": None if rto is None else {"seconds": rto},
        "replication_lag": {"under_load": {"p99_s": 0.01}},
        "error_budget": {"used": 0.001},
    }


def summary(run: str, rto: float, verdict: str = "passed", score: float = 100.0) -> dict:
    rtos = {"region-outage": rto, "database-failover": 8.0}
    experiments = [experiment(n, rtos.get(n)) for n in GATE]
    return {"schema": 1, "run": run, "started": f"2026-11-{run[-2:]}T00:00:00+00:00",
            "verdict": verdict, "score": score, "experiments": experiments,
            "policy": {"valid": verdict == "passed"}}  # fmt: skip


def judged_by_the_cli(results: Path, run: str) -> subprocess.CompletedProcess[str]:
    """`aftershock policy` on a recorded run, as a retried gate judges it."""
    return subprocess.run(
        [sys.executable, "-m", "aftershock.cli.main", "policy", str(results / run),
         "--policy", str(POLICY)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def recorded(results: Path, runs: dict[str, dict]) -> None:
    for name, data in runs.items():
        (results / name).mkdir(parents=True)
        (results / name / "summary.json").write_text(json.dumps(data))
        (results / name / "summary.md").write_text("## aftershock gate\n")


def test_a_run_40_percent_slower_than_the_median_fails_the_regression_rule_with_exit_1(
    tmp_path: Path,
) -> None:
    # Five passing runs recorded before (failover RTO 10.2-11.0 s, median 10.6), then one
    # 40 % slower: 14.84 s.
    history = {f"gate-2026110{d}": summary(f"gate-2026110{d}", 10.0 + d * 0.2) for d in range(1, 6)}
    recorded(tmp_path, history | {"gate-20261106": summary("gate-20261106", 14.84)})
    done = judged_by_the_cli(tmp_path, "gate-20261106")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "rule regression.rto" in done.stdout
    assert "40 % worse than the median 10.6 of the last 5 passing runs" in done.stdout
    stored = json.loads((tmp_path / "gate-20261106" / "summary.json").read_text())
    assert stored["policy"]["valid"] is False
    assert [f["rule"] for f in stored["policy"]["failed"]] == ["regression.rto"]
    assert "rule `regression.rto`" in (tmp_path / "gate-20261106" / "summary.md").read_text()


def test_the_same_run_within_the_tolerance_holds_and_a_failed_run_is_no_baseline() -> None:
    history = [summary(f"gate-2026110{d}", 10.0) for d in range(1, 6)]
    history.append(summary("gate-20261107", 2.0, verdict="failed"))  # not a baseline
    result = judge(summary("gate-20261108", 12.4), history, tolerance={"rto": 0.25})
    assert result.valid is True, result.reason
    worse = judge(summary("gate-20261108", 12.6), history, tolerance={"rto": 0.25})
    assert worse.valid is False


def test_too_little_history_is_said_not_judged_never_passed_silently() -> None:
    history = [summary(f"gate-2026110{d}", 10.0) for d in range(1, 4)]
    result = judge(summary("gate-20261108", 99.0), history, regression_runs=5,
                   tolerance={"rto": 0.25})  # fmt: skip
    assert result.valid is True
    assert (
        "regression.rto of region-outage: 3 of 5 passing runs measured it"
        in (result.details["not_judged"])
    )


def test_required_score_and_budget_rules_name_themselves() -> None:
    run = summary("gate-20261108", 70.0, score=80.0)
    run["experiments"] = [e for e in run["experiments"] if e["name"] != "lost-write"]
    result = judge(run, [], required=GATE, min_score=90,
                   budgets={"region-outage": {"rto_s": 60}})  # fmt: skip
    rules = [f["rule"] for f in result.details["failed"]]
    assert rules == ["required", "min_score", "budget.region-outage.rto_s"]
    assert "required experiment lost-write did not run" in result.reason


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("min_score: 120", "min_score: must be at most 100"),
        ("budgets: {region-outage: {rto_s: -1}}", "budgets.region-outage.rto_s: must be a number"),
        ("regression: {runs: 5, tolerance: {latency: 1}}", "regression.tolerance.latency: unknown"),
        ("required: baseline", "required: must be a list of experiment names"),
    ],
)
def test_a_bad_policy_is_refused_in_one_line(tmp_path: Path, text: str, problem: str) -> None:
    bad = tmp_path / "gate.yaml"
    bad.write_text(text + "\n")
    with pytest.raises(GatePolicyInvalid, match=problem):
        load(bad)


def test_the_shipped_policy_is_valid() -> None:
    policy = load(POLICY)
    assert policy.required == GATE
    assert policy.tolerance["rto"] == 0.25


def test_a_figure_this_run_could_not_measure_is_said_not_judged() -> None:
    history = [summary(f"gate-2026110{d}", 10.0) for d in range(1, 6)]
    run = summary("gate-20261108", 10.0)
    run["experiments"][1]["rto"] = None  # region-outage measured no RTO this time
    result = judge(run, history, tolerance={"rto": 0.25})
    assert (
        "regression.rto of region-outage: this run did not measure it"
        in (result.details["not_judged"])
    )


def test_a_zero_median_keeps_its_tolerance_meaningful() -> None:
    history = [summary(f"gate-2026110{d}", 10.0) for d in range(1, 6)]
    for run in history:
        for experiment in run["experiments"]:
            experiment["error_budget"]["used"] = 0.0
    current = summary("gate-20261108", 10.0)  # 0.001 used: within the 0.001 floor
    assert judge(current, history, tolerance={"error_budget": 0.5}).valid is True


def test_runs_of_another_topology_are_no_baseline() -> None:
    multi = [
        summary(f"gate-2026110{d}", 2.0) | {"topology": "multi-writer (x)"} for d in range(1, 6)
    ]
    single = summary("gate-20261108", 10.0) | {"topology": "single-writer"}
    result = judge(single, multi, tolerance={"rto": 0.25})
    assert result.valid is True  # 10 s is no regression from a design that fails over in 2 s
    assert any("0 of 5 passing runs" in n for n in result.details["not_judged"])


def test_retries_of_a_regression_never_move_the_baseline(tmp_path: Path) -> None:
    """RTO 10 s in five passing runs, then 30 s: every retry fails, the fourth too.

    Each retry passes its experiments and fails the policy. Counted as
    passing, three of them made 30 s the median and the fourth passed.
    """
    history = {f"gate-2026110{d}": summary(f"gate-2026110{d}", 10.0) for d in range(1, 6)}
    recorded(tmp_path, history)
    for retry in range(6, 10):
        run = f"gate-2026110{retry}"
        regressed = summary(run, 30.0)
        del regressed["policy"]  # not judged yet: the gate judges it now
        recorded(tmp_path, {run: regressed})
        done = judged_by_the_cli(tmp_path, run)
        assert done.returncode == 1, f"retry {retry - 5}: " + done.stdout + done.stderr
        assert "median 10 of the last 5 passing runs" in done.stdout, done.stdout
        stored = json.loads((tmp_path / run / "summary.json").read_text())
        assert stored["policy"]["valid"] is False


def test_a_run_no_policy_judged_is_no_baseline() -> None:
    unjudged = [summary(f"gate-2026110{d}", 30.0) for d in range(1, 6)]
    for run in unjudged:
        del run["policy"]
    result = judge(summary("gate-20261108", 30.0), unjudged, tolerance={"rto": 0.25})
    assert result.details["history_runs"] == 0
    assert any("0 of 5 passing runs" in why for why in result.details["not_judged"])
