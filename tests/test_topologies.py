"""The two topologies' choices: validated in one line, and experiments refused by name."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aftershock.config.topology import Topology
from aftershock.errors import SandboxError
from aftershock.report import promises
from aftershock.sandbox.options import SandboxOptions
from aftershock.targets.local.topologies import (
    TopologyUnsupported,
    experiment_file_refusal,
    refuse,
)

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "experiments"


def test_multi_writer_policies_are_refused_on_the_single_writer_in_one_line() -> None:
    with pytest.raises(SandboxError, match="--orders quorum is a multi-writer policy"):
        SandboxOptions(orders="quorum")
    with pytest.raises(SandboxError, match="--inventory must be one of lww, min, delta"):
        SandboxOptions(topology="multi-writer", inventory="max")
    with pytest.raises(SandboxError, match="--topology must be one of"):
        SandboxOptions(topology="three-writer")
    label = SandboxOptions(topology="multi-writer", inventory="delta", order_keys="region").policy
    assert label == "multi-writer (local orders, delta stock, region keys)"


def test_experiments_that_need_patroni_are_refused_on_multi_writer_by_name() -> None:
    refused = {
        path.stem: experiment_file_refusal(path, "multi-writer")
        for path in sorted(EXPERIMENTS.glob("*.json"))
    }
    blocked = {name for name, why in refused.items() if why}
    assert blocked == {"database-failover", "network-partition", "replication-lag"}
    assert "crash_db_leader" in str(refused["database-failover"])
    assert "two primaries are multi-writer's design" in str(refused["network-partition"])
    assert not any(experiment_file_refusal(p, "single-writer") for p in EXPERIMENTS.glob("*.json"))


def test_a_fault_the_topology_cannot_serve_is_refused_before_it_acts(tmp_path: Path) -> None:
    topology = Topology("mwtest", tmp_path)
    topology.state_dir.mkdir(parents=True)
    (topology.state_dir / "sandbox.json").write_text(
        json.dumps({"options": {"topology": "multi-writer"}})
    )
    with pytest.raises(TopologyUnsupported, match="crash_db_leader is not supported by the mult"):
        refuse(topology, "crash_db_leader")
    refuse(topology, "partition_regions")  # both topologies can cut a link


def test_a_bad_policies_option_stops_the_gate_before_anything_boots(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "experiments", "-m", "active-active", "--topology",
         "multi-writer", "--policies", "inventory=max", "--results", str(tmp_path),
         "-p", "no:cacheprovider"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr  # the gate's usage error
    assert "--inventory must be one of lww, min, delta, not 'max'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not list(tmp_path.iterdir())


def row(name: str, met: bool, output: dict) -> dict:
    return {"name": name, "met": met, "output": output, "reason": ""}


def test_the_promise_table_puts_each_topology_in_its_own_column() -> None:
    single = promises.column(
        [{"name": "partition-active-active", "verdicts": [
            row("no-downtime-in-the-partition", False,
                {"regions": {"taiwan": {"failed": 0, "checkouts": 30},
                             "tokyo": {"failed": 15, "checkouts": 15}}}),
        ]}]
    )  # fmt: skip
    multi = promises.column(
        [{"name": "partition-active-active", "verdicts": [
            row("stock-conserved-no-oversell", False,
                {"totals": {"taiwan": {"lost_decrement_units": 65, "lost_decrement_products": 42,
                                       "oversold_units": 0}}}),
            row("converged-within-5-min-of-the-heal", True, {"seconds": 29.7}),
        ]}]
    )  # fmt: skip
    text = promises.table([("single-writer", single), ("multi-writer (ADR)", multi)])
    lines = text.splitlines()
    assert lines[0] == "| promise | single-writer | multi-writer (ADR) |"
    downtime = next(line for line in lines if line.startswith("| no downtime"))
    assert "❌ taiwan 0/30 checkouts failed, tokyo 15/15 checkouts failed" in downtime
    assert downtime.endswith(f"| {promises.NOT_RUN} not run |")
    stock = next(line for line in lines if line.startswith("| no oversell"))
    assert "❌ 65 units of lost decrements on 42 products, 0 oversold" in stock
    assert "✅ 29.7 s after the heal" in text


def test_runs_of_one_design_share_a_column() -> None:
    outage = {"RTO < 5 min": {"verdict": promises.MET, "figure": "12.0 s", "by": "region-outage"}}
    partition = {"RTO < 5 min": {"verdict": promises.NOT_RUN, "figure": "not run", "by": ""}}
    other = {"RTO < 5 min": {"verdict": promises.BROKEN, "figure": "400.0 s", "by": "x"}}
    columns = promises.merged([("a", outage), ("b", other), ("a", partition)])
    assert [label for label, _ in columns] == ["a", "b"]
    assert columns[0][1]["RTO < 5 min"]["figure"] == "12.0 s"  # the judged cell wins
    both = promises.merged([("a", outage), ("a", other)])[0][1]["RTO < 5 min"]
    assert both["verdict"] == promises.BROKEN
    assert both["figure"] == "12.0 s; 400.0 s"
