"""A recorded region outage: failover and failback reported apart, drawn as phases of their own.

The run (`tests/data/phases-recorded/`) is a real region-outage run on the
sandbox, trimmed to what the report reads: taiwan blackholed and held
until tokyo served everyone, then restored.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from aftershock.report import plots
from aftershock.report.run import write_report

RECORDED = Path(__file__).parent / "data" / "phases-recorded"


def test_failover_and_failback_are_apart_in_summary_json_and_drawn_as_phases(
    tmp_path: Path,
) -> None:
    run = tmp_path / "gate-recorded"
    shutil.copytree(RECORDED, run)
    written = write_report(run)
    summary = json.loads((run / "summary.json").read_text())
    [experiment] = summary["experiments"]
    rto = experiment["rto"]
    journal = json.loads((RECORDED / "region-outage" / "journal.json").read_text())
    verdict = next(
        v["output"] for v in journal["aftershock_verdicts"]
        if v["name"] == "failover-within-the-promise"
    )  # fmt: skip
    # The failover while taiwan was still out, and what the restore cost, each its own figure.
    assert rto["seconds"] == verdict["seconds"] < verdict["held_s"]
    assert rto["detection_s"] == verdict["detection_s"]
    assert rto["failback"] == verdict["failback"]
    assert rto["failback"]["errors"] > 0
    assert rto["claim"]["valid"] is True
    html = written.html.read_text()
    failover = f"failover {rto['seconds']:.1f} s"
    failback = f"failback {rto['failback']['seconds']:.1f} s, {rto['failback']['errors']} errors"
    assert failover in html
    assert failback in html
    for fill in (plots.FAILOVER_FILL, plots.FAILBACK_FILL):
        assert fill in html, fill


def test_a_failover_that_did_not_happen_is_drawn_as_such() -> None:
    rto = {"valid": False, "seconds": None, "fault_start": 100.0, "undo_at": 145.0,
           "failback": {"seconds": 0.9, "errors": 30}}  # fmt: skip
    timeline = [{"t": float(t), "status": 200, "ms": 3.0, "region": "tokyo", "geo": "JP"}
                for t in range(90, 160)]  # fmt: skip
    fragment = plots.experiment_figure("p", timeline, [], [], None, None, rto)
    assert "no failover while held" in fragment
    assert plots.FAILED_FILL in fragment
