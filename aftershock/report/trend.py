"""The trend view across runs: score, RTO and orders lost per experiment over the last N runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aftershock.report import page, plots, text
from aftershock.report.run import JSON_FILE, NoExperiments, experiment_dirs, run_summary

HISTORY_HTML = "history.html"
HISTORY_MD = "history.md"


def runs(results: Path, last: int) -> list[dict[str, Any]]:
    """The summaries of the newest `last` runs under `results`, oldest first.

    A run with no summary.json yet (its session was killed before the
    report) is summarised from its journals now.
    """
    found = []
    for run_dir in sorted(p for p in results.iterdir() if p.is_dir()):
        stored = run_dir / JSON_FILE
        if stored.exists():
            try:
                found.append(json.loads(stored.read_text()))
                continue
            except ValueError:
                pass  # a torn summary: summarise the journals again
        if experiment_dirs(run_dir):
            found.append(run_summary(run_dir))
    if not found:
        raise NoExperiments(f"{results}: no run directories with experiment evidence")
    found.sort(key=lambda run: run.get("started") or "")
    return found[-last:]


def write_history(results: Path, last: int) -> tuple[Path, Path, list[dict[str, Any]]]:
    """history.html and history.md in `results`; returns their paths and the runs shown."""
    shown = runs(results, last)
    figure = plots.history_figure("history", shown)
    html = results / HISTORY_HTML
    md = results / HISTORY_MD
    html.write_text(page.history_page(shown, figure, plots.plotly_js()), encoding="utf-8")
    md.write_text(markdown(shown), encoding="utf-8")
    return html, md, shown


def markdown(shown: list[dict[str, Any]]) -> str:
    """One table per experiment: score, RTO and orders lost in each run."""
    lines = [f"## aftershock trend: the last {len(shown)} runs", ""]
    lines += ["| run | verdict | score |", "|---|---|---:|"]
    lines += [
        f"| {r['run']} | {text.verdict(r['verdict'])} | {text.score(r['score'])} |" for r in shown
    ]
    names = sorted({e["name"] for r in shown for e in r["experiments"]})
    for name in names:
        lines += [
            "",
            f"### {name}",
            "",
            "| run | verdict | score | RTO | orders lost |",
            "|---|---|---:|---|---:|",
        ]
        for r in shown:
            e = next((e for e in r["experiments"] if e["name"] == name), None)
            if e is None:
                lines.append(f"| {r['run']} | not run | | | |")
                continue
            lost = (e.get("orders") or {}).get("lost")
            lines.append(
                f"| {r['run']} | {text.verdict(e['verdict'])} | {text.score(e['score'])} "
                f"| {text.rto(e.get('rto'))} | {text.DASH if lost is None else lost} |"
            )
    return "\n".join([*lines, ""])
