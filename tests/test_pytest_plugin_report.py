"""The plugin writes the game-day report when a session that ran experiments ends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_pytest_plugin import experiment, lab, probe, run, write

__all__ = ["lab"]  # the fixture, re-exported so pytest finds it here


def test_a_session_ends_with_its_report_and_the_ci_job_summary(
    lab: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    step_summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    write(lab, "fine", experiment(["gate"], verdicts=[probe("two", "value", 2, v=2)]))
    write(lab, "broken", experiment(["gate"], steady=2))
    result = run(lab)
    result.assert_outcomes(passed=1, failed=1)
    [run_dir] = (lab.path / "res").glob("gate-*")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert {e["name"]: e["verdict"] for e in summary["experiments"]} == {
        "fine": "passed",
        "broken": "failed",
    }
    assert (run_dir / "report.html").stat().st_size > 1_000_000  # plotly.js is inlined
    assert step_summary.read_text().startswith("## aftershock gate FAILED: 1 of 2")
    result.stdout.fnmatch_lines(["*game-day report: resilience score*", f"{run_dir}/report.html"])


def test_a_session_that_ran_no_experiment_writes_no_report(lab: pytest.Pytester) -> None:
    write(lab, "slow", experiment(["gameday"]))
    run(lab, "-m", "gate").assert_outcomes()
    assert not list(lab.path.glob("res/gate-*/report.html"))
