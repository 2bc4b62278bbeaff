"""Every answer classified once by the promise it serves: served, refused, client error, none."""

from __future__ import annotations

import pytest

from aftershock.check import cross_region, drill
from aftershock.load import answers
from aftershock.load.answers import CLIENT_ERROR, NO_ANSWER, REFUSED, SERVED, classify
from aftershock.load.timeline import error_rate, is_error


@pytest.mark.parametrize(
    ("status", "region", "expected", "correct", "want"),
    [
        (201, "tokyo", (), True, SERVED),
        (200, None, (), True, NO_ANSWER),  # a sorry page: nobody we know served it
        (200, "tokyo", (), False, NO_ANSWER),  # a 2xx the client found wrong
        (409, "tokyo", (), True, REFUSED),  # sold out: the shopper did not cause it
        (503, "tokyo", (), True, NO_ANSWER),
        (0, None, (), True, NO_ANSWER),
        (422, "tokyo", (422,), True, CLIENT_ERROR),  # provoked on purpose
        (404, "tokyo", (), True, REFUSED),  # a product the client had every reason to ask for
    ],
)
def test_an_answer_is_classed_by_what_the_shopper_got(
    status: int, region: str | None, expected: tuple[int, ...], correct: bool, want: str
) -> None:
    assert classify(status, region, True, expected, correct) == want


def test_records_without_a_class_are_classed_by_their_status() -> None:
    assert answers.answer({"status": 409}) == REFUSED
    assert answers.answer({"status": 200}) == SERVED  # no header known to be expected
    assert answers.answer({"status": 200, "answer": NO_ANSWER}) == NO_ANSWER


def test_a_refusal_is_an_error_a_client_error_is_not() -> None:
    rows = [
        {"t": 1.0, "status": 409, "answer": REFUSED},
        {"t": 2.0, "status": 422, "answer": CLIENT_ERROR},
        {"t": 3.0, "status": 201, "answer": SERVED},
        {"t": 4.0, "status": 201, "answer": SERVED},
    ]
    assert [is_error(r) for r in rows] == [True, False, False, False]
    assert error_rate(rows) == 0.25


def checkout(t: float, geo: str, status: int, answer: str) -> dict:
    region = "taiwan" if geo == "TW" else "tokyo"
    return {"t": t, "route": "/orders", "status": status, "region": region, "geo": geo,
            "answer": answer}  # fmt: skip


def test_a_region_that_refuses_every_checkout_is_down_in_a_partition() -> None:
    """Every Japanese checkout sold out (409) while the cut held: downtime, whatever the code."""
    timeline = [checkout(10.0 + i, "JP", 409, REFUSED) for i in range(10)]
    timeline += [checkout(10.5 + i, "TW", 201, SERVED) for i in range(10)]
    result = cross_region.availability_by_region(timeline, [(5.0, 30.0)], 0.05)
    assert result.valid is False
    assert "tokyo: 10 of 10 checkouts failed" in result.reason


def test_a_sorry_page_from_the_edge_is_not_a_move_to_the_other_region() -> None:
    """The drill's step 2: 200s with no serving region are served by nobody."""
    before = [{"t": 1.0 + i / 10, "status": 200, "region": "taiwan", "answer": SERVED}
              for i in range(20)]  # fmt: skip
    sorry = [{"t": 10.0 + i / 10, "status": 200, "region": None, "answer": NO_ANSWER}
             for i in range(100)]  # fmt: skip
    tokyo = [{"t": 10.05 + i / 10, "status": 200, "region": "tokyo", "answer": SERVED}
             for i in range(100)]  # fmt: skip
    result = drill.moved(before + sorry + tokyo, 10.0, None, "taiwan")
    assert result.valid is False, result.reason
    # Old records, classed by status alone, are caught by the missing region too.
    unclassed = [{k: v for k, v in r.items() if k != "answer"} for r in sorry]
    assert drill.moved(before + unclassed + tokyo, 10.0, None, "taiwan").valid is False


def test_answers_that_never_name_a_region_leave_the_move_not_judged() -> None:
    rows = [{"t": 10.0 + i / 10, "status": 200, "region": None} for i in range(100)]
    result = drill.moved(rows, 10.0, None, "taiwan")
    assert result.valid == "unknown"
    assert "not judged" in result.reason


def test_a_capacity_level_of_refusals_is_not_carried() -> None:
    rows = [{"t": 100.0 + i / 10, "status": 409, "ms": 3.0, "region": "tokyo",
             "answer": REFUSED} for i in range(100)]  # fmt: skip
    level = drill.capacity_level(rows, 100.0, 110.0, "tokyo", 500.0, 0.01)
    assert level["valid"] is False
    assert "error rate 100.00%" in level["reason"]
