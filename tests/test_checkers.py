"""The pure checkers: each passes honest evidence and fails, or says unknown, on broken evidence."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftershock.check import checkers
from aftershock.check.checkers import UNKNOWN, order_integrity, recovery_time
from aftershock.check.final_read import judge_reconciled
from aftershock.check.reconcile import Reconciliation
from aftershock.load import history
from aftershock.load import timeline as figures


def run_history(outcomes: dict[str, str]) -> tuple[list[dict[str, object]], dict[str, int]]:
    """A history where op i ended as outcomes[key], and the order ids the shop gave the oks."""
    records: list[dict[str, object]] = []
    ids: dict[str, int] = {}
    for number, (key, outcome) in enumerate(sorted(outcomes.items()), start=1):
        records.append(history.invoke(key, "p", "checkout"))
        value = {"order_id": number} if outcome == history.OK else {}
        if outcome == history.OK:
            ids[key] = number
        if outcome != "pending":
            records.append(history.complete(outcome, key, "p", "checkout", value))
    return records, ids


outcome_maps = st.dictionaries(
    st.text("abcdef0123456789", min_size=4, max_size=8),
    st.sampled_from([history.OK, history.FAIL, history.INFO]),
    max_size=40,
)


@given(outcome_maps, st.data())
@settings(max_examples=150, deadline=None)
def test_an_honest_database_is_valid(outcomes: dict[str, str], data: st.DataObject) -> None:
    records, ids = run_history(outcomes)
    infos = [k for k, o in outcomes.items() if o == history.INFO]
    applied = data.draw(st.lists(st.sampled_from(infos), unique=True)) if infos else []
    final = [(k, i) for k, i in ids.items()] + [(k, 1000 + n) for n, k in enumerate(applied)]
    result = order_integrity(records, final)
    # Nothing acknowledged rules nothing out: unknown, never a pass.
    assert result.valid is (True if ids else UNKNOWN), result
    assert sorted(result.details["recovered"]) == sorted(applied)
    assert result.details["acknowledged"] == len(ids)


@given(outcome_maps, st.data())
@settings(max_examples=150, deadline=None)
def test_deleted_acknowledged_orders_are_exactly_the_lost_ones(
    outcomes: dict[str, str], data: st.DataObject
) -> None:
    records, ids = run_history(outcomes)
    if not ids:
        return
    deleted = data.draw(st.lists(st.sampled_from(sorted(ids)), min_size=1, unique=True))
    final = [(k, i) for k, i in ids.items() if k not in deleted]
    result = order_integrity(records, final)
    assert result.valid is False
    assert result.details["lost"] == sorted(deleted)
    assert "lost" in result.reason


def test_two_orders_under_one_key_are_duplicated() -> None:
    records, ids = run_history({"k1": history.OK, "k2": history.OK})
    result = order_integrity(records, [("k1", ids["k1"]), ("k2", ids["k2"]), ("k2", 99)])
    assert result.valid is False
    assert result.details["duplicated"] == ["k2"]


def test_an_order_nobody_invoked_is_unexpected() -> None:
    records, ids = run_history({"k1": history.OK})
    result = order_integrity(records, [("k1", ids["k1"]), ("intruder", 5)])
    assert result.valid is False
    assert result.details["unexpected"] == ["intruder"]


def test_a_definite_failure_that_was_applied_is_caught() -> None:
    records, _ = run_history({"k1": history.FAIL})
    result = order_integrity(records, [("k1", 3)])
    assert result.valid is False
    assert result.details["failed_but_present"] == ["k1"]


def test_an_ok_under_another_order_id_is_lost() -> None:
    records, ids = run_history({"k1": history.OK})
    assert order_integrity(records, [("k1", ids["k1"] + 1)]).details["lost"] == ["k1"]


@pytest.mark.parametrize(
    ("mangle", "torn"),
    [
        (lambda r: [*r[:-1], {"type": "ok", "id": r[-1]["id"]}], 0),  # ok without order id
        (lambda r: [*r, r[0]], 0),  # an invoke repeated
        (lambda r: [{"garbage": True}, *r], 0),
        (lambda r: r, 1),  # a torn line in the file
    ],
)
def test_a_corrupt_or_torn_history_is_unknown_never_valid(mangle, torn: int) -> None:
    records, ids = run_history({"k1": history.OK, "k2": history.OK})
    result = order_integrity(mangle(records), list(ids.items()), torn=torn)
    assert result.valid == UNKNOWN
    assert "cannot be judged" in result.reason


def test_unexplained_orders_after_a_killed_writer_are_unknown() -> None:
    records, ids = run_history({"k1": history.OK, "k2": "pending"})
    result = order_integrity(records, [*ids.items(), ("k2", 7), ("k3", 8)])
    assert result.valid == UNKNOWN
    assert result.details["unexpected"] == ["k3"]


def timeline(
    start: float, seconds: float, rate: int, outage: tuple[float, float] | None
) -> list[dict[str, object]]:
    """`rate` requests/s for `seconds`; requests inside `outage` (absolute times) fail."""
    rows = []
    for n in range(int(seconds * rate)):
        t = start + n / rate
        failed = outage is not None and outage[0] <= t < outage[1]
        rows.append({"t": t, "status": 0 if failed else 200, "ms": 5.0, "region": "tokyo"})
    return rows


@given(
    st.floats(min_value=0.0, max_value=3.0),
    st.floats(min_value=0.5, max_value=20.0),
    st.sampled_from([20, 100, 400]),
)
@settings(max_examples=100, deadline=None)
def test_recovery_time_lands_within_a_tenth_of_the_outage(
    lead: float, outage: float, rate: int
) -> None:
    fault = 1000.0
    rows = timeline(fault - 5, 5 + lead + outage + 10, rate, (fault + lead, fault + lead + outage))
    result = recovery_time(rows, fault)
    assert result.valid is True, result
    # 1e-9: the bounds are sums of floats; the answer is rounded to the 0.1 s grid.
    assert lead + outage - checkers.STEP - 1e-9 <= result.details["seconds"] <= lead + outage + 0.2


def test_recovery_time_is_unknown_when_traffic_never_recovers_or_is_absent() -> None:
    fault = 1000.0
    down = recovery_time(timeline(fault, 10, 50, (fault, fault + 100)), fault)
    assert down.valid == UNKNOWN
    assert "never recovered" in down.reason
    assert recovery_time(timeline(fault - 10, 5, 50, None), fault).valid == UNKNOWN


def test_recovery_time_is_unknown_when_traffic_is_too_thin_to_place_it() -> None:
    fault = 1000.0
    rows = timeline(fault, 3, 50, (fault, fault + 3))  # outage, then silence,
    rows += timeline(fault + 8, 5, 50, None)  # then traffic comes back
    result = recovery_time(rows, fault)
    assert result.valid == UNKNOWN
    assert "too little traffic" in result.reason
    assert (result.details["at_least"], result.details["seconds"]) == (2.98, 8.0)


def test_recovery_time_against_a_target() -> None:
    fault = 1000.0
    rows = timeline(fault, 20, 100, (fault, fault + 6))
    assert recovery_time(rows, fault, target=300).valid is True
    late = recovery_time(rows, fault, target=5)
    assert late.valid is False
    assert "beyond" in late.reason


def test_availability_budget_split_and_latency_judge_the_timeline() -> None:
    rows = timeline(0, 10, 100, (2.0, 2.1))  # 10 of 1000 requests fail
    assert figures.availability(rows) == pytest.approx(0.99)
    assert figures.error_rate(rows) == pytest.approx(0.01)
    # 1 % failed over the 9.99 s the requests span: 0.0999 s of the 259.2 s 30-day budget
    budget = figures.error_budget(rows)
    assert budget["outage_equivalent_s"] == pytest.approx(0.1, abs=0.001)
    assert budget["used"] == pytest.approx(round(0.0999 / 259.2, 5))
    assert figures.error_budget(rows[:1])["used"] is None
    split = [{**r, "region": "taiwan" if i % 5 < 3 else "tokyo"} for i, r in enumerate(rows)]
    assert checkers.traffic_split(split, {"taiwan": 0.6, "tokyo": 0.4}).valid is True
    assert checkers.traffic_split(rows, {"taiwan": 0.6, "tokyo": 0.4}).valid is False
    slow = [{**r, "ms": float(i)} for i, r in enumerate(rows) if r["status"]]
    assert (
        checkers.latency_percentile(slow, 50).details["ms"] == 504.0
    )  # 990 answered; 200-209 failed
    assert checkers.latency_percentile(slow, 99, limit_ms=100).valid is False
    assert figures.availability([]) is None
    assert checkers.latency_percentile([], 95).valid == UNKNOWN


def test_p95_ranks_answered_requests_only() -> None:
    answered = [{"t": float(i), "status": 200, "ms": float(i)} for i in range(1, 101)]
    silent = [{"t": 200.0 + i, "status": 0, "ms": 30_000.0} for i in range(50)]
    assert figures.percentile_ms(answered, 95) == 95.0
    # Clients that waited 30 s for no answer are errors, not the platform's latency.
    assert figures.percentile_ms(answered + silent, 95) == 95.0
    assert figures.summarize(answered + silent, 10.0).error_rate == pytest.approx(50 / 150)
    assert figures.percentile_ms(silent, 95) is None
    with pytest.raises(ValueError, match="p must be in"):
        figures.percentile_ms(answered, 0)


def test_a_checker_that_raises_says_unknown() -> None:
    result = checkers.checked("order_integrity", order_integrity, None, [])
    assert result.valid == UNKNOWN
    assert "raised" in result.reason


def reconciled(records: list[dict[str, object]], final: list[tuple[str, int]]) -> Reconciliation:
    """What `aftershock.check.reconcile` computes in the database, computed here from `final`."""
    told = dict(history.acknowledged(history.operations(records)))
    held: dict[str, list[str]] = {}
    for key, order_id in final:
        held.setdefault(key, []).append(str(order_id))  # as the database compares: text
    return Reconciliation(
        acknowledged=len(told),
        held=len(final),
        lost=sorted(k for k, i in told.items() if i not in held.get(k, [])),
        duplicated=sorted(k for k, ids in held.items() if len(ids) > 1),
        unacknowledged=sorted((k, i) for k, i in final if k not in told),
    )


@given(outcome_maps, st.data())
@settings(max_examples=150, deadline=None)
def test_the_reconciled_checker_agrees_with_the_in_memory_one(
    outcomes: dict[str, str], data: st.DataObject
) -> None:
    records, ids = run_history(outcomes)
    keys = [*sorted(outcomes), "stray1", "stray2"]
    kept = [(k, i) for k, i in ids.items() if data.draw(st.booleans())]
    extra = data.draw(st.lists(st.tuples(st.sampled_from(keys), st.integers(1, 99)), max_size=5))
    final = kept + extra
    memory = order_integrity(records, final)
    database = judge_reconciled(records, reconciled(records, final))
    assert (database.valid, database.details) == (memory.valid, memory.details)


def test_a_reconciliation_of_another_history_is_unknown() -> None:
    records, _ = run_history({"k1": history.OK, "k2": history.OK})
    other = Reconciliation(acknowledged=5, held=5, lost=[], duplicated=[], unacknowledged=[])
    result = judge_reconciled(records, other)
    assert result.valid == UNKNOWN
    assert "not made from one another" in result.reason


def test_sparse_failures_still_mark_the_outage_bad() -> None:
    # During the outage only 5 requests/s start (users wait out timeouts), all failing:
    # each window is under min_requests, yet its errors settle it as bad.
    fault = 1000.0
    rows = timeline(fault - 5, 5, 50, None) + timeline(fault, 10, 4, (fault, fault + 10))
    rows += [{"t": fault + 9.95, "status": 503, "ms": 1.0, "region": None}]
    rows += timeline(fault + 10, 10, 50, None)
    result = recovery_time(rows, fault)
    assert result.valid is True, result
    assert result.details["seconds"] == 10.0
    assert (result.details["at_least"], result.details["at_most"]) == (9.95, 10.0)


def test_a_gap_between_the_last_failure_and_the_first_success_is_reported_not_guessed() -> None:
    fault = 1000.0
    rows = timeline(fault, 10, 2, (fault, fault + 10)) + timeline(fault + 10, 10, 50, None)
    result = recovery_time(rows, fault)
    assert result.valid == UNKNOWN  # the last failure is at 9.5 s, the first success at 10.0 s
    assert (result.details["at_least"], result.details["at_most"]) == (9.5, 10.0)
    assert "between 9.50 and 10.00 s" in result.reason
    # A target on one side of the bracket is still decided; one inside it is not.
    assert recovery_time(rows, fault, target=300).valid is True
    assert recovery_time(rows, fault, target=5).valid is False
    assert recovery_time(rows, fault, target=9.8).valid == UNKNOWN


def test_no_oversell_passes_consistent_stock_and_names_each_broken_product() -> None:
    healthy = [(1, 10, 7, 3), (2, 5, 0, 5), (3, 8, 8, 0)]
    assert checkers.inventory(healthy).valid is True
    broken = checkers.inventory([*healthy, (4, 5, -2, 7), (5, 5, 4, 3), (6, 5, 1, 2)])
    assert broken.valid is False
    assert [r["product"] for r in broken.details["oversold"]] == [4]
    assert [r["product"] for r in broken.details["phantom_stock"]] == [5]
    assert [r["product"] for r in broken.details["missing_stock"]] == [6]
    assert checkers.inventory([]).valid == UNKNOWN


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), min_size=1, max_size=30))
def test_no_oversell_fails_exactly_when_sales_exceed_stock(pairs: list[tuple[int, int]]) -> None:
    rows = [(n, stocked, stocked - sold, sold) for n, (stocked, sold) in enumerate(pairs)]
    result = checkers.inventory(rows)
    assert result.valid is (not any(sold > stocked for stocked, sold in pairs))
