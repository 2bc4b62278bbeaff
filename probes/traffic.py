"""Traffic probes: what the load's clients saw, read from the run's timeline.

Chaos Toolkit probes, read-only. They read `timeline.jsonl` of the newest
load run against the configured sandbox (or `run_dir`): the last
`window_s` seconds while it runs, the run's last `window_s` seconds once it
ended (`live` in the output says which). No request in the window is an
error, never a rate of zero.
"""

from __future__ import annotations

from typing import Any

from chaoslib.types import Configuration, Secrets

from aftershock.check import checkers
from aftershock.config.target import sandbox
from aftershock.errors import EvidenceMissing
from aftershock.load import history
from aftershock.load.runner import find_run
from aftershock.load.runs import recent_requests
from aftershock.load.timeline import summarize

__all__ = ["error_rate", "latency_percentile", "split"]


def error_rate(
    window_s: float = 10.0,
    run_dir: str = "",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Share of requests in the window that got no answer or a 5xx: judge `$.rate`."""
    rows, about = _window(float(window_s), run_dir, configuration)
    stats = summarize(rows, float(window_s))
    return {"rate": stats.error_rate, "errors": stats.errors, "requests": stats.requests, **about}


def latency_percentile(
    p: float = 95.0,
    window_s: float = 10.0,
    run_dir: str = "",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """The `p`th percentile latency in ms of answered requests in the window: judge `$.ms`."""
    rows, about = _window(float(window_s), run_dir, configuration)
    result = checkers.latency_percentile(rows, float(p))
    if result.valid == checkers.UNKNOWN:
        raise EvidenceMissing(f"{result.reason} in {about['run_dir']}'s last {window_s:g} s")
    return {**result.details, **about}


def split(
    window_s: float = 0.0,
    run_dir: str = "",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Share of answered requests each region served; 0: the whole run.

    The shares are also top-level keys (`taiwan`, `tokyo`), so a range
    tolerance can judge one: `{"type": "range", "range": [0.55, 0.65], "target": "taiwan"}`.
    """
    if float(window_s) > 0:
        rows, about = _window(float(window_s), run_dir, configuration)
    else:
        run = find_run(sandbox(configuration), run_dir)
        rows = history.read(run.path / history.TIMELINE_FILE).records
        about = {"run_dir": str(run.path), "live": run.live}
    result = checkers.traffic_split(rows)
    if result.valid == checkers.UNKNOWN:
        raise EvidenceMissing(f"{result.reason} in {about['run_dir']}")
    return {**result.details, **result.details["shares"], **about}


def _window(
    window_s: float, run_dir: str, configuration: Configuration
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    run = find_run(sandbox(configuration), run_dir)
    rows, start, end = recent_requests(run, window_s)
    about = {"window_s": window_s, "from": start, "to": end, "live": run.live}
    about["run_dir"] = str(run.path)
    if not rows:
        state = "running" if run.live else "ended"
        raise EvidenceMissing(
            f"no request in the last {window_s:g} s of {run.path} (load {state}): nothing to judge"
        )
    return rows, about
