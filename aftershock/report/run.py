"""A run's report: `report.html`, `summary.md` and `summary.json` in its results directory.

A run directory (`results/gate-<time>/`) holds one evidence directory per
experiment, each with a `journal.json`. `write_report` reads them all
through `figures.experiment_figures` and writes the three files from the
same figures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aftershock.errors import SandboxError
from aftershock.load import history
from aftershock.load.runs import LAG_FILE
from aftershock.report import figures, markdown, page, plots, promises, score
from aftershock.runner.experiment import JOURNAL_FILE
from aftershock.sandbox.options import SandboxOptions

HTML_FILE = "report.html"
MARKDOWN_FILE = "summary.md"
JSON_FILE = "summary.json"
SCHEMA = 1


class NoExperiments(figures.ReportError):
    """A directory that holds no experiment's evidence."""


@dataclass(frozen=True)
class Written:
    """The files a report wrote, and the run's verdict and score."""

    html: Path
    markdown: Path
    json: Path
    verdict: str
    score: float | None


def experiment_dirs(run_dir: Path) -> list[Path]:
    """Evidence directories of `run_dir`, in the order the experiments ran."""
    found = [p.parent for p in run_dir.glob(f"*/{JOURNAL_FILE}")]
    return sorted(found, key=lambda p: (p / JOURNAL_FILE).stat().st_mtime)


def run_summary(run_dir: Path) -> dict[str, Any]:
    """Everything `summary.json` holds: the run's verdict, score and each experiment's figures."""
    dirs = experiment_dirs(run_dir)
    if not dirs:
        raise NoExperiments(
            f"{run_dir}: no experiment evidence (no */{JOURNAL_FILE}); "
            "point at a results/gate-<time> directory"
        )
    experiments = [figures.experiment_figures(d) for d in dirs]
    failed = [e["name"] for e in experiments if e["verdict"] != "passed"]
    return {
        "schema": SCHEMA,
        "run": run_dir.name,
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "started": experiments[0]["started"],
        "ended": experiments[-1]["ended"],
        "verdict": "failed" if failed else "passed",
        "passed": len(experiments) - len(failed),
        "failed": failed,
        "score": score.pooled(experiments),
        "topology": topology_label(run_dir),
        "promises": promises.column(experiments),
        "experiments": [_for_dashboards(e) for e in experiments],
    }


SANDBOX_FILE = "sandbox.json"
"""What the gate booted the run's sandbox with (written by the pytest plugin)."""


def topology_label(run_dir: Path) -> str:
    """The run's column head: its topology and policies, or the target when no sandbox ran."""
    try:
        options = json.loads((run_dir / SANDBOX_FILE).read_text())
        return SandboxOptions(**options).policy
    except (OSError, ValueError, TypeError, SandboxError):
        return "target"


def _for_dashboards(experiment: dict[str, Any]) -> dict[str, Any]:
    """The figures without raw probe outputs (the journal keeps those)."""
    slim = dict(experiment)
    slim["verdicts"] = [
        {k: v for k, v in row.items() if k not in ("output", "arguments")}
        for row in experiment["verdicts"]
    ]
    return slim


def write_report(run_dir: Path) -> Written:
    """Write report.html, summary.md and summary.json into `run_dir`."""
    run_dir = run_dir.resolve()
    summary = run_summary(run_dir)
    sections = []
    for number, experiment in enumerate(summary["experiments"]):
        load = run_dir / experiment["name"] / figures.LOAD_DIR
        figure = plots.experiment_figure(
            f"plot-{number}",
            history.read(load / history.TIMELINE_FILE).records,
            history.read(load / LAG_FILE).records,
            experiment["faults"],
            experiment["started"],
            experiment["ended"],
            experiment.get("rto"),
        )
        sections.append({"experiment": experiment, "figure": figure})
    html = run_dir / HTML_FILE
    md = run_dir / MARKDOWN_FILE
    js = run_dir / JSON_FILE
    # Each file is written whole and then renamed: a killed report leaves the old one, not half.
    _write(js, json.dumps(summary, indent=2, default=str) + "\n")
    _write(md, markdown.summary(summary, link=HTML_FILE))
    _write(html, page.run_page(summary, sections, plots.plotly_js()))
    return Written(html, md, js, summary["verdict"], summary["score"])


def _write(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
