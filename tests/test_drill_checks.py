"""The DR drill's checkers, and the shop's runtime limits, as pure contracts."""

from __future__ import annotations

from typing import Any

import pytest

from aftershock.check import drill
from aftershock.check.checkers import UNKNOWN
from aftershock.sandbox.shop.runtime import RuntimeSettings, TokenBucket

T0 = 1_000.0


def requests(
    start: float, end: float, per_s: int, region: str | None, status: int = 200, geo: str = "TW",
    ms: float = 20.0,
) -> list[dict[str, Any]]:  # fmt: skip
    """`per_s` requests a second over [start, end), all alike."""
    count = int((end - start) * per_s)
    return [
        {"t": start + i / per_s, "status": status, "ms": ms, "region": region, "geo": geo}
        for i in range(count)
    ]


def test_traffic_that_moves_off_the_region_is_timed_from_the_failed_check() -> None:
    timeline = requests(T0 - 5, T0 + 4, 20, "taiwan") + requests(T0 + 4, T0 + 30, 20, "tokyo")
    result = drill.moved(timeline, T0, T0 + 30, "taiwan")
    assert result.valid is True, result.reason
    assert 4.0 <= result.details["seconds"] <= 4.2
    assert "traffic left taiwan" in result.reason


def test_a_router_that_ignores_the_failed_check_never_moves_the_traffic() -> None:
    # Every request succeeds, so a failover judged on errors alone would pass at once.
    timeline = requests(T0 - 5, T0 + 30, 20, "taiwan")
    result = drill.moved(timeline, T0, T0 + 30, "taiwan")
    assert result.valid is False
    assert "did not" in result.reason


def test_traffic_moved_to_a_region_that_fails_it_is_not_moved() -> None:
    timeline = requests(T0, T0 + 30, 20, "tokyo", status=503)
    assert drill.moved(timeline, T0, T0 + 30, "taiwan").valid is False


def test_failback_is_timed_from_the_restore_until_the_geo_is_home_again() -> None:
    timeline = requests(T0, T0 + 2, 20, "tokyo") + requests(T0 + 2, T0 + 20, 20, "taiwan")
    timeline += requests(T0, T0 + 20, 20, "tokyo", geo="JP")  # other geos do not count
    result = drill.returned(timeline, T0, "taiwan", "TW")
    assert result.valid is True, result.reason
    assert 2.0 <= result.details["seconds"] <= 2.2
    assert "TW back on taiwan" in result.reason


def test_a_region_that_never_takes_its_geo_back_fails_the_failback() -> None:
    timeline = requests(T0, T0 + 20, 20, "tokyo")
    result = drill.returned(timeline, T0, "taiwan", "TW")
    assert result.valid is False
    assert "never back on taiwan" in result.reason


def test_failback_leaves_out_the_requests_the_harness_cut_when_it_stopped_the_load() -> None:
    timeline = requests(T0, T0 + 10, 20, "taiwan") + requests(T0 + 10, T0 + 11, 20, None, 0)
    assert drill.returned(timeline, T0, "taiwan", "TW", end=T0 + 10).valid is True


def level(records: list[dict[str, Any]], **slo: Any) -> dict[str, Any]:
    limits = {"max_p99_ms": 500.0, "max_error_rate": 0.01} | slo
    return drill.capacity_level(records, T0, T0 + 10, "tokyo", **limits)


def test_a_level_carried_by_the_region_within_the_slos_passes() -> None:
    result = level(requests(T0, T0 + 10, 15, "tokyo"))
    assert result["valid"] is True, result["reason"]
    assert result["rps"] == 15.0


@pytest.mark.parametrize(
    ("records", "named"),
    [
        (requests(T0, T0 + 10, 15, "tokyo") + requests(T0, T0 + 10, 2, "taiwan"), "from taiwan"),
        (requests(T0, T0 + 10, 15, "tokyo") + requests(T0, T0 + 10, 1, "tokyo", 503), "error rate"),
        (requests(T0, T0 + 10, 15, "tokyo", ms=900.0), "p99 900.0 ms above 500 ms"),
    ],
    ids=["another-region-answered", "errors", "slow"],
)
def test_a_level_fails_naming_the_slo_it_broke(records: list[dict[str, Any]], named: str) -> None:
    result = level(records)
    assert result["valid"] is False
    assert named in result["reason"]


def test_a_level_whose_answers_do_not_say_who_served_them_is_not_judged() -> None:
    assert level(requests(T0, T0 + 10, 15, None))["valid"] == UNKNOWN


def test_a_level_with_too_few_requests_is_not_judged() -> None:
    assert level(requests(T0, T0 + 10, 2, "tokyo"))["valid"] == UNKNOWN


def test_capacity_reports_the_headroom_of_twice_the_peak() -> None:
    base = level(requests(T0, T0 + 10, 15, "tokyo"))
    peak = drill.capacity_level(requests(T0, T0 + 10, 30, "tokyo"), T0, T0 + 10, "tokyo", 500, 0.01)
    result = drill.capacity(base, peak, 2.0)
    assert result.valid is True, result.reason
    assert result.details["headroom"] == 2.0


def test_a_second_load_that_never_started_cannot_pass_for_headroom() -> None:
    base = level(requests(T0, T0 + 10, 15, "tokyo"))
    result = drill.capacity(base, base, 2.0)
    assert result.valid == UNKNOWN
    assert "offered only 1.0x" in result.reason


def test_capacity_names_the_level_that_failed() -> None:
    base = level(requests(T0, T0 + 10, 15, "tokyo"))
    shed = requests(T0, T0 + 10, 20, "tokyo") + requests(T0, T0 + 10, 10, "tokyo", 503)
    result = drill.capacity(base, level(shed), 2.0)
    assert result.valid is False
    assert result.reason.startswith("2x the normal peak:")


def journey(geo: str, failing: str = "", stop_after: str = "") -> dict[str, Any]:
    steps = []
    for step in drill.JOURNEY_STEPS:
        ok = step != failing
        evidence = "200 {}" if ok else "503 checkout_disabled"
        status = 200 if ok else 503
        steps.append(
            {"step": step, "ok": ok, "status": status, "region": "tokyo", "ms": 3.0,
             "evidence": evidence}
        )  # fmt: skip
        if not ok or step == stop_after:
            break
    return {"geo": geo, "steps": steps}


def test_journeys_pass_only_when_every_step_of_every_geo_passed() -> None:
    assert drill.journeys([journey("TW"), journey("JP")]).valid is True
    failed = drill.journeys([journey("TW"), journey("JP", failing="checkout")])
    assert failed.valid is False
    assert "JP: checkout failed (503 checkout_disabled)" in failed.reason


def test_a_journey_that_stopped_early_fails_naming_the_step_not_run() -> None:
    result = drill.journeys([journey("TW", stop_after="cart")])
    assert result.valid is False
    assert "TW: checkout not run" in result.reason


def test_no_journey_is_not_a_pass() -> None:
    assert drill.journeys([]).valid == UNKNOWN


def test_the_capacity_limiter_sheds_beyond_its_rate_and_refills() -> None:
    now = [0.0]
    bucket = TokenBucket(5.0, clock=lambda: now[0])
    assert [bucket.take() for _ in range(6)] == [True] * 5 + [False]
    now[0] += 0.4  # two tokens back
    assert [bucket.take() for _ in range(3)] == [True, True, False]


def test_no_capacity_limit_never_sheds() -> None:
    bucket = TokenBucket(0.0)
    assert all(bucket.take() for _ in range(10_000))


@pytest.mark.parametrize(
    "raw", [{"capacity_rps": -1}, {"capacity_rps": "fast"}, {"checkout_enabled": "no"}]
)
def test_runtime_settings_refuse_what_a_shop_cannot_apply(raw: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"capacity_rps|checkout_enabled"):
        RuntimeSettings(**raw)


def test_missing_runtime_settings_are_the_defaults(tmp_path: Any) -> None:
    assert RuntimeSettings.load(tmp_path / "none.json") == RuntimeSettings()


def test_a_level_carried_while_replication_fell_behind_is_not_carried() -> None:
    level = {"valid": True, "reason": "35 req/s, errors 0.00%, p99 40 ms: within the SLOs"}
    lagging = {"database": {"samples": 10, "max_s": 3.2, "bad": 4, "valid": False},
               "cache": {"samples": 10, "max_s": 0.001, "bad": 0, "valid": True}}  # fmt: skip
    judged = drill.with_lag(level, lagging)
    assert judged["valid"] is False
    assert "but database lag 4 of 10 samples over its limit (max 3.2 s)" in judged["reason"]
    blind = drill.with_lag(level, {"mirror": {"samples": 0, "max_s": None, "bad": 0,
                                              "valid": "unknown"}})  # fmt: skip
    assert blind["valid"] == "unknown"
    assert drill.with_lag(level, {"cache": lagging["cache"]})["valid"] is True
