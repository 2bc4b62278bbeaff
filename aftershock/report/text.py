"""Figures as a person reads them; shared by the HTML page and summary.md."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

SCORE_NOTE = (
    "Score: the weighted share of promises kept (orders 3, RTO 2, other hypothesis "
    "probes 2, replication lag 1); a check that could not look counts as not kept. "
    "Defined in aftershock/report/score.py."
)
DASH = "–"  # noqa: RUF001 - typography for people, not code


def score(value: float | None) -> str:
    return DASH if value is None else f"{value:.1f}"


def verdict(value: str) -> str:
    return "✅ passed" if value == "passed" else "❌ failed"


def when(iso: str | None) -> str:
    if not iso:
        return DASH
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S UTC")


def rto(figure: dict[str, Any] | None) -> str:
    """`12.0 s (≤ 300 s) ✅`, or the bracket when traffic was too thin to place it."""
    if figure is None:
        return DASH
    target = f" (≤ {figure['target_s']:g} s)" if figure.get("target_s") is not None else ""
    seconds, low, high = figure.get("seconds"), figure.get("at_least"), figure.get("at_most")
    if figure.get("valid") == "unknown" and low is not None and high is not None:
        value = f"{low:.1f}–{high:.1f} s"  # noqa: RUF001
    elif seconds is not None:
        value = f"{seconds:.1f} s"
    else:
        value = "not measured"
    return f"{value}{target} {_met(figure.get('met'))}"


def orders(figure: dict[str, Any] | None) -> str:
    if figure is None:
        return DASH
    counts = [figure.get(k) for k in ("acknowledged", "lost", "duplicated", "unexpected")]
    shown = " / ".join(DASH if c is None else str(c) for c in counts)
    return f"{shown} {_met(figure.get('met'))}"


def lag(figure: dict[str, Any]) -> str:
    value = figure.get("max_s")
    shown = DASH if value is None else f"{'≥ ' if figure.get('capped') else ''}{value:.3f} s"
    for key, label in (("under_load", "under load"), ("cache_under_load", "catalog cache")):
        under = figure.get(key)
        if under:
            p99 = DASH if under.get("p99_s") is None else f"{under['p99_s']:.3f} s"
            shown += (
                f"; {label} p99 {p99} {_met(under.get('valid'))}, {under.get('unmeasured', 0)} "
                f"of {under.get('judged', 0)} samples could not measure"
            )
    return shown


def budget(figure: dict[str, Any]) -> str:
    used = figure.get("used")
    return DASH if used is None else f"{used:.2%}"


def value(item: Any) -> str:
    """A probe's judged value, short."""
    if item is None:
        return DASH
    if isinstance(item, float):
        return f"{item:.3f}"
    shown = item if isinstance(item, str) else json.dumps(item, default=str)
    return shown if len(shown) <= 120 else shown[:120] + "…"


def _met(met: Any) -> str:
    return "✓" if met else "✗"  # not emoji: headless browsers and terminals lack the font
