"""Recovery by phase: a failover is a recovery while the fault holds, never one the undo brought."""

from __future__ import annotations

import pytest

from aftershock.check.checkers import UNKNOWN
from aftershock.check.phases import failover, within

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
