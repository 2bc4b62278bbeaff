"""The DR report's drill section: what a drill that stopped early still shows, and never a crash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aftershock.report import drill
from aftershock.report.figures import verdict_rows
from aftershock.report.run import write_report

DRILL = Path(__file__).resolve().parents[1] / "experiments" / "drill" / "dr-drill.json"


def ran(name: str, start: str, end: str, output: Any = None, status: str = "succeeded") -> dict:
    experiment = json.loads(DRILL.read_text())
    activity = next(a for a in experiment["method"] if a["name"] == name)
    return {"activity": activity, "start": start, "end": end, "status": status, "output": output}


def stopped_at_step_2() -> dict[str, Any]:
    """A drill whose method stopped in step 2 (the safeguard, say): no verdict was judged."""
    held = {"valid": False, "reason": "not traffic off taiwan within 20 s", "held_s": 20.1}
    return {
        "experiment": json.loads(DRILL.read_text()),
        "status": "interrupted",
        "start": "2026-11-30T04:00:00+00:00",
        "end": "2026-11-30T04:00:40+00:00",
        "duration": 40.0,
        "run": [
            ran("drill-load", "2026-11-30T04:00:00+00:00", "2026-11-30T04:00:39+00:00"),
            ran(
                "step-1-fail-taiwan-health-check",
                "2026-11-30T04:00:08+00:00",
                "2026-11-30T04:00:08.1+00:00",
                {"fault": "fail_health_check"},
            ),
            ran(
                "step-2-monitor-the-failover",
                "2026-11-30T04:00:08.1+00:00",
                "2026-11-30T04:00:28+00:00",
                held,
            ),
        ],
    }


def test_a_drill_that_stopped_at_step_2_reports_the_later_steps_as_not_run() -> None:
    journal = stopped_at_step_2()
    section = drill.section(journal, verdict_rows(journal))
    assert section is not None
    steps = {s["number"]: s for s in section["steps"]}
    assert steps[1]["passed"] is True
    assert steps[2]["passed"] is False  # its RTO verdicts were never judged
    for number in (3, 4, 5):
        assert steps[number]["passed"] is False
        assert steps[number]["problems"] == ["not run: the drill stopped before this step"]
    assert not any(row["met"] for row in section["targets"])
    lines = drill.figure_lines(section)
    assert lines[0].startswith("RTO (traffic off taiwan): not measured")
    assert lines[1].startswith("RPO: not judged")


def test_the_report_is_written_for_a_drill_that_stopped_early(tmp_path: Path) -> None:
    evidence = tmp_path / "gate-x" / "dr-drill"
    evidence.mkdir(parents=True)
    (evidence / "journal.json").write_text(json.dumps(stopped_at_step_2()))
    written = write_report(tmp_path / "gate-x")
    summary = written.markdown.read_text()
    assert "### DR drill: dr-drill" in summary
    assert "not run: the drill stopped before this step" in summary
    assert "DR drill" in written.html.read_text()


def test_other_experiments_have_no_drill_section() -> None:
    journal = stopped_at_step_2()
    journal["experiment"]["tags"] = ["gate"]
    assert drill.section(journal, verdict_rows(journal)) is None
