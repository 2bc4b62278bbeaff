"""Traffic probes: what the load's clients saw, read from the run's timeline.

Chaos Toolkit probes, read-only. They read `timeline.jsonl` of the newest
load run against the configured sandbox (or `run_dir`): the last
`window_s` seconds while it runs, the run's last `window_s` seconds once it
ended (`live` in the output says which). No request in the window is an
error, never a rate of zero.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from chaoslib.types import Configuration, Secrets

from aftershock.check import checkers
from aftershock.check.coverage import Fault, load_coverage
from aftershock.config.target import sandbox
from aftershock.errors import EvidenceMissing
from aftershock.load import history
from aftershock.load.answers import answer
from aftershock.load.runner import EXIT_FILE, RUN_SETTINGS, find_run
from aftershock.load.runs import recent_requests
from aftershock.load.timeline import is_error, summarize
from aftershock.targets.dispatch import fault_ledger

__all__ = ["coverage", "error_rate", "latency_percentile", "split"]

# Without the experiment's start, faults this long before the first request still count.
UNKNOWN_START_S = 120.0


def error_rate(
    window_s: float = 10.0,
    run_dir: str = "",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Share of requests in the window the platform did not serve: judge `$.rate`.

    Not served: refused (a 4xx the shopper did not cause) or no answer
    (`aftershock.load.answers`). `failed` names the commonest kinds of
    failure ("route status class"), for whoever reads the journal.
    """
    rows, about = _window(float(window_s), run_dir, configuration)
    stats = summarize(rows, float(window_s))
    kinds = Counter(f"{r.get('route')} {r.get('status')} {answer(r)}" for r in rows if is_error(r))
    return {
        "rate": stats.error_rate, "errors": stats.errors, "requests": stats.requests,
        "failed": dict(kinds.most_common(5)), **about,
    }  # fmt: skip


def latency_percentile(
    p: float = 95.0,
    window_s: float = 10.0,
    run_dir: str = "",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """The `p`th percentile latency in ms of answered requests in the window: judge `$.ms`."""
    p = float(p)
    window_s = float(window_s)
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


def coverage(
    run_dir: str = "", configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Did the load run from before the experiment's first fault to after its last undo?

    Judge `$.valid`. The experiment's faults are those the target's fault
    journal holds since the experiment began (the verdicts control passes
    `aftershock_experiment_started`). Requests in every phase, acknowledged
    orders before and after, and a Locust that ended by itself or was
    stopped by the harness (its `exit.json`) are required; the reason names
    every gap.
    """
    run = find_run(sandbox(configuration), run_dir)
    if run.live:
        raise EvidenceMissing(
            f"the load in {run.path} still runs: judge its coverage once it ended"
        )
    timeline = history.read(run.path / history.TIMELINE_FILE).records
    records = history.read(run.path / history.HISTORY_FILE).records
    try:
        ending = json.loads((run.path / EXIT_FILE).read_text())
    except (OSError, ValueError):
        ending = None
    started = (configuration or {}).get("aftershock_experiment_started")
    since = float(started) if started is not None else _earliest(timeline) - UNKNOWN_START_S
    faults = [
        Fault(f"{e.fault} {' '.join(str(v) for v in e.params.values())}".strip(), e.at, healed)
        for e, healed in fault_ledger(configuration).faults_since(since)
    ]
    result = load_coverage(timeline, records, faults, ending, _launched(run.path))
    note = "" if started is not None else "experiment start unknown: faults since the load only"
    return {**result.as_dict(), "run_dir": str(run.path), "note": note}


def _launched(path: Path) -> float | None:
    """When this Locust began its users, else when the harness started it (None: an older run).

    Locust's own start-up (imports, parsing) is not the load's silence: under
    contention it took 14 s. A Locust that never began its users is judged
    from its launch, so one that hangs starting up is still silent.
    """
    for name, key in ((history.BEGAN_FILE, "began"), (RUN_SETTINGS, "started")):
        try:
            at = json.loads((path / name).read_text()).get(key)
        except (OSError, ValueError, AttributeError):
            continue
        if at is not None:
            return float(at)
    return None


def _earliest(timeline: list[dict[str, Any]]) -> float:
    return min((float(r["t"]) for r in timeline), default=0.0)
