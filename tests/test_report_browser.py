"""The HTML report in headless Chromium: no console errors, and every plot drawn.

The screenshot is kept in `results/test-artifacts/` (CI keeps results/).
The check for console errors is itself shown able to fail on a page that
has one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from browser import chromium_binary, open_page

from aftershock.report.run import write_report

RECORDED = Path(__file__).parent / "data" / "gate-recorded"
ARTIFACTS = Path(__file__).resolve().parents[1] / "results" / "test-artifacts"
PANELS = 4  # requests/s, error rate, p95 latency, replication lag

pytestmark = pytest.mark.skipif(
    chromium_binary() is None, reason="chromium is not installed: run `make deps`"
)

PLOTS = """
Array.from(document.querySelectorAll('.js-plotly-plot')).map(plot => ({
  id: plot.id,
  svg: plot.querySelectorAll('svg.main-svg').length,
  panels: plot.querySelectorAll('.cartesianlayer .subplot').length,
  traces: plot.querySelectorAll('.scatterlayer .trace').length,
  drawn: Array.from(plot.querySelectorAll('.scatterlayer path.js-line'))
    .filter(path => (path.getAttribute('d') || '').length > 20).length,
  faults: plot.querySelectorAll('.shapelayer path').length,
}))
"""


def test_the_report_renders_every_plot_without_console_errors(tmp_path: Path) -> None:
    run_dir = tmp_path / RECORDED.name
    shutil.copytree(RECORDED, run_dir)
    written = write_report(run_dir)
    with open_page(written.html.as_uri()) as page:
        plots = page.evaluate(PLOTS)
        sections = page.evaluate("document.querySelectorAll('h2').length")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(ARTIFACTS / "report.png")
        errors = list(page.errors)
    assert errors == []
    assert sections == 4 + 1  # the four experiments and the promise table
    assert [p["id"] for p in plots] == [f"plot-{n}" for n in range(4)]
    for plot in plots:
        assert plot["svg"] >= 1, plot
        assert plot["panels"] == PANELS, plot
        assert plot["drawn"] >= PANELS, plot  # at least a drawn line in every panel
        assert plot["faults"] >= 1, plot  # every gate experiment marks a fault or a rollback
    assert (ARTIFACTS / "report.png").stat().st_size > 50_000


def test_the_console_error_check_catches_a_broken_page(tmp_path: Path) -> None:
    broken = tmp_path / "broken.html"
    broken.write_text(
        "<!DOCTYPE html><html><body><script>console.error('plot failed');"
        "undefinedFunction();</script></body></html>"
    )
    with open_page(broken.as_uri()) as page:
        errors = list(page.errors)
    assert any("plot failed" in e for e in errors)
    assert any("undefinedFunction" in e for e in errors)
