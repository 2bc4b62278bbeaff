"""The total-queue checker: every acknowledged order has one event and one delivery per region."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from aftershock.check.checkers import UNKNOWN
from aftershock.check.total_queue import NO_KEY, total_queue
from aftershock.load import history

REGIONS = ("taiwan", "tokyo")


def make_history(outcomes: dict[str, str]) -> list[dict[str, object]]:
    records: list[dict[str, object]] = []
    for number, (key, outcome) in enumerate(sorted(outcomes.items()), start=1):
        records.append(history.invoke(key, "p", "checkout"))
        value = {"order_id": number} if outcome == history.OK else {}
        records.append(history.complete(outcome, key, "p", "checkout", value))
    return records


def everywhere(keys: list[str]) -> dict[str, list[str | None]]:
    return {region: list(keys) for region in REGIONS}


OUTCOMES = {"a1": history.OK, "b2": history.OK, "c3": history.INFO, "d4": history.FAIL}


def test_every_acknowledged_order_once_in_each_region_is_valid() -> None:
    result = total_queue(
        make_history(OUTCOMES), 0, everywhere(["a1", "b2"]), everywhere(["a1", "b2"])
    )
    assert result.valid is True, result.reason
    assert result.details["acknowledged"] == 2
    assert result.details["regions"]["tokyo"] == {
        "events": 2, "delivered": 2,
        "lost_events": {"count": 0, "keys": []}, "undelivered": {"count": 0, "keys": []},
        "duplicated_events": {"count": 0, "keys": []},
        "duplicated_deliveries": {"count": 0, "keys": []},
    }  # fmt: skip


def test_an_event_missing_from_one_regions_copy_is_lost_by_key() -> None:
    copies = {"taiwan": ["a1", "b2"], "tokyo": ["a1"]}
    result = total_queue(make_history(OUTCOMES), 0, copies, everywhere(["a1", "b2"]))
    assert result.valid is False
    assert result.details["lost"] == {"count": 1, "keys": ["b2"]}
    assert result.details["regions"]["tokyo"]["lost_events"]["keys"] == ["b2"]
    assert "1 lost" in result.reason
    assert "b2" in result.reason


def test_an_event_never_delivered_in_a_region_is_lost() -> None:
    deliveries = {"taiwan": ["a1", "b2"], "tokyo": ["b2"]}
    result = total_queue(make_history(OUTCOMES), 0, everywhere(["a1", "b2"]), deliveries)
    assert result.valid is False
    assert result.details["regions"]["tokyo"]["undelivered"]["keys"] == ["a1"]


def test_an_event_held_twice_is_duplicated() -> None:
    copies = everywhere(["a1", "b2", "a1"])
    result = total_queue(make_history(OUTCOMES), 0, copies, everywhere(["a1", "b2"]))
    assert result.valid is False
    assert result.details["duplicated"]["keys"] == ["a1"]


def test_an_event_for_no_order_or_a_refused_one_is_unexpected() -> None:
    copies = everywhere(["a1", "b2", "zz", "d4", None])
    result = total_queue(make_history(OUTCOMES), 0, copies, everywhere(["a1", "b2"]))
    assert result.valid is False
    assert result.details["unexpected"]["keys"] == sorted([NO_KEY, "d4", "zz"])


def test_an_event_for_an_order_whose_answer_was_lost_is_recovered_not_unexpected() -> None:
    keys = ["a1", "b2", "c3"]
    result = total_queue(make_history(OUTCOMES), 0, everywhere(keys), everywhere(keys))
    assert result.valid is True
    assert result.details["recovered"]["keys"] == ["c3"]


def test_a_torn_history_is_unknown_not_valid() -> None:
    result = total_queue(make_history(OUTCOMES), 1, everywhere(["a1", "b2"]), everywhere(["a1"]))
    assert result.valid == UNKNOWN


def test_a_run_without_an_acknowledged_order_is_unknown_not_valid() -> None:
    failed = {"a1": history.FAIL, "b2": history.INFO}
    assert total_queue(make_history(failed), 0, everywhere([]), everywhere([])).valid == UNKNOWN
    invented = total_queue(make_history(failed), 0, everywhere(["zz"]), everywhere([]))
    assert invented.valid is False


def test_no_region_read_is_unknown() -> None:
    assert total_queue(make_history(OUTCOMES), 0, {}, {}).valid == UNKNOWN


@given(
    st.dictionaries(st.text("abc123", min_size=3, max_size=6),
                    st.sampled_from([history.OK, history.INFO, history.FAIL]), max_size=30),
    st.data(),
)  # fmt: skip
@settings(max_examples=100, deadline=None)
def test_dropping_any_acknowledged_event_is_always_caught(outcomes, data) -> None:
    acked = sorted(k for k, o in outcomes.items() if o == history.OK)
    if not acked:
        return
    dropped = data.draw(st.sampled_from(acked))
    region = data.draw(st.sampled_from(REGIONS))
    copies = everywhere(acked)
    copies[region] = [k for k in acked if k != dropped]
    result = total_queue(make_history(outcomes), 0, copies, everywhere(acked))
    assert result.valid is False
    assert dropped in result.details["lost"]["keys"]


def test_deliveries_nobody_could_look_at_make_it_unknown_never_valid() -> None:
    """Every event present, deliveries unread (the aws target): half the evidence, no pass."""
    result = total_queue(make_history(OUTCOMES), 0, everywhere(["a1", "b2"]), {})
    assert result.valid == UNKNOWN, result.reason
    assert result.details["regions"]["taiwan"]["delivered"] == "not observed"
    assert "could not look at the deliveries in taiwan, tokyo" in result.reason
    one_blind = total_queue(
        make_history(OUTCOMES), 0, everywhere(["a1", "b2"]), {"taiwan": ["a1", "b2"]}
    )
    assert one_blind.valid == UNKNOWN
    assert "deliveries in tokyo" in one_blind.reason
    lost = total_queue(make_history(OUTCOMES), 0, {"taiwan": ["a1"], "tokyo": ["a1", "b2"]}, {})
    assert lost.valid is False
    assert lost.details["lost"]["keys"] == ["b2"]
