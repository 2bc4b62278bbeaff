"""Load coverage: a verdict over the load is only as good as the load's reach."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aftershock.check.coverage import Fault, load_coverage
from aftershock.load import history

CLEAN = {"code": 0, "stopped_by_harness": True}
FAULT = Fault("isolate_region taiwan", 1010.0, 1030.0)


def requests(start: float, end: float, every: float = 0.1) -> list[dict[str, Any]]:
    count = round((end - start) / every)
    return [{"t": start + i * every, "status": 200, "ms": 3.0} for i in range(count)]


def orders(*times: float) -> list[dict[str, Any]]:
    records = []
    for n, t in enumerate(times):
        records.append({**history.invoke(f"k{n}", "p", "checkout"), "t": t - 0.1})
        records.append({**history.complete(history.OK, f"k{n}", "p", "checkout", {}), "t": t})
    return records


def test_a_load_through_every_phase_covers_the_experiment() -> None:
    result = load_coverage(requests(1000, 1040), orders(1005, 1035), [FAULT], CLEAN)
    assert result.valid is True, result.reason
    assert [p["phase"] for p in result.details["phases"]] == [
        "before the first fault",
        "while isolate_region taiwan",
        "after the last undo",
    ]


def test_a_load_that_ended_before_the_first_fault_fails_coverage() -> None:
    result = load_coverage(requests(1000, 1008), orders(1005), [FAULT], CLEAN)
    assert result.valid is False
    assert result.reason.startswith("the load did not cover the experiment: ")
    assert "no request while isolate_region taiwan" in result.reason
    assert "the load ended 22.1 s before the last undo" in result.reason
    assert "no order acknowledged after the last undo" in result.reason


def test_a_load_that_began_after_the_fault_fails_coverage() -> None:
    result = load_coverage(requests(1012, 1040), orders(1035), [FAULT], CLEAN)
    assert result.valid is False
    assert "the load began 2.0 s after the first fault" in result.reason
    assert "no order acknowledged before the first fault" in result.reason


def test_a_crashed_or_unrecorded_locust_fails_coverage() -> None:
    crashed = load_coverage(requests(1000, 1040), orders(1005, 1035), [FAULT], {"code": 1})
    assert crashed.valid is False
    assert "Locust exited with code 1 on its own: it crashed" in crashed.reason
    lost = load_coverage(requests(1000, 1040), orders(1005, 1035), [FAULT], None)
    assert "Locust's end was not recorded" in lost.reason
    stopped = load_coverage(
        requests(1000, 1040), orders(1005, 1035), [FAULT], {"code": -9, "stopped_by_harness": True}
    )
    assert stopped.valid is True


def test_zero_acknowledged_orders_is_no_coverage_even_without_a_fault() -> None:
    assert load_coverage(requests(1000, 1040), [], [], CLEAN).valid is False
    assert load_coverage(requests(1000, 1040), orders(1001), [], CLEAN).valid is True
    assert load_coverage([], [], [], CLEAN).reason.endswith("no request was recorded")


def test_a_load_that_recorded_nothing_names_every_phase_it_missed() -> None:
    result = load_coverage([], [], [FAULT], {"code": -9})
    assert result.valid is False
    for gap in (
        "it crashed",
        "no request was recorded",
        "no request while isolate_region taiwan",
        "no request after the last undo",
        "no order acknowledged before the first fault",
    ):
        assert gap in result.reason, gap  # fmt: skip


def test_a_fault_never_undone_is_named() -> None:
    result = load_coverage(
        requests(1000, 1040), orders(1005, 1035), [Fault("kill_cache tokyo", 1010, None)], CLEAN
    )
    assert result.valid is False
    assert "never undone: kill_cache tokyo" in result.reason


def test_a_load_that_fell_silent_while_the_fault_held_did_not_cover_it() -> None:
    """A few requests at the start of the fault, then 20 s of nothing: no coverage."""
    timeline = [{"t": 100.0 + i * 0.2} for i in range(100)]  # 100 .. 120
    timeline += [{"t": 120.1}, {"t": 120.2}]  # the fault from 120: two, then silence
    timeline += [{"t": 141.0 + i * 0.2} for i in range(50)]  # the undo at 140
    acked = [{"type": "ok", "t": 110.0}, {"type": "ok", "t": 145.0}]
    ending = {"code": 0, "stopped_by_harness": True}
    result = load_coverage(timeline, acked, [Fault("isolate_region taiwan", 120.0, 140.0)], ending)
    assert result.valid is False
    assert "the load sent nothing for 20 s while isolate_region taiwan" in result.reason


def test_a_load_with_no_fault_that_fell_silent_did_not_cover_it() -> None:
    timeline = [{"t": 100.0 + i * 0.2} for i in range(50)] + [{"t": 125.0 + i} for i in range(5)]
    acked = [{"type": "ok", "t": 101.0}]
    result = load_coverage(timeline, acked, [], {"code": 0, "stopped_by_harness": True})
    assert result.valid is False
    assert "the load sent nothing for 15 s" in result.reason


def test_a_load_silent_from_its_launch_on_did_not_cover_it() -> None:
    """Launched at 100, first request at 116: the frozen start counts, with or without faults."""
    timeline = [{"t": 116.0 + i * 0.2} for i in range(50)]
    acked = [{"type": "ok", "t": 117.0}, {"type": "ok", "t": 125.0}]
    ending = {"code": 0, "stopped_by_harness": True}
    alone = load_coverage(timeline, acked, [], ending, launched=100.0)
    assert "the load sent nothing for 16 s" in alone.reason
    faulted = load_coverage(timeline, acked, [Fault("kill_cache tokyo", 120, 122)], ending, 100.0)
    assert "the load sent nothing for 16 s before the first fault" in faulted.reason
    assert load_coverage(timeline, acked, [], ending, launched=114.0).valid is True


def test_silence_counts_from_when_locust_began_its_users_else_from_its_launch(
    tmp_path: Path,
) -> None:
    """Locust's start-up is the harness's, not the load's: a Locust that never began is silent."""
    from aftershock.load.runner import RUN_SETTINGS
    from probes import traffic

    (tmp_path / RUN_SETTINGS).write_text(json.dumps({"started": 100.0}))
    assert traffic._launched(tmp_path) == 100.0
    (tmp_path / history.BEGAN_FILE).write_text(json.dumps({"began": 114.0}))
    assert traffic._launched(tmp_path) == 114.0
