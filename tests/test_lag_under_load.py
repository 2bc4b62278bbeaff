"""The lag promise under load: every sample outside the faults counts, unmeasured ones too."""

from __future__ import annotations

from typing import Any

import pytest

from aftershock.check.checkers import UNKNOWN
from aftershock.check.lag import BACKWARD, FORWARD, in_windows, lag_under_load, samples_of
from aftershock.errors import EvidenceMissing

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


def test_a_mirror_lag_looks_back_so_a_sample_just_before_the_cut_is_judged() -> None:
    """12-19 s behind just before the cut: the age of events published before it, judged."""
    before_cut = {s: 12.0 + (s - 18) for s in range(18, 25)}  # 1013..1019, the cut at 1020
    result = lag_under_load(samples(before_cut), LOAD, FAULT, 30.0, 10.0, "mirror", BACKWARD)
    assert result.valid is False, result.reason
    assert "samples over 10 s" in result.reason
    # Looking forward, as the old exclusion did, they would reach into the cut and be dropped.
    forward = lag_under_load(samples(before_cut), LOAD, FAULT, 30.0, 10.0, "mirror", FORWARD)
    assert forward.valid is True


def test_a_mirror_sample_after_the_heal_still_owing_the_cut_is_the_faults() -> None:
    # At 1045 (15 s after the undo) the oldest missing event is 20 s old: published in the cut.
    result = lag_under_load(samples({50: 20.0}), LOAD, FAULT, 0.0, 10.0, "mirror", BACKWARD)
    assert result.valid is True, result.reason


def test_a_capped_sample_counts_against_the_promise_whatever_its_figure() -> None:
    rows = samples({})
    rows[50] = {"t": rows[50]["t"], "max": 1.0, "capped": True}  # waited the whole 1 s cap
    result = lag_under_load(rows, LOAD, FAULT)
    assert result.valid is False
    assert "over 1 s or capped" in result.reason
    assert result.details["capped"] == 1


def test_each_source_is_read_from_its_own_entry_of_the_recorder() -> None:
    records = [
        {"t": 1.0, "max": 0.004, "replicas": {"tokyo": {"seconds": 0.004, "capped": False}},
         "mirror": {"seconds": 0.0, "messages": 0}, "cache": {"seconds": 0.001, "capped": False},
         "stale": {"seconds": 0.003, "capped": False}},
        {"t": 2.0, "max": 2.0, "replicas": {"tokyo": {"seconds": 2.0, "capped": True}},
         "mirror": {"seconds": None, "error": "broker-tokyo: timeout"},
         "cache": {"seconds": None, "error": "EvidenceMissing: no single primary"}},
        {"t": 3.0, "max": 0.004},  # an old line: no mirror or cache entry at all
    ]  # fmt: skip
    database = samples_of(records, "database")
    assert [s["capped"] for s in database] == [False, True, False]
    mirror = samples_of(records, "mirror")
    assert [s["max"] for s in mirror] == [0.0, None, None]
    assert "took no mirror sample" in mirror[2]["error"]
    cache = samples_of(records, "cache")
    assert [(s["t"], s["max"]) for s in cache] == [(1.0, 0.001), (1.0, 0.003), (2.0, None),
                                                   (3.0, None)]  # fmt: skip
    assert "no single primary" in cache[2]["error"]


def test_levels_are_judged_on_the_samples_inside_each() -> None:
    rows = samples({30: 3.0})  # 1025: inside the second level
    found = in_windows(rows, {"1x": (1000.0, 1020.0), "2x": (1020.0, 1040.0),
                              "3x": (2000.0, 2010.0)}, 1.0)  # fmt: skip
    assert found["1x"]["valid"] is True
    assert found["2x"]["valid"] is False
    assert found["2x"]["max_s"] == 3.0
    assert found["3x"]["valid"] == UNKNOWN  # no sample there: not judged


def test_every_fault_says_which_replication_paths_it_touches() -> None:
    from aftershock.config import fault_paths
    from aftershock.targets.local import FAULTS

    injections = {name for name in FAULTS if name in fault_paths.TOUCHES or not _is_undo(name)}
    assert injections <= set(fault_paths.TOUCHES), injections - set(fault_paths.TOUCHES)
    assert not fault_paths.touches("fail_health_check", "database")
    assert fault_paths.touches("isolate_region", "cache")
    assert not fault_paths.touches("kill_cache", "mirror")


def _is_undo(name: str) -> bool:
    from aftershock.targets.local import UNDO

    return name in {f.__name__ for f in UNDO.values()} or name == "heal_all"


def test_a_sample_that_met_the_fault_while_it_was_taken_is_the_faults() -> None:
    # Began 0.05 s before the injection, could not measure, took 0.3 s: it met the fault.
    rows = [*samples({}), {"t": 1019.95, "max": None, "took": 0.3, "error": "read only"}]
    assert lag_under_load(rows, LOAD, FAULT).valid is True
    rows[-1]["took"] = 0.01  # ended before the injection: judged, and it could not measure
    assert lag_under_load(rows, LOAD, FAULT).valid is False


def test_lag_with_no_single_leader_could_not_look(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lag with no leader to write a heartbeat on is unmeasured, never 0 s or a pass."""
    from aftershock.targets.local import observe
    from probes import replication

    monkeypatch.setattr(replication, "local_sandbox", lambda *_: object())
    monkeypatch.setattr(
        observe,
        "replication_lag",
        lambda *_: {"max": None, "error": "no single leader answers: replication lag is undefined"},
    )
    with pytest.raises(EvidenceMissing, match="could not look: no single leader answers"):
        replication.lag_seconds(configuration={"aftershock_sandbox": "t"})
