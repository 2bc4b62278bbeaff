"""The DR drill on real sandboxes: `aftershock drill` passes its six steps, and fails naming one.

Several sandboxes at once, each running the drill through the CLI as an
operator does: a whole platform, and platforms broken by the breakage
library (`CASES`): a tokyo that cannot serve more than about 1.4 times the
normal peak, a tokyo whose checkout is off, a router with a sorry page,
a replica that stops applying WAL, a sold-out shop, a taiwan whose shop
hangs once its check is failed. Nothing tells the drill what was broken:
it finds it.
"""

from __future__ import annotations

from typing import Any

import pytest
from breakage_runs import Case, Run, Runs, chosen, run_cases, verdict_line
from sandbox_probes import require_sandbox_host

from aftershock.config.topology import Topology
from aftershock.sandbox.readiness import wait_until
from aftershock.targets.local import ledger
from aftershock.targets.local.health_check import (
    fail_health_check,
    kept_running,
    restore_health_check,
)
from aftershock.targets.local.reset import edge_state

pytestmark = [pytest.mark.sandbox, pytest.mark.many_sandboxes]

# The drill's normal peak is 30 users, about 17 requests a second; twice it, about 35.
# Hold budgets for steps 2 and 5: a drill that never moves (or never returns) holds it all,
# so a short one keeps the test short.
CASES = {
    "whole": Case("drill"),
    "limited": Case("drill", "shedding", {"capacity_rps": 24.0}),
    "no-checkout": Case("drill", "checkout_off", hold_s="10"),
    "sorry-page": Case("drill", "sorry_page", {"region": "taiwan"}, hold_s="10"),
    # Only while taiwan's health check is failed, steps 1 to 5: once a window every lag was
    # excused in, though the fault touches no replication path.
    "replay-paused": Case("drill", "replay_paused",
        when="at_fault:fail_health_check", until="at_undo:fail_health_check",
    ),
    "sold-out": Case("drill", "sold_out", hold_s="10"),
    "taiwan-hangs": Case("drill", "shop_frozen", {"region": "taiwan"},
        when="at_fault:fail_health_check", delay_s=0.5, hold_s="10",
    ),
}  # fmt: skip
STEP_3 = "step-3-tokyo-carries-the-peak-and-twice-it"
STEP_4 = "step-4-journeys-pass-in-every-geo"


class Drill(Run):
    """One `aftershock drill` run, with the report's drill section."""

    def section(self) -> dict[str, Any]:
        [experiment] = self.summary()["experiments"]
        return experiment["drill"]

    def step(self, number: int) -> dict[str, Any]:
        return self.section()["steps"][number - 1]


@pytest.fixture(scope="module")
def drills(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Drill]:
    """Every drill, side by side: each mostly waits on its load, its holds and its levels."""
    require_sandbox_host()
    # Three at once, not five: a drill's 2x level is a load test, and the whole platform's
    # must not fail for two cores shared with four other drills (seen: p99 2.3 s).
    runs = run_cases(chosen(CASES), tmp_path_factory.mktemp, "dr", at_once=3)
    found = Runs()
    for name, run in runs.items():
        found[name] = Drill(run.code, run.text, run.results, run.breaking, run.touched)
    return found


def test_the_drill_passes_all_six_steps_on_a_whole_platform(drills: dict[str, Drill]) -> None:
    run = drills["whole"]
    assert run.code == 0, run.text[-3000:]
    section = run.section()
    assert [s["number"] for s in section["steps"]] == [1, 2, 3, 4, 5, 6]
    assert all(s["passed"] for s in section["steps"][:5]), section["steps"]
    assert section["rto"]["met"]
    assert section["rto"]["seconds"] <= section["rto"]["target_s"]
    assert section["rpo"]["lost"] == 0
    assert section["rpo"]["acknowledged"] > 0
    assert section["failback"]["valid"] is True
    assert section["failback"]["seconds"] is not None
    assert section["capacity"]["headroom"] >= 1.6, section["capacity"]["reason"]
    assert set(section["capacity"]["levels"]) == {"1x", "2x"}
    for row in section["journeys"]:
        assert [name for name, s in row["steps"].items() if s["ok"]] == [
            "browse", "product", "cart", "checkout", "read_back", "same_key",
        ], row  # fmt: skip
    assert {row["geo"] for row in section["journeys"]} == {"TW", "JP"}
    # Taiwan kept running while the edge held it down: the drill's failover, not an outage.
    kept = section["kept_running"]
    assert kept["valid"] is True
    assert kept["edge"] == "DOWN"
    assert kept["shop_ready"] is True
    assert kept["daemons"]
    assert all(kept["daemons"].values())
    assert all(row["met"] for row in section["targets"]), section["targets"]


def test_the_dr_report_shows_the_timeline_figures_and_journeys(drills: dict[str, Drill]) -> None:
    [run_dir] = drills["whole"].results.glob("gate-*")
    summary = (run_dir / "summary.md").read_text()
    page = (run_dir / "report.html").read_text()
    for text in (summary, page):
        assert "DR drill" in text
        assert "Monitor the failover" in text
        assert "Generate the DR report" in text
        assert "capacity headroom:" in text
        assert "RPO:" in text
        assert "RTO (traffic off taiwan)" in text
        assert "8 of 8 daemons of taiwan running" in text
    assert "| TW | ✓ 200 tokyo" in summary


def test_a_tokyo_that_cannot_carry_twice_the_peak_fails_step_3(drills: dict[str, Drill]) -> None:
    run = drills["limited"]
    assert run.code == 1, run.text[-3000:]
    line = verdict_line(run.text, STEP_3)
    assert "2x the normal peak" in line, line
    assert "error rate" in line, line
    assert run.step(3)["passed"] is False
    # Only the capacity failed: the same tokyo carries the normal peak and the journeys.
    assert run.section()["capacity"]["levels"]["1x"]["valid"] is True
    assert run.step(4)["passed"] is True
    assert f"verdict {STEP_4}" not in run.text


def test_checkout_disabled_in_tokyo_fails_step_4_naming_the_journey_step(
    drills: dict[str, Drill],
) -> None:
    run = drills["no-checkout"]
    assert run.code == 1, run.text[-3000:]
    line = verdict_line(run.text, STEP_4)
    assert "checkout failed (503" in line, line
    assert "checkout_disabled" in line, line
    assert run.step(4)["passed"] is False
    for row in run.section()["journeys"]:
        assert row["steps"]["cart"]["ok"] is True
        assert row["steps"]["checkout"]["ok"] is False
        assert "read_back" not in row["steps"]


def test_a_sorry_page_for_taiwans_customers_fails_the_step_2_rto(drills: dict[str, Drill]) -> None:
    """The router answers 200 itself, naming no region: nobody moved taiwan's customers.

    Counted as served by tokyo, as before, it gave an RTO of 0 s."""
    run = drills["sorry-page"]
    assert not run.breaking, run.breaking
    assert run.code == 1, run.text[-3000:]
    for name in ("step-2-rto-within-the-promise", "step-2-rto-within-the-design-claim"):
        line = verdict_line(run.text, name)
        assert "traffic off taiwan" in line, line
    assert run.step(2)["passed"] is False


def test_replication_stalled_through_the_drill_fails_the_lag_at_every_level(
    drills: dict[str, Drill],
) -> None:
    """The drill's failed health check touches no replication path: its lag is judged
    throughout, and each capacity level is judged on it (tokyo's replica applies nothing)."""
    run = drills["replay-paused"]
    assert not run.breaking, run.breaking
    assert run.code == 1, run.text[-3000:]
    lag = verdict_line(run.text, "lag-under-1s-under-load")
    assert "samples over 1 s" in lag, lag
    step = verdict_line(run.text, STEP_3)
    assert "database lag" in step, step


def test_a_sold_out_platform_fails_the_orders_at_twice_the_peak(drills: dict[str, Drill]) -> None:
    """Every checkout refused (409): no order was acknowledged at twice the peak, which is
    no evidence of zero loss, and a level of refusals is not a level carried."""
    run = drills["sold-out"]
    assert not run.breaking, run.breaking
    assert run.code == 1, run.text[-3000:]
    orders = verdict_line(run.text, "zero-lost-orders-at-twice-the-peak")
    assert "no order was acknowledged" in orders, orders
    step = verdict_line(run.text, STEP_3)
    assert "error rate" in step, step


def test_a_taiwan_that_hangs_once_its_check_fails_fails_kept_running_and_failback(
    drills: dict[str, Drill],
) -> None:
    run = drills["taiwan-hangs"]
    assert not run.breaking, run.breaking
    assert run.code == 1, run.text[-3000:]
    kept = verdict_line(run.text, "step-2-taiwan-kept-running")
    assert "shop-taiwan does not answer readiness with 200" in kept, kept
    back = verdict_line(run.text, "step-5-failback")
    assert "TW" in back, back


def test_kept_running_fails_while_the_edge_still_sends_the_region_traffic(
    shared_sandbox: Topology,
) -> None:
    found = kept_running(shared_sandbox, "taiwan")
    assert found["valid"] is False
    assert "the edge has taiwan's shop UP, not DOWN" in found["reason"]


def test_a_failed_health_check_takes_the_region_down_at_the_edge_and_its_restore_is_idempotent(
    shared_sandbox: Topology,
) -> None:
    fail_health_check(shared_sandbox, "taiwan")
    try:
        wait_until(
            "taiwan down at the edge", lambda: edge_state(shared_sandbox, "taiwan") == "DOWN", 5
        )
        found = kept_running(shared_sandbox, "taiwan")
        assert found["valid"] is True, found["reason"]
    finally:
        restore_health_check(shared_sandbox, "taiwan")
    restore_health_check(shared_sandbox, "taiwan")
    assert ledger(shared_sandbox).entries() == []
    # The region comes back by its own checks passing again (the next test finds it whole).
    wait_until("taiwan up at the edge", lambda: edge_state(shared_sandbox, "taiwan") == "UP", 10)
