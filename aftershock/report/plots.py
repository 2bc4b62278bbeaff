"""The report's plots, drawn with Plotly: one figure of four stacked panels per experiment.

Panels share the time axis (seconds since the experiment started):
requests/s by serving region, error rate and p95 latency by customer geo,
and lag: the database's replicas, the event mirrors and the catalog cache.
Every fault's window is shaded on all
four, its injection and its undo marked with a line; the rollback phase's
undos are marked too. The figures are HTML fragments without plotly.js:
the page embeds it once (`plotly_js`), so the report works offline.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from aftershock.report import series

PANELS = (
    "requests/s by serving region",
    "error rate % by customer geo",
    "p95 latency ms by customer geo",
    "lag s: database replicas, event mirrors, catalog cache",
)
# One colour per region: its servers, its customers (X-Geo) and its replica share it.
COLOURS = {
    "taiwan": "#1f77b4",
    "customers TW": "#1f77b4",
    "replica taiwan": "#1f77b4",
    "tokyo": "#d62728",
    "customers JP": "#d62728",
    "replica tokyo": "#d62728",
    "event mirror lag": "#9467bd",
    "catalog cache lag": "#8c564b",
    series.NO_ANSWER: "#7f7f7f",
}
FAULT_FILL = "rgba(255, 127, 14, 0.18)"
ROLLBACK_LINE = "#2ca02c"
FAILOVER_FILL = "rgba(44, 160, 44, 0.16)"  # the fault held, traffic recovering elsewhere
FAILED_FILL = "rgba(214, 39, 40, 0.16)"  # the fault held and nothing recovered
FAILBACK_FILL = "rgba(31, 119, 180, 0.16)"  # after the undo, until traffic recovered again


def plotly_js() -> str:
    """plotly.js itself, to be inlined once per page."""
    return str(get_plotlyjs())


def experiment_figure(
    div_id: str,
    timeline: list[dict[str, Any]],
    samples: list[dict[str, Any]],
    marks: list[dict[str, Any]],
    started: str | None,
    ended: str | None,
    rto: dict[str, Any] | None = None,
) -> str:
    """The experiment's four panels as an HTML fragment (a div and its script).

    With the recovery verdict's figures (`rto`), the failover (the fault to
    recovery while it held) and the failback (the undo to recovery after
    it) are drawn as phases of their own.
    """
    origin = series.epoch(started) or _first_time(timeline, samples)
    until = series.epoch(ended) or origin
    fig = make_subplots(
        rows=4, cols=1, shared_xaxes=True, vertical_spacing=0.06, subplot_titles=PANELS
    )
    for line in series.requests_per_second(timeline, origin):
        fig.add_trace(_scatter(line, COLOURS.get(line.name)), row=1, col=1)
    for row, lines in (
        (2, series.error_rate(timeline, origin)),
        (3, series.p95_latency(timeline, origin)),
    ):
        for line in lines:
            trace = _scatter(line, COLOURS.get(line.name))
            # Both panels show the same customer groups: one legend entry toggles both.
            trace.update(legendgroup=line.name, showlegend=row == 2)
            fig.add_trace(trace, row=row, col=1)
    lag_lines, blind = series.replication_lag(samples, origin)
    for line in lag_lines + series.data_plane_lag(samples, origin):
        fig.add_trace(_scatter(line, COLOURS.get(line.name), step=False), row=4, col=1)
    if blind.x:
        fig.add_trace(
            go.Scatter(
                x=blind.x,
                y=blind.y,
                text=blind.text,
                name=blind.name,
                mode="markers",
                marker={"symbol": "x", "color": "#7f7f7f", "size": 7},
                hovertemplate="%{x:.1f} s: %{text}<extra>not measured</extra>",
            ),
            row=4,
            col=1,
        )
    _mark_faults(fig, marks, origin, until)
    if rto:
        _mark_phases(fig, rto, origin)
    fig.update_xaxes(title_text="seconds since the experiment started", row=4, col=1)
    fig.update_yaxes(rangemode="tozero")
    fig.update_layout(
        height=900,
        margin={"l": 60, "r": 20, "t": 40, "b": 50},
        hovermode="x unified",
        legend={"orientation": "h", "y": -0.08},
        template="plotly_white",
    )
    return _fragment(fig, div_id, 900)


def _mark_phases(fig: go.Figure, rto: dict[str, Any], origin: float) -> None:
    """Failover and failback as bands on the top panel, each labelled with its figure."""
    start, undo = rto.get("fault_start"), rto.get("undo_at")
    failback = rto.get("failback") or {}
    phases = []
    if start is not None and rto.get("valid") is True and rto.get("seconds") is not None:
        phases.append(("failover", start, start + float(rto["seconds"]),
                       f"failover {float(rto['seconds']):.1f} s", FAILOVER_FILL))  # fmt: skip
    elif start is not None and undo is not None:
        phases.append(("failover", start, undo, "no failover while held", FAILED_FILL))
    if undo is not None and failback.get("seconds") is not None:
        phases.append(("failback", undo, undo + max(float(failback["seconds"]), 0.5),
                       f"failback {failback['seconds']:.1f} s, {failback.get('errors', 0)} errors",
                       FAILBACK_FILL))  # fmt: skip
    for _, begin, end, label, fill in phases:
        x0, x1 = round(begin - origin, 3), round(end - origin, 3)
        fig.add_vrect(x0=x0, x1=x1, row=1, col=1, fillcolor=fill, line_width=0, layer="below")
        fig.add_annotation(
            x=x0, y=0.98, xref="x", yref="y domain", text=label, showarrow=False,
            xanchor="left", yanchor="top", font={"size": 10},
        )  # fmt: skip


def _scatter(line: series.Series, colour: str | None, step: bool = True) -> go.Scatter:
    """A line; bucketed series are steps, because a bucket's value holds for its whole second."""
    shape = "hv" if step else "linear"
    return go.Scatter(
        x=line.x,
        y=line.y,
        text=line.text or None,
        name=line.name,
        mode="lines",
        line={"color": colour, "width": 1.6, "shape": shape},
        connectgaps=False,
    )


def _mark_faults(fig: go.Figure, marks: list[dict[str, Any]], origin: float, until: float) -> None:
    for window in series.fault_windows(marks, origin, until):
        fig.add_vrect(
            x0=window.start,
            x1=window.end,
            row="all",
            col=1,
            fillcolor=FAULT_FILL,
            line_width=0,
            layer="below",
        )
        fig.add_vline(x=window.start, row="all", col=1, line={"color": "#ff7f0e", "dash": "dot"})
        fig.add_annotation(
            x=window.start,
            y=1.0,
            yref="paper",
            text=f"inject {window.name}",
            showarrow=False,
            xanchor="left",
            yanchor="bottom",
            font={"size": 10, "color": "#ff7f0e"},
        )
    for mark in marks:
        ended = series.epoch(mark.get("end"))
        if mark["kind"] != "undo" or ended is None:
            continue
        colour = ROLLBACK_LINE if mark["phase"] == "rollback" else "#ff7f0e"
        fig.add_vline(
            x=round(ended - origin, 3), row="all", col=1, line={"color": colour, "dash": "dash"}
        )
        label = f"rollback {mark['name']}" if mark["phase"] == "rollback" else mark["name"]
        fig.add_annotation(
            x=round(ended - origin, 3),
            y=1.0,
            yref="paper",
            text=label,
            showarrow=False,
            xanchor="right",
            yanchor="bottom",
            font={"size": 10, "color": colour},
        )


def _fragment(fig: go.Figure, div_id: str, height: int) -> str:
    """The figure as a div and its script, without plotly.js (the page inlines it once)."""
    return str(
        fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=div_id,
            default_height=f"{height}px",
            config={"displaylogo": False},
        )
    )


def _first_time(timeline: list[dict[str, Any]], samples: list[dict[str, Any]]) -> float:
    times = [float(r["t"]) for r in timeline] + [float(s["t"]) for s in samples]
    return min(times) if times else 0.0


def history_figure(div_id: str, runs: list[dict[str, Any]]) -> str:
    """Score, RTO and orders lost per experiment over the runs, oldest first."""
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=("resilience score", "RTO s", "orders lost"),
    )
    labels = [run["run"] for run in runs]
    fig.add_trace(
        go.Scatter(
            x=labels,
            y=[run.get("score") for run in runs],
            name="run score",
            mode="lines+markers",
            line={"color": "#000", "width": 2.5},
        ),
        row=1,
        col=1,
    )
    names = sorted({e["name"] for run in runs for e in run["experiments"]})
    for name in names:
        rows = [next((e for e in run["experiments"] if e["name"] == name), None) for run in runs]
        for panel, value in ((1, _score), (2, _rto), (3, _lost)):
            fig.add_trace(
                go.Scatter(
                    x=labels,
                    y=[value(e) for e in rows],
                    name=name,
                    legendgroup=name,
                    showlegend=panel == 1,
                    mode="lines+markers",
                    connectgaps=False,
                ),
                row=panel,
                col=1,
            )
    fig.update_layout(
        height=800,
        hovermode="x unified",
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 40, "b": 80},
    )
    return _fragment(fig, div_id, 800)


def _score(experiment: dict[str, Any] | None) -> float | None:
    return experiment.get("score") if experiment else None


def _rto(experiment: dict[str, Any] | None) -> float | None:
    rto = (experiment or {}).get("rto") or {}
    return rto.get("seconds") if rto.get("seconds") is not None else rto.get("at_most")


def _lost(experiment: dict[str, Any] | None) -> int | None:
    orders = (experiment or {}).get("orders") or {}
    return orders.get("lost")
