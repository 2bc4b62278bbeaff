"""The game-day report: what a run's evidence says, for people, CI and dashboards.

`run.write_report(<results>/gate-<time>)` writes `report.html` (self-contained,
with Plotly plots), `summary.md` (a CI job summary) and `summary.json` (for
dashboards) from the same figures (`figures`); `trend.write_history(results)`
the trend across runs. The resilience score is defined in `score`.
"""
