"""The multi-writer checkers, on hand-made evidence: each can fail for the reason it names."""

from __future__ import annotations

from typing import Any

from aftershock.check.convergence import conservation, convergence, time_to_converge
from aftershock.check.cross_region import accepted_twice, availability_by_region
from aftershock.check.regional_judge import replication_held_back
from aftershock.check.registers import lost_updates


def op(op_id: str, outcome: str, start: float, end: float, f: str, invoke: Any, done: Any) -> list:
    return [
        {"t": start, "type": "invoke", "id": op_id, "process": "p", "op": f, "value": invoke},
        {"t": end, "type": outcome, "id": op_id, "process": "p", "op": f, "value": done},
    ]


def write(value: str, start: float, end: float, outcome: str = "ok", customer: str = "c1") -> list:
    return op(value, outcome, start, end, "profile", {"customer": customer}, {"status": 200})


def test_convergence_names_the_row_that_differs() -> None:
    same = {"products": {"1": {"stock": 90}}}
    result = convergence({"taiwan": same, "tokyo": {"products": {"1": {"stock": 96}}}}, 2.0, 300.0)
    assert result.valid is False
    assert result.details["differing"]["products"][0] == {
        "key": "1", "taiwan": {"stock": 90}, "tokyo": {"stock": 96},
    }  # fmt: skip
    assert "1 products row(s) differ" in result.reason


def test_convergence_judges_the_time_from_the_heal_against_the_promise() -> None:
    rows = {"orders": {"k": {"id": 1}}}
    assert convergence({"taiwan": rows, "tokyo": rows}, 12.0, 300.0).valid is True
    late = convergence({"taiwan": rows, "tokyo": rows}, 301.0, 300.0)
    assert late.valid is False
    assert "over the 300 s promise" in late.reason
    never = convergence({"taiwan": rows, "tokyo": rows}, None, 300.0, capped=True)
    assert never.valid is False
    assert "did not resume" in never.reason


def test_conservation_counts_lost_decrements_by_product_with_units() -> None:
    # The prototype's round: -3 in taiwan, -4 in tokyo, last update wins: 96 left of 100.
    result = conservation({"taiwan": {7: (100, 96)}, "tokyo": {7: (100, 96)}}, {7: 7})
    assert result.valid is False
    assert result.details["regions"]["taiwan"]["lost_decrements"] == {"7": 3}
    assert result.details["totals"]["tokyo"]["lost_decrement_units"] == 3
    assert "3 unit(s) of lost decrements on 1 product(s)" in result.reason


def test_conservation_reports_overselling_and_phantom_sales() -> None:
    oversold = conservation({"taiwan": {1: (10, 0)}}, {1: 12})
    assert oversold.valid is False
    assert oversold.details["regions"]["taiwan"]["oversold"] == {"1": 2}
    phantom = conservation({"taiwan": {1: (10, 5)}}, {1: 2})
    assert phantom.valid is False
    assert phantom.details["regions"]["taiwan"]["phantom_sales"] == {"1": 3}


def test_conservation_passes_when_every_region_adds_up() -> None:
    result = conservation(
        {"taiwan": {1: (10, 7), 2: (5, 5)}, "tokyo": {1: (10, 7), 2: (5, 5)}}, {1: 3}
    )
    assert result.valid is True


def test_conservation_without_any_stock_read_is_unknown() -> None:
    assert conservation({}, {1: 1}).valid == "unknown"


def test_a_write_that_follows_the_final_one_in_real_time_is_lost() -> None:
    records = write("a", 1.0, 1.1) + write("b", 2.0, 2.1)
    result = lost_updates(records, {"taiwan": {"c1": "a"}})
    assert result.valid is False
    assert result.details["lost"] == [
        {"region": "taiwan", "customer": "c1", "value": "b", "final": "a"}
    ]


def test_concurrent_writes_may_land_in_either_order() -> None:
    records = write("a", 1.0, 2.0) + write("b", 1.5, 2.5)
    assert lost_updates(records, {"taiwan": {"c1": "a"}, "tokyo": {"c1": "a"}}).valid is True


def test_an_unfinished_final_write_proves_no_loss() -> None:
    records = write("a", 1.0, 1.1, outcome="info") + write("b", 2.0, 2.1)
    assert lost_updates(records, {"taiwan": {"c1": "a"}}).valid is True


def test_a_failed_write_that_is_final_is_reported() -> None:
    records = write("a", 1.0, 1.1) + write("b", 2.0, 2.1, outcome="fail")
    result = lost_updates(records, {"taiwan": {"c1": "b"}})
    assert result.valid is False
    assert result.details["failed_but_present"]


def test_a_final_value_nobody_wrote_is_unknown_not_true() -> None:
    assert lost_updates(write("a", 1.0, 1.1), {"taiwan": {"c1": "zzz"}}).valid == "unknown"


def test_a_missing_profile_loses_every_acknowledged_write() -> None:
    result = lost_updates(write("a", 1.0, 1.1), {"tokyo": {}})
    assert result.valid is False
    assert result.details["lost_count"] == 1


def checkout(key: str, order_id: int, region: str) -> list:
    done = {"status": 201, "order_id": order_id, "region": region}
    return op(key, "ok", 1.0, 1.1, "checkout", {"items": []}, done)


def resubmit(key: str, order_id: int, region: str) -> list:
    done = {"status": 201, "order_id": order_id, "region": region, "key": key}
    return op(f"{key}#resubmit", "ok", 2.0, 2.1, "resubmit", {"key": key}, done)


def test_one_key_acknowledged_with_two_orders_is_accepted_twice() -> None:
    result = accepted_twice(checkout("k1", 1, "taiwan"), resubmit("k1", 2, "tokyo"))
    assert result.valid is False
    assert "k1: order 1 in taiwan and order 2 in tokyo" in result.reason


def test_a_resubmission_answered_with_the_same_order_is_fine() -> None:
    result = accepted_twice(checkout("k1", 1, "taiwan"), resubmit("k1", 1, "taiwan"))
    assert result.valid is True
    assert result.details["resubmits_acknowledged"] == 1


def request(t: float, geo: str, status: int) -> dict[str, Any]:
    return {"t": t, "route": "/orders", "status": status, "ms": 5.0, "region": None, "geo": geo}


def test_availability_names_the_region_whose_checkouts_failed() -> None:
    timeline = [request(10 + i, "TW", 201) for i in range(10)]
    timeline += [request(10 + i, "JP", 503 if i < 6 else 201) for i in range(10)]
    timeline.append(request(100, "JP", 503))  # outside the window: not judged
    result = availability_by_region(timeline, [(5.0, 50.0)], 0.01)
    assert result.valid is False
    assert "tokyo: 6 of 10 checkouts failed" in result.reason
    assert result.details["regions"]["taiwan"]["failed"] == 0


def test_availability_with_too_few_checkouts_is_unknown() -> None:
    timeline = [request(10, "TW", 201), request(11, "JP", 201)]
    assert availability_by_region(timeline, [(5.0, 50.0)], 0.01).valid == "unknown"


def test_no_key_offered_to_a_second_region_is_unknown_not_true() -> None:
    assert accepted_twice(checkout("k1", 1, "taiwan"), []).valid == "unknown"
    refused = op("k1#resubmit", "fail", 2.0, 2.1, "resubmit", {"key": "k1"}, {"status": 421})
    result = accepted_twice(checkout("k1", 1, "taiwan"), refused)
    assert result.valid is True
    assert result.details["resubmits"] == 1


def test_a_region_whose_stock_read_lacks_sold_products_is_unknown() -> None:
    result = conservation({"taiwan": {1: (10, 9)}, "tokyo": {}}, {1: 1})
    assert result.valid == "unknown"
    assert result.details["unread"] == {"tokyo": [1]}


def test_lost_updates_without_any_region_read_is_unknown() -> None:
    assert lost_updates(write("a", 1.0, 1.1), {}).valid == "unknown"


def test_availability_counts_every_window_of_a_repeated_fault() -> None:
    timeline = [request(10 + i, "TW", 201) for i in range(10)]
    timeline += [request(10 + i, "JP", 201) for i in range(10)]
    timeline += [request(60 + i, "JP", 503) for i in range(5)]  # the second cut
    result = availability_by_region(timeline, [(5.0, 25.0), (55.0, 70.0)], 0.01)
    assert result.valid is False
    assert result.details["windows"] == 2


def test_directions_measured_in_turn_are_timed_from_their_own_writes() -> None:
    # taiwan's row written at 100 took 2 s; tokyo's was written only after, at 102, and took 2 s.
    tokyo = {"seconds": 2.0, "capped": False, "t": 100.0}
    taiwan = {"seconds": 2.0, "capped": False, "t": 102.0}
    sample = {"t": 100.0, "replicas": {"tokyo": tokyo, "taiwan": taiwan}}
    assert time_to_converge([sample], heal_at=99.0) == 5.0


class Rows:
    """A stand-in connection for the two reads `replication_held_back` makes.

    `placed` is what the database holds of the orders placed during the
    cut (region, key, id), older than the settle time; `held` answers
    "which of these keys do you hold" from the same rows.
    """

    def __init__(self, placed: list[tuple[str, str, int]]) -> None:
        self.placed = placed

    def execute(self, query: str, params: Any = None) -> list[tuple[Any, ...]]:
        if "make_interval" in query:
            self.since = params[0]
            return self.placed
        wanted = set(params[0])
        return [(key, oid) for _, key, oid in self.placed if key in wanted]


def regions(**databases: Rows) -> Any:
    return lambda read: {region: read(conn) for region, conn in databases.items()}


TW = [("taiwan", f"k-tw{i}", i) for i in range(1, 6)]
JP = [("tokyo", f"k-jp{i}", 100 + i) for i in range(1, 6)]


def test_a_cut_that_held_replication_back_holds_every_order_placed_during_it() -> None:
    result = replication_held_back(regions(taiwan=Rows(TW), tokyo=Rows(JP)), since=100.0)
    assert result.valid is True, result.reason
    assert result.details["placed"] == {"taiwan": 5, "tokyo": 5}


def test_a_cut_that_cut_nothing_fails_naming_how_many_crossed() -> None:
    each = regions(taiwan=Rows(TW + JP), tokyo=Rows(TW + JP))
    result = replication_held_back(each, since=100.0)
    assert result.valid is False
    assert "5 of 5 orders taiwan placed during the cut reached the other region" in result.reason


def test_the_newest_order_still_in_flight_does_not_hide_the_older_ones_that_crossed() -> None:
    """Asynchronous replication: the newest order has not arrived yet, the older ones have."""
    each = regions(taiwan=Rows(TW + JP[:-1]), tokyo=Rows(TW[:-1] + JP))
    result = replication_held_back(each, since=100.0)
    assert result.valid is False, result.reason
    assert result.details["crossed"]["taiwan"]["count"] == 4


def test_orders_placed_while_the_cut_was_still_taking_hold_are_not_judged() -> None:
    """The fault is recorded before it acts: an order in the first second may still cross."""
    taiwan, tokyo = Rows(TW), Rows(JP)
    replication_held_back(regions(taiwan=taiwan, tokyo=tokyo), since=100.0)
    assert taiwan.since == tokyo.since == 101.0


def test_too_few_orders_during_the_cut_is_unknown() -> None:
    assert replication_held_back(regions(taiwan=Rows([]), tokyo=Rows([])), 100.0).valid == "unknown"
    thin = regions(taiwan=Rows(TW[:2]), tokyo=Rows(JP))
    assert replication_held_back(thin, since=100.0).valid == "unknown"
