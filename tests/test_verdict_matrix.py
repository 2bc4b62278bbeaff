"""The verdict matrix covers every verdict: each has a breakage that fails it, in a real test.

A verdict nobody has seen fail is untested, whatever else passes. These
tests keep `experiments/verdicts.yaml` true to the experiment files and
to the test suite: add a verdict to an experiment without its breakage,
and CI fails here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aftershock.config.verdict_matrix import MatrixInvalid, collect, last_results, load, problems

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "experiments"
MATRIX = EXPERIMENTS / "verdicts.yaml"


def test_every_verdict_of_every_experiment_and_the_drill_has_a_breakage() -> None:
    assert problems(load(MATRIX), EXPERIMENTS, ROOT) == []


def test_every_promise_has_breakages_through_two_mechanisms_where_it_can() -> None:
    """Two different breakage tests per promise, at least: one mechanism is one blind spot."""
    tests: dict[str, set[str]] = {}
    for row in load(MATRIX):
        tests.setdefault(row.promise, set()).update(row.breakages)
    single = {p: t for p, t in tests.items() if len(t) < 2}
    assert single == {}, single


def test_a_verdict_added_without_a_breakage_fails_the_coverage(tmp_path: Path) -> None:
    copy = tmp_path / "experiments"
    shutil.copytree(EXPERIMENTS, copy)
    path = copy / "baseline.json"
    experiment = json.loads(path.read_text())
    verdict = {"type": "probe", "name": "orders-under-a-minute",
               "provider": {"type": "python", "module": "probes.orders", "func": "integrity"},
               "tolerance": {"type": "jsonpath", "path": "$.valid", "expect": True}}  # fmt: skip
    experiment["extensions"][0]["verdicts"].append(verdict)
    path.write_text(json.dumps(experiment))
    found = problems(load(copy / "verdicts.yaml"), copy, ROOT)
    assert found == [
        "verdict orders-under-a-minute (baseline) has no row in the matrix: "
        "add one with the breakage test that fails it"
    ]


def test_a_tolerance_in_the_method_is_refused_because_nothing_judges_it(tmp_path: Path) -> None:
    copy = tmp_path / "experiments"
    shutil.copytree(EXPERIMENTS, copy)
    path = copy / "baseline.json"
    experiment = json.loads(path.read_text())
    experiment["method"].append(
        {"type": "probe", "name": "p99-under-800ms",
         "provider": {"type": "python", "module": "probes.traffic", "func": "latency_percentile"},
         "tolerance": {"type": "range", "target": "ms", "range": [0, 800]}}
    )  # fmt: skip
    path.write_text(json.dumps(experiment))
    assert problems(load(copy / "verdicts.yaml"), copy, ROOT) == [
        "method activity p99-under-800ms (baseline) has a tolerance nothing judges:"
        " move it to the aftershock extension's verdicts"
    ]


def test_a_breakage_that_names_no_test_or_the_wrong_one_is_refused(tmp_path: Path) -> None:
    text = MATRIX.read_text()
    matrix = tmp_path / "verdicts.yaml"
    gone = "tests/test_gate_verdicts.py::test_a_router_that_ignores_geo_fails_the_split"
    matrix.write_text(text.replace(gone, "tests/test_gate_verdicts.py::test_nothing_here"))
    assert problems(load(matrix), EXPERIMENTS, ROOT) == [
        "verdict sixty-forty-split: breakage tests/test_gate_verdicts.py::test_nothing_here: "
        "no test test_nothing_here in tests/test_gate_verdicts.py"
    ]
    # A test in a file that never names the verdict cannot be checking that it failed.
    elsewhere = "tests/test_answers.py::test_a_refusal_is_an_error_a_client_error_is_not"
    matrix.write_text(text.replace(gone, elsewhere))
    [problem] = problems(load(matrix), EXPERIMENTS, ROOT)
    assert "never names the verdict sixty-forty-split" in problem


def test_a_row_without_a_breakage_and_a_stale_row_are_named(tmp_path: Path) -> None:
    matrix = tmp_path / "verdicts.yaml"
    rows = MATRIX.read_text()
    matrix.write_text(rows.replace(
        "- name: p95-under-500ms", "- name: p95-under-400ms"
    ))  # fmt: skip
    found = problems(load(matrix), EXPERIMENTS, ROOT)
    assert "verdict p95-under-500ms (baseline) has no row in the matrix" in found[0]
    assert any("p95-under-400ms: in the matrix, in no experiment: remove the row" in f
               for f in found)  # fmt: skip


def test_the_matrix_lists_the_experiments_each_verdict_is_in() -> None:
    named = collect(EXPERIMENTS)
    for row in load(MATRIX):
        assert sorted(row.experiments) == sorted(named[(row.kind, row.name)]), row.name


def test_a_malformed_matrix_is_one_line_naming_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "verdicts.yaml"
    bad.write_text("verdicts:\n- name: x\n  promise: y\n  experiments: []\n  breakages: nope\n")
    with pytest.raises(MatrixInvalid, match=r"verdicts\[1\]\.breakages: must be a list"):
        load(bad)


def test_aftershock_verdicts_prints_each_verdict_with_its_breakages_and_last_result(
    tmp_path: Path,
) -> None:
    run = tmp_path / "gate-20261201T000000Z" / "baseline"
    run.mkdir(parents=True)
    journal = {"aftershock_verdicts": [{"name": "p95-under-500ms", "tolerance_met": False}],
               "steady_states": {"before": {"probes": [
                   {"activity": {"name": "no-oversell"}, "tolerance_met": True}]}}}  # fmt: skip
    (run / "journal.json").write_text(json.dumps(journal))
    done = subprocess.run(
        [sys.executable, "-m", "aftershock.cli.main", "verdicts", "--results", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "p95-under-500ms [verdict]: last FAILED in gate-20261201T000000Z (baseline)" in text
    assert "no-oversell [hypothesis]: last passed in gate-20261201T000000Z (baseline)" in text
    assert "test_a_slow_region_fails_the_latency_promise" in text
    assert "not run yet" in text  # verdicts no recorded run judged
    assert text.rstrip().endswith("verdicts: each has a breakage")
    assert last_results(tmp_path)["p95-under-500ms"]["met"] is False
