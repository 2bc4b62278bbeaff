"""The report's pure parts: the score, the time series, the lag recorder's samples."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from aftershock.controls.lag_recorder import (
    LAG_FILE,
    Recorder,
    after_experiment_control,
    before_experiment_control,
    sampling_interval,
)
from aftershock.load import history
from aftershock.report import figures, score, series, text


def test_score_is_the_weighted_share_of_promises_kept() -> None:
    promises = score.promises_of(
        [
            {"promise": "orders", "met": True},
            {"promise": "rto", "met": False},
            {"promise": "hypothesis", "met": True},
            {"promise": "hypothesis", "met": False},
        ]
    )
    # orders 3 kept, rto 2 not, hypothesis 2 half: (3 + 0 + 1) / 7
    assert score.score(promises) == pytest.approx(round(400 / 7, 1))


def test_a_promise_not_checked_is_left_out_not_counted_as_kept() -> None:
    assert score.score(score.promises_of([{"promise": "lag", "met": True}])) == 100.0
    assert score.score([]) is None


def test_a_check_that_could_not_look_counts_as_not_kept() -> None:
    found = score.promises_of([{"promise": "orders", "met": "unknown"}])
    assert score.score(found) == 0.0


def test_a_run_pools_every_promise_of_every_experiment() -> None:
    passed = score.as_dict(score.promises_of([{"promise": "orders", "met": True}]))
    failed = score.as_dict(score.promises_of([{"promise": "lag", "met": False}]))
    assert score.pooled([passed, failed]) == pytest.approx(75.0)  # 3 of 3 + 1 weights


def journal(verdicts: list[dict[str, Any]], judged: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "status": "failed",
        "experiment": {
            "title": "t",
            "steady-state-hypothesis": {
                "probes": [
                    {
                        "name": "lag",
                        "provider": {"module": "probes.replication", "func": "lag_seconds"},
                        "tolerance": {"type": "range", "range": [0, 1], "target": "max"},
                    }
                ]
            },
            "extensions": [{"name": "aftershock", "verdicts": verdicts}],
        },
        "steady_states": {
            "before": {
                "probes": [
                    {
                        "activity": {"name": "lag"},
                        "status": "succeeded",
                        "output": {"max": 0.004},
                        "tolerance_met": True,
                    }
                ]
            }
        },
        "aftershock_verdicts": judged,
    }


ORDERS = {
    "name": "orders",
    "provider": {"module": "probes.orders", "func": "integrity", "arguments": {}},
    "tolerance": {"type": "jsonpath", "path": "$.valid", "expect": True},
}


def test_a_verdict_never_judged_is_a_promise_not_kept(tmp_path: Path) -> None:
    (tmp_path / "journal.json").write_text(json.dumps(journal([ORDERS], [])))
    found = figures.experiment_figures(tmp_path)
    assert found["verdicts"][0]["met"] is False
    assert "not judged" in found["verdicts"][0]["reason"]
    # lag met before, never measured after (the method stopped): 1 of 2; orders 0 of 1
    assert found["promises"]["lag"]["kept"] == 0.5
    assert found["promises"]["orders"]["kept"] == 0.0
    assert found["score"] == round(100 * 0.5 / 4, 1)


def test_the_hypothesis_row_shows_the_value_its_tolerance_judges(tmp_path: Path) -> None:
    judged = [{**ORDERS, "output": {"valid": True, "acknowledged": 3}, "tolerance_met": True}]
    (tmp_path / "journal.json").write_text(json.dumps(journal([ORDERS], judged)))
    found = figures.experiment_figures(tmp_path)
    [row] = found["hypothesis"]
    assert row["tolerance"] == "max in [0, 1]"
    assert row["before"]["value"] == 0.004
    assert row["after"] is None
    assert found["verdicts"][0]["value"] is True
    assert found["orders"]["acknowledged"] == 3


def test_an_experiment_without_a_journal_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(figures.ReportError, match=r"no readable journal\.json"):
        figures.experiment_figures(tmp_path)


def test_error_rate_per_second_is_split_by_customer_geo() -> None:
    timeline = [
        {"t": 100.1, "status": 200, "ms": 5, "region": "taiwan", "geo": "TW"},
        {"t": 100.2, "status": 0, "ms": 2000, "region": None, "geo": "TW"},
        {"t": 100.3, "status": 200, "ms": 7, "region": "tokyo", "geo": "JP"},
        {"t": 102.5, "status": 503, "ms": 1, "region": "tokyo", "geo": "JP"},
    ]
    rates = {line.name: line for line in series.error_rate(timeline, origin=100.0)}
    assert rates["customers TW"].y == [50.0, None, None]  # a second without requests is a gap
    assert rates["customers JP"].y == [0.0, None, 100.0]
    served = {line.name: line.y for line in series.requests_per_second(timeline, 100.0)}
    assert served == {
        "no answer": [1.0, 0.0, 0.0],
        "taiwan": [1.0, 0.0, 0.0],
        "tokyo": [1.0, 0.0, 1.0],
    }
    p95 = {line.name: line.y for line in series.p95_latency(timeline, 100.0)}
    assert p95["customers TW"] == [5.0, None, None]  # unanswered requests have no latency


def mark(name: str, kind: str, start: str, end: str, phase: str = "method") -> dict[str, Any]:
    return {"name": name, "kind": kind, "start": start, "end": end, "phase": phase}


def test_a_fault_window_runs_from_its_injection_to_the_undo_after_it() -> None:
    origin = series.epoch("2026-01-01T00:00:00+00:00") or 0.0
    marks = [
        mark("cut", "inject", "2026-01-01T00:00:08+00:00", "2026-01-01T00:00:08.1+00:00"),
        mark("mend", "undo", "2026-01-01T00:00:23+00:00", "2026-01-01T00:00:23.5+00:00"),
        mark("kill", "inject", "2026-01-01T00:00:30+00:00", "2026-01-01T00:00:30+00:00"),
    ]
    first, second = series.fault_windows(marks, origin, until=origin + 45)
    assert (first.start, first.end, first.open) == (8.0, 23.5, False)
    assert (second.start, second.end, second.open) == (30.0, 45.0, True)


def test_lag_samples_that_could_not_measure_are_kept_with_why() -> None:
    samples = [
        {"t": 10.0, "max": 0.003, "replicas": {"tokyo": {"seconds": 0.003, "capped": False}}},
        {"t": 11.0, "max": None, "error": "OperationalError: timeout"},
    ]
    lines, blind = series.replication_lag(samples, origin=9.0)
    assert [(line.name, line.x, line.y) for line in lines] == [("replica tokyo", [1.0], [0.003])]
    assert (blind.x, blind.text) == ([2.0], ["OperationalError: timeout"])


def test_the_recorder_writes_a_failed_look_as_an_error_sample(tmp_path: Path) -> None:
    recorder = Recorder({}, tmp_path / "lag.jsonl", every_s=1.0, timeout=1.0)

    def unreachable(timeout: float, configuration: Any = None) -> dict[str, Any]:
        raise OSError("connection refused")

    sample = recorder.sample(unreachable)
    assert sample["max"] is None
    assert sample["error"] == "OSError: connection refused"


def test_a_torn_last_sample_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "journal.json").write_text(json.dumps(journal([ORDERS], [])))
    (tmp_path / "load").mkdir()
    (tmp_path / "load" / LAG_FILE).write_text('{"t": 1, "max": 0.1}\n{"t": 2, "ma')
    lag = figures.experiment_figures(tmp_path)["replication_lag"]
    assert (lag["samples"], lag["max_s"]) == (1, 0.1)


def test_the_control_samples_until_the_experiment_ends_and_keeps_failed_looks(
    tmp_path: Path,
) -> None:
    context: dict[str, Any] = {}
    nowhere = {
        "aftershock_sandbox": "nosuch",
        "aftershock_state_root": str(tmp_path / "state"),
        "aftershock_run_dir": str(tmp_path / "run"),
    }
    before_experiment_control(context, configuration=nowhere, every_s=0.05, timeout=0.1)
    time.sleep(0.6)
    state: dict[str, Any] = {}
    after_experiment_control(context, state=state)
    samples = history.read(tmp_path / "run" / LAG_FILE).records
    assert len(samples) >= 3
    assert state["aftershock_lag_samples"]["samples"] == len(samples)
    assert all(s["max"] is None and s["error"] for s in samples)  # no sandbox: could not look
    time.sleep(0.2)
    assert len(history.read(tmp_path / "run" / LAG_FILE).records) == len(samples)  # stopped


def test_an_rto_too_thin_to_place_shows_its_bracket() -> None:
    figure = {
        "valid": "unknown",
        "met": False,
        "seconds": 17.5,
        "at_least": 17.2,
        "at_most": 17.9,
        "target_s": 10.0,
    }
    assert text.rto(figure) == "17.2–17.9 s (≤ 10 s) ✗"  # noqa: RUF001


def test_the_recorder_samples_cloudwatch_no_faster_than_it_publishes() -> None:
    assert sampling_interval({"aftershock_target": "local"}, 1.0) == 1.0
    assert sampling_interval({"aftershock_target": "aws"}, 1.0) == 30.0
    assert sampling_interval(None, 2.0) == 2.0
