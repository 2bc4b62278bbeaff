"""The promise table: one row per promise, one column per topology and policy.

What an architecture review reads to choose between the single writer and
ADR-037's multi-writer pair: each cell is a verdict and its figure, taken
from the verdicts a run judged (`figures.verdict_rows`). One run makes one
column (`column`); `aftershock compare` puts several side by side (`table`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aftershock.report.text import DASH

MET, BROKEN, NOT_RUN = "✅", "❌", DASH


def _downtime(out: dict[str, Any]) -> str:
    regions = out.get("regions") or {}
    return ", ".join(
        f"{r} {v.get('failed')}/{v.get('checkouts')} checkouts failed" for r, v in regions.items()
    )


def _orders(out: dict[str, Any]) -> str:
    if "lost_by_region" in out:
        lost = len(out.get("lost") or [])
        return f"{lost} lost, {out.get('keys_accepted_twice', 0)} key(s) accepted twice"
    return f"{len(out.get('lost') or [])} lost, {len(out.get('duplicated') or [])} duplicated"


def _stock(out: dict[str, Any]) -> str:
    totals = out.get("totals") or {}
    if not totals:  # the single leader's no_oversell
        return (
            f"{len(out.get('oversold') or [])} oversold, "
            f"{len(out.get('phantom_stock') or [])} with phantom stock"
        )
    lost = max((t.get("lost_decrement_units", 0) for t in totals.values()), default=0)
    products = max((t.get("lost_decrement_products", 0) for t in totals.values()), default=0)
    oversold = max((t.get("oversold_units", 0) for t in totals.values()), default=0)
    return f"{lost} units of lost decrements on {products} products, {oversold} oversold"


def _convergence(out: dict[str, Any]) -> str:
    rows = sum((out.get("differing_rows") or {}).values())
    seconds = out.get("seconds")
    timing = "never" if seconds is None else f"{seconds:.1f} s after the heal"
    return f"{timing}, {rows} row(s) differ" if rows else timing


def _rto(out: dict[str, Any]) -> str:
    seconds = out.get("seconds") if "seconds" in out else out.get("rto_s")
    if seconds is not None:
        return f"{float(seconds):.1f} s"
    if out.get("at_least") is not None:
        return f"over {float(out['at_least']):.1f} s"
    return str(out.get("reason") or DASH)


def _lag(out: dict[str, Any]) -> str:
    p99 = out.get("p99_s")
    return DASH if p99 is None else f"p99 {p99} s, max {out.get('max_s')} s"


def _updates(out: dict[str, Any]) -> str:
    return f"{out.get('lost_count', 0)} of {out.get('acknowledged', 0)} writes lost"


PROMISES: list[tuple[str, tuple[str, ...], Callable[[dict[str, Any]], str]]] = [
    ("no downtime in a partition", ("no-downtime-in-the-partition",), _downtime),
    (
        "zero lost orders",
        ("zero-lost-orders-in-every-region", "zero-lost-or-duplicated-orders"),
        _orders,
    ),
    ("no oversell (stocked = left + sold)", ("stock-conserved-no-oversell", "no-oversell"), _stock),
    ("no lost profile updates", ("no-lost-profile-updates",), _updates),
    ("convergence < 5 min after the heal", ("converged-within-5-min-of-the-heal",), _convergence),
    ("RTO < 5 min", ("failover-within-the-promise",), _rto),
    ("replication lag < 1 s under load", ("lag-under-1s-under-load",), _lag),
]
"""Each promise, the verdicts that judge it (the first found leads), and its figure."""


def column(experiments: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """One run's cells: promise -> {"verdict", "figure", "by" (the experiments)}.

    `experiments` are `figures.experiment_figures` results (with outputs).
    A promise is kept only if every verdict that judges it was met.
    """
    cells: dict[str, dict[str, str]] = {}
    for promise, names, figure in PROMISES:
        rows = [
            (e["name"], row)
            for name in names
            for e in experiments
            for row in e.get("verdicts", [])
            if row.get("name") == name
        ]
        if not rows:
            cells[promise] = {"verdict": NOT_RUN, "figure": "not run", "by": ""}
            continue
        broken = [(n, r) for n, r in rows if not r.get("met")]
        leader = broken[0] if broken else rows[0]
        output = leader[1].get("output") or {}
        try:
            shown = figure(output) if output else (leader[1].get("reason") or "could not look")
        except (TypeError, ValueError, AttributeError):
            shown = str(leader[1].get("reason") or "")
        cells[promise] = {
            "verdict": BROKEN if broken else MET,
            "figure": shown,
            "by": ", ".join(sorted({n for n, _ in rows})),
        }
    return cells


def merged(
    columns: list[tuple[str, dict[str, dict[str, str]]]],
) -> list[tuple[str, dict[str, dict[str, str]]]]:
    """Runs with the same label (topology and policies) as one column, in first-seen order.

    A promise one run did not judge takes the other's cell; judged by both,
    it is kept only if both kept it, with both figures. So a fresh sandbox
    per experiment still makes one column per design.
    """
    out: dict[str, dict[str, dict[str, str]]] = {}
    for label, cells in columns:
        into = out.setdefault(label, {})
        for promise, cell in cells.items():
            have = into.get(promise)
            if have is None or have["verdict"] == NOT_RUN:
                into[promise] = dict(cell)
            elif cell["verdict"] != NOT_RUN:
                verdict = BROKEN if BROKEN in (have["verdict"], cell["verdict"]) else MET
                into[promise] = {
                    "verdict": verdict,
                    "figure": f"{have['figure']}; {cell['figure']}",
                    "by": ", ".join(sorted({have["by"], cell["by"]} - {""})),
                }
    return list(out.items())


def table(columns: list[tuple[str, dict[str, dict[str, str]]]]) -> str:
    """The Markdown table: a row per promise, a column per (label, column)."""
    head = "| promise | " + " | ".join(label for label, _ in columns) + " |"
    lines = [head, "|---|" + "---|" * len(columns)]
    for promise, _, _ in PROMISES:
        cells = []
        for _, cells_of in columns:
            cell = cells_of.get(promise) or {"verdict": NOT_RUN, "figure": "not run"}
            cells.append(f"{cell['verdict']} {cell['figure']}".strip())
        lines.append(f"| {promise} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
