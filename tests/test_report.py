"""The report of a recorded gate run: its figures checked against the journals and histories.

`tests/data/gate-recorded/` is a real `make gameday`-style run (the gate
with `--profile unsafe`, so lost-write loses orders and fails), trimmed to
the evidence the report reads. The test computes each figure again from
the raw files, its own way, and compares.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from aftershock.cli.main import app
from aftershock.load import history
from aftershock.report.run import write_report
from aftershock.report.trend import write_history
from aftershock.runner.experiment import verdict_summary

RECORDED = Path(__file__).parent / "data" / "gate-recorded"


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    run_dir = tmp_path_factory.mktemp("results") / RECORDED.name
    shutil.copytree(RECORDED, run_dir)
    written = write_report(run_dir)
    return run_dir, json.loads(written.json.read_text())


def verdicts_of(journal: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = journal["aftershock_verdicts"]
    return {v["output"]["checker"]: v for v in found if "checker" in (v["output"] or {})}


def test_every_experiment_of_the_run_is_in_the_summary(reported: tuple[Path, Any]) -> None:
    run_dir, summary = reported
    on_disk = {p.parent.name for p in run_dir.glob("*/journal.json")}
    assert {e["name"] for e in summary["experiments"]} == on_disk
    assert len(on_disk) == 4


def test_verdicts_match_the_journals(reported: tuple[Path, Any]) -> None:
    run_dir, summary = reported
    for e in summary["experiments"]:
        journal = json.loads((run_dir / e["name"] / "journal.json").read_text())
        assert e["verdict"] == ("failed" if verdict_summary(journal) else "passed"), e["name"]
        assert e["status"] == journal["status"]
    assert summary["failed"] == ["lost-write"]
    assert summary["verdict"] == "failed"


def test_order_figures_match_the_history_and_the_integrity_verdict(
    reported: tuple[Path, Any],
) -> None:
    run_dir, summary = reported
    for e in summary["experiments"]:
        journal = json.loads((run_dir / e["name"] / "journal.json").read_text())
        integrity = verdicts_of(journal)["order_integrity"]["output"]
        records = history.read(run_dir / e["name"] / "load" / "history.jsonl").records
        acknowledged = len(list(history.acknowledged(history.operations(records))))
        assert e["orders"]["acknowledged"] == acknowledged == integrity["acknowledged"]
        for key in ("lost", "duplicated", "unexpected"):
            assert e["orders"][key] == len(integrity[key]), (e["name"], key)
    lost_write = next(e for e in summary["experiments"] if e["name"] == "lost-write")
    assert lost_write["orders"]["lost"] > 0
    assert lost_write["promises"]["orders"]["kept"] == 0.0
    assert lost_write["score"] < 100.0


def test_rto_matches_the_recovery_verdict(reported: tuple[Path, Any]) -> None:
    run_dir, summary = reported
    timed = 0
    for e in summary["experiments"]:
        journal = json.loads((run_dir / e["name"] / "journal.json").read_text())
        recovery = verdicts_of(journal).get("recovery_time")
        if recovery is None:
            assert e["rto"] is None
            continue
        timed += 1
        out = recovery["output"]
        assert e["rto"]["seconds"] == out["seconds"]
        assert (e["rto"]["at_least"], e["rto"]["at_most"]) == (out["at_least"], out["at_most"])
        assert e["rto"]["target_s"] == 300.0
        assert e["rto"]["met"] is recovery["tolerance_met"]
    assert timed == 2  # database-failover and region-outage


def test_traffic_and_lag_figures_match_the_raw_files(reported: tuple[Path, Any]) -> None:
    run_dir, summary = reported
    for e in summary["experiments"]:
        load = run_dir / e["name"] / "load"
        timeline = [json.loads(line) for line in (load / "timeline.jsonl").open()]
        assert e["traffic"]["requests"] == len(timeline)
        failed = sum(1 for r in timeline if r["status"] == 0 or r["status"] >= 500)
        assert e["traffic"]["errors"] == failed
        samples = [json.loads(line) for line in (load / "replication_lag.jsonl").open()]
        journal = json.loads((run_dir / e["name"] / "journal.json").read_text())
        probed = [
            p["output"]["max"]
            for phase in journal["steady_states"].values()
            if phase
            for p in phase["probes"]
            if p["activity"]["name"].startswith("replication-lag") and p.get("output")
        ]
        expected = max([s["max"] for s in samples if s["max"] is not None] + probed)
        assert e["replication_lag"]["max_s"] == pytest.approx(expected)
        assert e["replication_lag"]["samples"] == len(samples) > 10


def test_the_html_report_has_a_section_a_plot_and_working_links_per_experiment(
    reported: tuple[Path, Any],
) -> None:
    run_dir, summary = reported
    page = (run_dir / "report.html").read_text()
    # Works offline: nothing is fetched, every script and style is inline.
    assert re.findall(r"<(?:script|link|img)[^>]*(?:src|href)=", page) == []
    for number, e in enumerate(summary["experiments"]):
        assert f'id="{e["name"]}"' in page
        assert f'id="plot-{number}"' in page
        for path in e["evidence"].values():
            assert (run_dir / path).is_file(), path
            assert f'href="{path}"' in page


def test_the_markdown_summary_has_the_verdict_table_and_why_lost_write_failed(
    reported: tuple[Path, Any],
) -> None:
    run_dir, summary = reported
    md = (run_dir / "summary.md").read_text()
    assert md.startswith("## aftershock gate FAILED: 3 of 4 experiments passed")
    for e in summary["experiments"]:
        assert f"| {e['name']} |" in md
    assert "### lost-write failed" in md
    assert "lost" in md.split("### lost-write failed")[1]


def test_history_shows_the_last_runs_oldest_first(
    reported: tuple[Path, Any], tmp_path: Path
) -> None:
    _, summary = reported
    for number, name in enumerate(("gate-a", "gate-b", "gate-c")):
        copy = tmp_path / name
        copy.mkdir()
        later = {**summary, "run": name, "started": f"2030-01-0{number + 1}T00:00:00+00:00"}
        later["score"] = 50.0 + number
        (copy / "summary.json").write_text(json.dumps(later))
    html, md, shown = write_history(tmp_path, last=2)
    assert [run["run"] for run in shown] == ["gate-b", "gate-c"]
    assert "gate-a" not in md.read_text()
    assert "| gate-c | ❌ failed | 52.0 |" in md.read_text()
    assert 'id="history"' in html.read_text()


def test_report_of_a_directory_without_evidence_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert "no experiment evidence" in result.output
    assert "Traceback" not in result.output
    missing = CliRunner().invoke(app, ["report", str(tmp_path / "nope")])
    assert missing.exit_code == 2
    assert "no such directory" in missing.output


def test_a_malformed_journal_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    broken = tmp_path / "gate-x" / "broken"
    broken.mkdir(parents=True)
    (broken / "journal.json").write_text(json.dumps({"aftershock_verdicts": [{"no": "name"}]}))
    result = CliRunner().invoke(app, ["report", str(tmp_path / "gate-x")])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.startswith("error: unexpected KeyError")
    assert len(result.output.strip().splitlines()) == 1
