"""One recorded run, one p95 and one error rate: the live line, the verdicts and the report agree.

The run is the recorded region outage (`tests/data/gate-recorded/`): a
real gate run whose timeline holds unanswered requests and 503s, which
is where two definitions of a figure used to disagree.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from aftershock.cli import load as load_cli
from aftershock.load import history, timeline
from aftershock.load.runner import LoadSettings
from aftershock.report.figures import experiment_figures
from probes import traffic

RECORDED = Path(__file__).parent / "data" / "gate-recorded" / "region-outage"


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """The recorded run's load evidence, as a run directory of its own."""
    copy = tmp_path / "load"
    shutil.copytree(RECORDED / "load", copy)
    return copy


def live_line_of(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """What `aftershock load` prints when the whole run arrives in one tick."""
    printed = io.StringIO()
    monkeypatch.setattr(load_cli, "out", lambda: Console(file=printed, width=200))
    monkeypatch.setattr(load_cli, "TICK", 0.0)
    monkeypatch.setattr(load_cli, "PLAIN_EVERY", 1)
    ticks = iter([None, 0])
    load_cli._watch(LoadSettings(host="http://x", run_dir=run_dir), lambda: next(ticks))
    load_cli._report(run_dir)
    return printed.getvalue()


def test_the_live_line_the_verdicts_and_the_report_give_one_p95_and_error_rate(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = history.read(run_dir / history.TIMELINE_FILE).records
    unanswered = sum(1 for r in records if not timeline.is_answered(r))
    failed = sum(1 for r in records if timeline.is_error(r))
    assert unanswered, "the run must hold unanswered requests"
    assert failed > unanswered, "and answered ones that failed"
    whole = timeline.span_s(records) + 1.0

    shown = live_line_of(run_dir, monkeypatch)
    configuration = {"aftershock_sandbox": "nowhere", "aftershock_state_root": str(run_dir)}
    rate = traffic.error_rate(whole, str(run_dir), configuration)
    p95 = traffic.latency_percentile(95, whole, str(run_dir), configuration)
    report = experiment_figures(RECORDED)["traffic"]

    assert rate["requests"] == report["requests"] == len(records)
    assert round(rate["rate"], 4) == report["error_rate"]
    assert p95["ms"] == report["p95_ms"]
    live = re.findall(r"errors\s+([\d.]+)%\s+p95\s+(\d+) ms", shown)
    closing = re.findall(r"errors ([\d.]+)%, p95 (\d+) ms", shown)
    assert len(live) == 1, shown
    assert len(closing) == 1, shown
    for error_pct, p95_ms in (live[0], closing[0]):
        assert error_pct == f"{100 * report['error_rate']:.1f}"
        assert int(p95_ms) == round(report["p95_ms"])
