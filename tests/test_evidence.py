"""Finding a run's evidence on disk, and the probes that read only files, without a sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aftershock.config.topology import Topology
from aftershock.errors import EvidenceMissing
from aftershock.load import history
from aftershock.load.runner import find_run, registry_path
from aftershock.load.runs import recent_requests
from aftershock.targets.ledger import Entry
from aftershock.targets.local.common import ledger
from probes import recovery, traffic


def lay_out_run(state_root: Path, rows: list[dict[str, object]], run_id: str = "r1") -> Path:
    """A finished run as `load.launch` leaves it: run dir, load.json, the `.last` pointer."""
    run_dir = state_root / "runs" / "one"
    run_dir.mkdir(parents=True)
    (run_dir / "load.json").write_text(json.dumps({"run_id": run_id}))
    (run_dir / history.TIMELINE_FILE).write_text("".join(json.dumps(r) + "\n" for r in rows))
    registry = registry_path(state_root, "sb")
    registry.parent.mkdir(parents=True)
    registry.with_suffix(".last").write_text(str(run_dir))
    return run_dir


def rows(start: float, seconds: float, rate: int, failing: tuple[float, float] = (0, 0)) -> list:
    out = []
    for n in range(int(seconds * rate)):
        t = start + n / rate
        status = 503 if failing[0] <= t < failing[1] else 200
        region = "taiwan" if n % 5 < 3 else "tokyo"
        out.append({"t": t, "route": "/x", "status": status, "ms": 4.0, "region": region})
    return out


def config(state_root: Path) -> dict[str, str]:
    return {"aftershock_sandbox": "sb", "aftershock_state_root": str(state_root)}


def test_no_recorded_run_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EvidenceMissing, match="no load run recorded for sandbox sb"):
        traffic.error_rate(5.0, configuration=config(tmp_path))
    with pytest.raises(EvidenceMissing, match="no load run recorded for /nowhere"):
        find_run(Topology("sb", tmp_path), "/nowhere")


def test_an_ended_run_is_judged_on_its_own_last_seconds(tmp_path: Path) -> None:
    lay_out_run(tmp_path, rows(1000.0, 10, 20, failing=(1008.0, 1010.0)))
    run = find_run(Topology("sb", tmp_path))
    assert (run.live, run.key_prefix) == (False, "r1-")
    window, start, end = recent_requests(run, 2.0)
    assert (start, end) == (pytest.approx(1007.95), pytest.approx(1009.95))
    assert len(window) == 41
    result = traffic.error_rate(2.0, configuration=config(tmp_path))
    assert result["live"] is False
    assert result["rate"] == pytest.approx(40 / 41)
    assert traffic.split(configuration=config(tmp_path))["shares"] == {"taiwan": 0.6, "tokyo": 0.4}


def test_rto_is_timed_from_the_journal_even_after_the_fault_was_healed(tmp_path: Path) -> None:
    topology = Topology("sb", tmp_path)
    with pytest.raises(EvidenceMissing, match="no isolate_region fault in the journal"):
        recovery.rto_seconds("isolate_region", configuration=config(tmp_path))
    book = ledger(topology)
    entry = book.record(Entry("isolate_region", {"region": "taiwan"}))
    book.forget(entry.id)
    began = book.events()[0].at
    lay_out_run(tmp_path, rows(began - 5, 20, 50, failing=(began + 0.5, began + 7.25)))
    result = recovery.rto_seconds("isolate_region", configuration=config(tmp_path))
    assert result["valid"] is True, result
    assert result["seconds"] == pytest.approx(7.3)  # the first success, rounded up
    assert result["fault"] == "isolate_region"
    late = recovery.rto_seconds(target_s=5.0, configuration=config(tmp_path))
    assert late["valid"] is False


def test_the_failover_verdict_reads_the_journal_and_judges_promise_and_claim_apart(
    tmp_path: Path,
) -> None:
    book = ledger(Topology("sb", tmp_path))
    entry = book.record(Entry("isolate_region", {"region": "taiwan"}))
    began = book.events()[0].at
    # Tokyo serves everyone again 12.5 s into the outage; taiwan is restored at +40 s.
    lay_out_run(tmp_path, rows(began - 5, 60, 50, failing=(began + 0.5, began + 12.5)))
    held = recovery.failover("isolate_region", "region", configuration=config(tmp_path))
    assert held["valid"] is True  # still held: judged on what the journal holds so far
    # Restored at +40 s: the heal line as the ledger writes it, at that time.
    with book.journal.open("a") as out:
        out.write(json.dumps({"event": "heal", "id": entry.id, "fault": entry.fault,
                              "params": entry.params, "at": began + 40}) + "\n")  # fmt: skip
    tight = {**config(tmp_path), "aftershock_budgets": '{"claim_region_rto_s": 10}'}
    result = recovery.failover("isolate_region", "region", configuration=tight)
    assert result["seconds"] == pytest.approx(12.5)
    assert result["promise"] == {"target_s": 300.0, "valid": True, "reason": "within 300 s"}
    assert result["claim"]["valid"] is False
    assert "the region design claim: beyond 10 s" in result["reason"]
    unclaimed = recovery.failover("isolate_region", "", configuration=config(tmp_path))
    assert unclaimed["claim"] == {"kind": None, "valid": None, "reason": "no design claim named"}
    assert unclaimed["promise"]["valid"] is True


def test_what_the_undo_costs_while_it_runs_is_failback_not_the_fault(tmp_path: Path) -> None:
    """A node started again takes seconds; its rejoin's errors come after the undo began."""
    book = ledger(Topology("sb", tmp_path))
    entry = book.record(Entry("crash_db_leader", {"region": "taiwan"}))
    began = book.events()[0].at
    # Failed over at +8 s; the undo starts at +12 s and the rejoin fails requests +13 to +14 s.
    lay_out_run(
        tmp_path,
        [r for r in rows(began - 5, 40, 50, failing=(began + 0.5, began + 8.0))
         if not began + 13 <= r["t"] < began + 14]
        + [r | {"status": 503} for r in rows(began + 13, 1, 50)],
    )  # fmt: skip
    with book.journal.open("a") as out:
        for event, at in (("undo", began + 12), ("heal", began + 16)):
            out.write(json.dumps({"event": event, "id": entry.id, "fault": entry.fault,
                                  "params": entry.params, "at": at}) + "\n")  # fmt: skip
    assert book.undo_began(book.events()[0]) == pytest.approx(began + 12)
    result = recovery.failover("crash_db_leader", "database", configuration=config(tmp_path))
    assert result["valid"] is True, result["reason"]
    assert result["seconds"] == pytest.approx(8.0)
    assert result["failback"]["errors"] == 50


def test_a_fault_from_before_the_experiment_is_not_this_experiments_failover(
    tmp_path: Path,
) -> None:
    """An injection that failed must not be stood in for by an older experiment's."""
    book = ledger(Topology("sb", tmp_path))
    book.record(Entry("isolate_region", {"region": "taiwan"}))
    began = book.events()[0].at
    lay_out_run(tmp_path, rows(began - 5, 30, 50))
    later = {**config(tmp_path), "aftershock_experiment_started": began + 1}
    with pytest.raises(EvidenceMissing, match=r"no isolate_region fault .* since the experiment"):
        recovery.failover("isolate_region", "region", configuration=later)
    assert [e.fault for e, _ in book.faults_since(began)] == ["isolate_region"]
    assert book.faults_since(began + 1) == []
