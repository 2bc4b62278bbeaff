"""The lag promise under load: every sample outside the faults counts, unmeasured ones too."""

from __future__ import annotations

from typing import Any

from aftershock.check.checkers import UNKNOWN
from aftershock.check.lag import lag_under_load

LOAD = (1000.0, 1060.0)
FAULT = [(1020.0, 1030.0)]  # injected at +20 s, undone at +30 s


def samples(lag_at: dict[int, float | None], seconds: int = 70) -> list[dict[str, Any]]:
    """One sample a second from 995, lag 5 ms unless `lag_at` says otherwise (None: unmeasured)."""
    rows = []
    for second in range(seconds):
        t = 995.0 + second
        value = lag_at.get(second, 0.005)
        rows.append({"t": t, "max": value} if value is not None else {"t": t, "max": None,
                    "error": "no single leader answers"})  # fmt: skip
    return rows


def test_a_healthy_run_keeps_the_promise_with_the_fault_window_left_out() -> None:
    # Lag and unmeasured samples inside the fault and its 10 s settle are the fault's business.
    inside = {s: None for s in range(25, 38)} | {38: 2.0, 39: 1.5}
    result = lag_under_load(samples(inside), LOAD, FAULT, settle_s=10.0)
    assert result.valid is True, result.reason
    assert result.details["max_s"] == 0.005
    assert result.details["unmeasured"] == 0


def test_a_replica_behind_under_load_fails_even_if_healthy_before_and_after() -> None:
    behind = {s: 2.0 for s in range(10, 20)}  # +5 s to +15 s: before the fault, under load
    result = lag_under_load(samples(behind), LOAD, FAULT)
    assert result.valid is False
    assert result.reason == "of 41 samples under load: 10 samples over 1 s (max 2.000 s)"
    assert result.details["p99_s"] == 2.0


def test_a_sample_that_could_not_measure_counts_against_the_promise() -> None:
    result = lag_under_load(samples({55: None}), LOAD, FAULT)
    assert result.valid is False
    assert "1 samples could not measure" in result.reason
    assert result.details["could_not_measure"][0]["error"] == "no single leader answers"


def test_samples_outside_the_load_are_not_judged_and_none_is_unknown() -> None:
    before_load = {0: 3.0, 1: None}  # 995, 996: the load had not started
    assert lag_under_load(samples(before_load), LOAD, FAULT).valid is True
    assert lag_under_load(samples({}), None, FAULT).valid == UNKNOWN
    assert lag_under_load([], LOAD, FAULT).valid == UNKNOWN
    never_undone = lag_under_load(samples({40: 5.0}), LOAD, [(1020.0, None)])
    assert never_undone.valid is True  # excluded to the end


def test_a_sample_that_waited_into_the_injection_is_the_faults() -> None:
    # 1019: started a second before the fault and waited 2 s (capped) through its injection.
    result = lag_under_load(samples({24: 2.0}), LOAD, FAULT)
    assert result.valid is True, result.reason
    # 1017 with 2 s: done by 1019, before the injection: judged, and over the promise.
    assert lag_under_load(samples({22: 2.0}), LOAD, FAULT).valid is False
