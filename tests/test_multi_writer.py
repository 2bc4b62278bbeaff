"""ADR-037's multi-writer topology on a real sandbox, and its promises judged by the gate.

Each test boots its own multi-writer sandbox with the policies it judges
(they change the schema's triggers and the shops' settings), runs
`partition-active-active` through the gate in a subprocess, and reads the
verdicts the gate printed and journalled. Nothing here tells the gate what
went wrong: it finds it in each region's own database.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from aws_stubs import EXAMPLE
from breakage_runs import Case, Runs, chosen, run_cases, verdict_line
from sandbox_probes import require_sandbox_host

from aftershock.config.target_file import Sql, load
from aftershock.config.topology import REGIONS, Topology, other_region
from aftershock.load import history
from aftershock.load.runs import Run
from aftershock.sandbox import lifecycle, pglogical
from aftershock.sandbox import status as sandbox_status
from aftershock.sandbox.options import SandboxOptions
from aftershock.sandbox.state import load_credentials
from aftershock.targets import drivers
from aftershock.targets.aws import writer_reads

pytestmark = [pytest.mark.sandbox, pytest.mark.many_sandboxes]

EXPERIMENT = "partition-active-active"
HOLD_S = "20"  # still twice the replication links' 10 s timeouts: a real link loss
PARTITION = {"AFTERSHOCK_PARTITION_HOLD_S": HOLD_S}


def multi_writer(*options: str) -> tuple[str, ...]:
    return ("--topology", "multi-writer", *options)


CORRECTED = multi_writer("--inventory", "delta", "--order-keys", "region")
DESIGNS = {
    # ADR-037 as written: local orders, the ADR's minimum rule, global keys. Its
    # reconciliation budget is tightened to 10 s (a target file's budgets):
    # pglogical notices a dead link late, so the convergence verdict must fail.
    "adr": Case("active-active", sandbox_options=multi_writer("--inventory", "min"),
                budgets={"promise_convergence_s": 10}, env=PARTITION),
    # Quorum orders; profile replication is also broken on purpose (a breakage).
    "quorum": Case("active-active", "remote_profiles_dropped",
                   sandbox_options=multi_writer("--orders", "quorum"), env=PARTITION),
    # The corrected design: per-region allotments and region-scoped keys.
    "corrected": Case("active-active", sandbox_options=CORRECTED, env=PARTITION),
    # The corrected design, tokyo sold out as the cut begins: every Japanese checkout a 409.
    "sold-out": Case("partition-active-active and not repeated", "allotment_sold_out",
                     when="at_fault:partition_regions", sandbox_options=CORRECTED, env=PARTITION),
    # The corrected design, its replication relayed through the witness around every cut.
    "transit": Case("active-active", "transit", {"dialer": "both", "ports": [5432]},
                    sandbox_options=CORRECTED, env=PARTITION),
}  # fmt: skip


@dataclass
class GateRun:
    """One design's gate run of the partition: its exit code, output and verdicts."""

    code: int
    text: str
    verdicts: dict[str, Any]
    results: Path
    repeated: dict[str, Any]


@pytest.fixture(scope="module")
def partition_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GateRun]:
    """Every design's gate runs of the partitions, side by side on sandboxes of their own.

    Each run mostly waits (its pauses, pglogical's reconnection), so running
    them side by side costs CI little more than the longest.
    """
    require_sandbox_host()
    runs = run_cases(chosen(DESIGNS), tmp_path_factory.mktemp, "mw")
    found = Runs()
    for name, run in runs.items():
        assert not run.breaking, f"{name}: {run.breaking}"
        repeated = (
            run.verdicts("partition-repeated-active-active")
            if "repeated" not in (DESIGNS[name].run)
            and any(run.results.glob("gate-*/partition-repeated-*"))
            else {}
        )
        found[name] = GateRun(run.code, run.text, run.verdicts(EXPERIMENT), run.results, repeated)
    return found


def output_of(verdicts: dict[str, Any], name: str) -> dict[str, Any]:
    return verdicts[name].get("output") or {}


def test_multi_writer_boots_fast_and_replicates_both_ways(
    fresh_topology: Topology, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    began = time.monotonic()
    info = lifecycle.up(fresh_topology, SandboxOptions(topology="multi-writer"))
    assert time.monotonic() - began < 15, info  # to the first write and past it: all of it
    creds = load_credentials(fresh_topology)
    status = pglogical.subscription_status(fresh_topology, creds)
    assert {r: s["status"] for r, s in status.items()} == dict.fromkeys(REGIONS, "replicating")
    assert all(s["forward_origins"] == [] for s in status.values())
    rows = [r for r in sandbox_status.collect(fresh_topology, creds) if r.component == "postgres"]
    assert [(r.region, r.health) for r in rows] == [(r, "replicating") for r in REGIONS]
    assert all(" s from " in r.lag and not r.lag.startswith(">=") for r in rows), rows
    # A real cross-region write each way: an order through each region's shop, read
    # back from the other region's own database.
    placed = []
    for region in REGIONS:
        key = f"boot-{region[:2]}-check@{region}"
        answer = httpx.post(
            f"{fresh_topology.shop_url(region)}/orders",
            json={"items": [{"product_id": 1, "quantity": 1}]},
            headers={"Idempotency-Key": key},
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        placed.append((key, answer.json()["order_id"], region))
        other = other_region(region)
        deadline = time.monotonic() + 5
        with pglogical.connect_writer(fresh_topology, other, creds) as conn:
            while time.monotonic() < deadline:
                row = conn.execute(
                    "SELECT region FROM orders WHERE idempotency_key = %s", (key,)
                ).fetchone()
                if row:
                    break
                time.sleep(0.01)
        assert row == (region,), f"{key} never reached {other}"

    # The taiwan order sent again, same key, through tokyo: the same order comes back.
    key, order_id, _ = placed[0]
    again = httpx.post(
        f"{fresh_topology.shop_url('tokyo')}/orders",
        json={"items": [{"product_id": 1, "quantity": 1}]},
        headers={"Idempotency-Key": key},
        timeout=10,
    )
    assert (again.status_code, again.json()["order_id"]) == (200, order_id), again.text
    # The aws target's ADR-037 reads, over SQL, against these two real writers.
    judged = aws_final_reads(fresh_topology, tmp_path, monkeypatch, placed)
    assert judged["valid"] is True, judged
    assert judged["regions"]["tokyo"]["acknowledged"] == 2


def test_the_adrs_policies_fail_the_partition_naming_what_they_lose(
    partition_runs: dict[str, GateRun],
) -> None:
    run = partition_runs["adr"]
    assert run.code == 1, run.text
    assert run.verdicts["the-cut-held-replication-back"]["tolerance_met"] is True, run.text
    stock = verdict_line(run.text, "stock-conserved-no-oversell")
    assert "unit(s) of lost decrements on" in stock, stock
    lost = output_of(run.verdicts, "stock-conserved-no-oversell")["regions"]["taiwan"]
    assert lost["lost_decrements"], lost  # product -> units, named
    assert all(int(units) > 0 for units in lost["lost_decrements"].values())
    orders = output_of(run.verdicts, "zero-lost-orders-in-every-region")
    if orders["keys_accepted_twice"]:  # resubmissions crossed the partition: named by key
        assert "accepted twice" in verdict_line(run.text, "zero-lost-orders-in-every-region")
    converged = verdict_line(run.text, "converged-within-5-min-of-the-heal")
    seconds = output_of(run.verdicts, "converged-within-5-min-of-the-heal")["seconds"]
    assert seconds is not None, converged
    assert seconds > 10, converged  # pglogical notices the dead link late
    assert f"caught up {seconds:.1f} s after the heal: over the 10 s promise" in converged
    # The minimum rule may also leave rows that never agree: then named, with both values.
    assert "verdict no-downtime-in-the-partition" not in run.text  # both regions kept selling
    report = json.loads(next(run.results.glob("gate-*/summary.json")).read_text())
    assert report["topology"].startswith("multi-writer (local orders, min stock")
    cell = report["promises"]["no oversell (stocked = left + sold)"]
    assert cell["verdict"] == "❌", cell


def test_quorum_orders_keep_every_order_and_refuse_checkouts_in_the_partition(
    partition_runs: dict[str, GateRun],
) -> None:
    """Quorum trades availability for orders. The same run breaks profile replication
    on purpose (an apply-side trigger discards the other region's writes), and the
    lost-update verdict must name what it lost."""
    run = partition_runs["quorum"]
    assert run.code == 1, run.text
    assert run.verdicts["the-cut-held-replication-back"]["tolerance_met"] is True, run.text
    downtime = verdict_line(run.text, "no-downtime-in-the-partition")
    assert "downtime during the fault" in downtime, downtime
    assert run.verdicts["zero-lost-orders-in-every-region"]["tolerance_met"] is True, run.text
    regions = output_of(run.verdicts, "no-downtime-in-the-partition")["regions"]
    assert all(v["failed"] > 0 for v in regions.values()), regions
    lost = verdict_line(run.text, "no-lost-profile-updates")
    assert "acknowledged profile write(s) lost" in lost, lost


def test_the_corrected_design_keeps_stock_and_orders_through_the_partition(
    partition_runs: dict[str, GateRun],
) -> None:
    """Per-region allotments and region-scoped keys: the regions' writes commute."""
    run = partition_runs["corrected"]
    for name in (
        "the-cut-held-replication-back",
        "stock-conserved-no-oversell",
        "zero-lost-orders-in-every-region",
        "no-downtime-in-the-partition",
        "converged-within-5-min-of-the-heal",
        "no-lost-profile-updates",
    ):
        assert run.verdicts[name]["tolerance_met"] is True, (name, output_of(run.verdicts, name))
    resubmitted = output_of(run.verdicts, "zero-lost-orders-in-every-region")["accepted_twice"]
    assert resubmitted["count"] == 0


def test_a_region_sold_out_as_the_cut_begins_fails_no_downtime(
    partition_runs: dict[str, GateRun],
) -> None:
    """Tokyo's allotments used up (the books still add up): its customers are refused, all of
    them. A 409 is downtime for checkout: "no downtime" names tokyo, whatever the status."""
    run = partition_runs["sold-out"]
    assert run.code == 1, run.text[-3000:]
    downtime = verdict_line(run.text, "no-downtime-in-the-partition")
    assert "downtime during the fault: tokyo:" in downtime, downtime
    regions = output_of(run.verdicts, "no-downtime-in-the-partition")["regions"]
    assert regions["taiwan"]["error_ratio"] <= 0.05, regions  # taiwan kept selling
    assert run.verdicts["stock-conserved-no-oversell"]["tolerance_met"] is True


def test_replication_routed_around_every_cut_fails_the_cut_held_replication_back(
    partition_runs: dict[str, GateRun],
) -> None:
    """pglogical's links relayed through the witness: the cut holds for the shoppers only."""
    run = partition_runs["transit"]
    assert run.code == 1, run.text[-3000:]
    held = verdict_line(run.text, "the-cut-held-replication-back")
    assert "the cut did not hold replication back" in held, held
    # Every one of the repeated cuts: the relayed links never see the cut (it drops by
    # where a packet really goes, after NAT), so no heal leaves them backing off.
    cuts = {
        name: run.repeated[name]
        for name in (
            "the-cut-held-replication-back-first-cut",
            "the-cut-held-replication-back-second-cut",
            "the-cut-held-replication-back-third-cut",
        )
    }
    assert all(cut["tolerance_met"] is False for cut in cuts.values()), {
        name: cut["output"]["reason"] for name, cut in cuts.items()
    }


def aws_final_reads(
    topology: Topology,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    placed: list[tuple[str, int, str]],
) -> dict[str, Any]:
    """`aws.writer_reads.orders_across_regions` with the target file's writers on the sandbox."""
    monkeypatch.setenv("AFTERSHOCK_TEST_PG", load_credentials(topology).postgres)
    writers = {
        region: Sql(topology.address(region), 5432, "shop", "postgres", "AFTERSHOCK_TEST_PG",
                    "disable")
        for region in REGIONS
    }  # fmt: skip
    records = []
    for key, order_id, region in placed:
        records.append(history.invoke(key, "boot", "checkout", {"items": []}))
        records.append(history.complete("ok", key, "boot", "checkout",
                                        {"order_id": order_id, "region": region}))  # fmt: skip
    (tmp_path / history.HISTORY_FILE).write_text("".join(json.dumps(r) + "\n" for r in records))
    key, order_id, region = placed[0]
    resubmit = [
        history.invoke(f"{key}#resubmit", "boot", "resubmit", {"key": key}),
        history.complete("ok", f"{key}#resubmit", "boot", "resubmit",
                         {"key": key, "order_id": order_id, "region": region}),
    ]  # fmt: skip
    (tmp_path / history.RESUBMITS_FILE).write_text("".join(json.dumps(r) + "\n" for r in resubmit))
    target = replace(load(EXAMPLE), writers=writers)
    ctx = drivers.build(
        {"aftershock_target": "aws", "aftershock_target_file": str(EXAMPLE),
         "aftershock_sandbox": topology.name, "aftershock_state_root": str(tmp_path / "state")},
        "aws", aws_factory=lambda *a: None, credentials=lambda profile: True, target=target,
    )  # fmt: skip
    return writer_reads.orders_across_regions(ctx, run=Run(tmp_path, False, "boot"))
