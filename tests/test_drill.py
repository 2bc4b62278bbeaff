"""The DR drill on real sandboxes: `aftershock drill` passes its six steps, and fails naming one.

Three sandboxes at once, each running the drill through the CLI as an
operator does: a whole platform, a tokyo whose shop cannot serve more
than about 1.4 times the normal peak, and a tokyo whose checkout is
switched off. Nothing tells the drill what was broken: it finds it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import side_by_side
from sandbox_probes import require_sandbox_host
from test_gate_verdicts import ROOT, environment, verdict_line

from aftershock.config.topology import Topology
from aftershock.sandbox import shops
from aftershock.sandbox.readiness import wait_until
from aftershock.sandbox.shop.runtime import RuntimeSettings
from aftershock.targets.local import ledger
from aftershock.targets.local.health_check import (
    fail_health_check,
    kept_running,
    restore_health_check,
)
from aftershock.targets.local.reset import edge_state

pytestmark = pytest.mark.sandbox

# The drill's normal peak is 30 users, about 17 requests a second; twice it, about 35.
CASES = {
    "whole": ("drwhole", None),
    "limited": ("drcap", RuntimeSettings(capacity_rps=24.0)),
    "no-checkout": ("drnochk", RuntimeSettings(checkout_enabled=False)),
}
# Seconds step 2 and step 5 may hold. Without checkout tokyo never serves everyone (its
# checkouts fail), so step 2 holds its whole budget: a short one keeps the test short.
HOLD_BUDGET_S = {"whole": "20", "limited": "20", "no-checkout": "10"}
STEP_3 = "step-3-tokyo-carries-the-peak-and-twice-it"
STEP_4 = "step-4-journeys-pass-in-every-geo"


@dataclass
class Drill:
    """One `aftershock drill` run: its exit code, output and the report's drill section."""

    code: int
    text: str
    results: Path

    def summary(self) -> dict[str, Any]:
        [path] = self.results.glob("gate-*/summary.json")
        return json.loads(path.read_text())

    def section(self) -> dict[str, Any]:
        [experiment] = self.summary()["experiments"]
        return experiment["drill"]

    def step(self, number: int) -> dict[str, Any]:
        return self.section()["steps"][number - 1]


@pytest.fixture(scope="module")
def drills(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Drill]]:
    """The three drills, side by side: each mostly waits on its load, its holds and its levels."""
    require_sandbox_host()
    topologies = {case: Topology(name) for case, (name, _) in CASES.items()}
    try:
        side_by_side.boot(topologies.values())
        for case, (_, settings) in CASES.items():
            if settings is not None:
                shops.reconfigure(topologies[case], "tokyo", settings)
        started = {}
        for case, topology in topologies.items():
            results = tmp_path_factory.mktemp(case)
            command = [
                sys.executable, "-m", "aftershock.cli.main", "drill", "--name", topology.name,
                "--reuse-sandbox", "--results", str(results), "--level-seconds", "10",
            ]  # fmt: skip
            env = {**environment(), "AFTERSHOCK_HOLD_BUDGET_S": HOLD_BUDGET_S[case]}
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
            started[case] = (process, results)
        runs = {}
        for case, (process, results) in started.items():
            output, _ = process.communicate(timeout=600)
            runs[case] = Drill(process.returncode, output, results)
        yield runs
    finally:
        side_by_side.down(topologies.values())


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
