"""The HTML pages: the run report and the trend view, from Jinja2 templates.

One self-contained file each: styles and plotly.js are inlined, evidence
is linked by relative path, so a page opens offline from the results
directory (or from a CI artifact).
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from aftershock.report import drill, text


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("aftershock.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,  # a figure missing from the template's data is a bug, not blank
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        score=text.score,
        verdict=text.verdict,
        when=text.when,
        rto=text.rto,
        orders=text.orders,
        lag=text.lag,
        budget=text.budget,
        value=text.value,
    )
    env.globals.update(
        drill_figures=drill.figure_lines,
        journey_cell=drill.journey_cell,
        journey_steps=drill.JOURNEY_STEPS,
    )
    return env


def run_page(summary: dict[str, Any], sections: list[dict[str, Any]], plotly_js: str) -> str:
    """The game-day report of one run."""
    template = _environment().get_template("report.html.j2")
    return template.render(
        run=summary, sections=sections, plotly_js=plotly_js, score_note=text.SCORE_NOTE
    )


def history_page(runs: list[dict[str, Any]], figure: str, plotly_js: str) -> str:
    """The trend view across runs."""
    template = _environment().get_template("history.html.j2")
    return template.render(
        runs=runs, figure=figure, plotly_js=plotly_js, score_note=text.SCORE_NOTE
    )
