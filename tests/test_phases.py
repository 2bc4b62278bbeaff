"""Recovery by phase: a failover is a recovery while the fault holds, never one the undo brought."""

from __future__ import annotations

import pytest

from aftershock.check.checkers import UNKNOWN
from aftershock.check.phases import failover, rpo, within

FAULT = 1000.0


def traffic(seconds: float, outages: list[tuple[float, float]], rate: int = 50) -> list[dict]:
    """`rate` requests/s from 10 s before the fault; requests inside an outage get no answer."""
    rows = []
    for n in range(int(seconds * rate)):
        t = FAULT - 10 + n / rate
        failed = any(low <= t < high for low, high in outages)
        rows.append({"t": t, "status": 0 if failed else 200, "ms": 5.0})
    return rows


def test_a_recovery_while_the_fault_holds_is_a_failover() -> None:
    rows = traffic(60, [(FAULT + 0.5, FAULT + 7.0), (FAULT + 30.2, FAULT + 31.0)])
    result = failover(rows, FAULT, FAULT + 30.0, "restore-taiwan")
    assert result.valid is True, result.reason
    assert result.details["detection_s"] == pytest.approx(0.5)
    assert result.details["seconds"] == pytest.approx(7.0)
    assert result.details["held_s"] == 30.0
    back = result.details["failback"]
    assert back["errors"] == 40  # 0.8 s at 50/s after the undo
    assert back["recovered"] is True
    assert back["seconds"] == pytest.approx(1.0)


def test_recovery_that_came_only_from_the_undo_is_not_a_failover() -> None:
    rows = traffic(60, [(FAULT + 0.5, FAULT + 16.0)])
    result = failover(rows, FAULT, FAULT + 15.0, "restore-taiwan")
    assert result.valid is False
    assert result.reason == "did not fail over: recovered only after restore-taiwan"
    assert result.details["failback"]["recovered"] is True


def test_a_recovery_just_before_the_undo_is_not_sustained() -> None:
    rows = traffic(60, [(FAULT + 0.5, FAULT + 14.0)])
    assert failover(rows, FAULT, FAULT + 15.0, "undo", sustain_s=3.0).valid is False
    assert failover(rows, FAULT, FAULT + 15.0, "undo", sustain_s=0.5).valid is True


def test_a_platform_that_never_recovers_fails_naming_both_phases() -> None:
    rows = traffic(60, [(FAULT + 0.5, FAULT + 100)])
    result = failover(rows, FAULT, FAULT + 15.0, "restore-taiwan")
    assert result.valid is False
    assert "did not recover after restore-taiwan either" in result.reason
    assert failover(rows, FAULT, None).reason == "did not recover while the fault held"


def test_a_fault_no_client_saw_passes_with_no_detection() -> None:
    result = failover(traffic(60, []), FAULT, FAULT + 15.0)
    assert result.valid is True
    assert result.details["detection_s"] is None
    assert result.details["seconds"] == 0.0


def test_no_traffic_while_the_fault_held_is_unknown() -> None:
    rows = [r for r in traffic(60, []) if not FAULT <= r["t"] < FAULT + 15]
    assert failover(rows, FAULT, FAULT + 15.0).valid == UNKNOWN


def test_a_recovery_is_judged_against_its_target_and_bracket() -> None:
    assert within(7.0, 6.9, 30.0) is True
    assert within(45.0, 44.9, 30.0) is False
    assert within(45.0, 20.0, 30.0) == UNKNOWN  # it may have been inside the target
    assert within(None, None, 30.0) is False


def acked(key: str, t: float) -> list[dict]:
    return [
        {"t": t - 0.05, "type": "invoke", "id": key, "process": "p", "op": "checkout"},
        {"t": t, "type": "ok", "id": key, "process": "p", "op": "checkout", "value": {}},
    ]


def test_rpo_spans_the_first_lost_acknowledgement_to_the_failover() -> None:
    records = [*acked("kept", 1001.0), *acked("a", 1008.5), *acked("b", 1012.0)]
    # Partitioned at 1008, crashed (the failover) at 1018: a and b lost.
    found = rpo(records, ["a", "b"], [1008.0, 1018.0], target_s=60.0)
    assert found["seconds"] == pytest.approx(9.5)
    assert found["failover_at"] == 1018.0
    assert found["valid"] is True
    assert rpo(records, ["a", "b"], [1008.0, 1018.0], target_s=5.0)["valid"] is False


def test_rpo_is_zero_when_nothing_is_lost_and_unknown_without_the_acknowledgements() -> None:
    assert rpo([], [], [1000.0], 60.0) == {
        "seconds": 0.0, "target_s": 60.0, "valid": True, "reason": "no order lost",
    }  # fmt: skip
    assert rpo([], ["ghost"], [1000.0], 60.0)["valid"] == UNKNOWN
    # Lost after any fault: the span of the lost acknowledgements themselves.
    late = [*acked("a", 1030.0), *acked("b", 1041.0)]
    assert rpo(late, ["a", "b"], [1000.0], 60.0)["seconds"] == pytest.approx(11.0)
