"""Load coverage: did the load run through every phase of the experiment it judges?

A verdict over the load's evidence is only as good as that evidence: a
load that died before the fault, or ended before the undo, leaves an
"order integrity" with nothing to lose and a timeline with nothing to
recover. Pure: the timeline, the history, the faults (injection, undo) and
how Locust ended go in, a verdict comes out.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from aftershock.check.checkers import Result
from aftershock.load import history


@dataclass(frozen=True)
class Fault:
    """One fault of the experiment: injected at `at`, undone at `undone` (None: never)."""

    label: str
    at: float
    undone: float | None


def load_coverage(
    timeline: list[dict[str, Any]],
    records: list[dict[str, Any]],
    faults: list[Fault],
    ending: dict[str, Any] | None,
    launched: float | None = None,
) -> Result:
    """Valid when the load ran from before the first fault to after the last undo.

    Also required: a request in every phase (before, during each fault,
    after), acknowledged orders before the first fault and after the last
    undo, and a Locust that ended by itself or was stopped by the harness
    (`ending`: its exit record), never one that crashed. The reason names
    every gap. `launched` (when the harness started Locust, if known) opens
    the first phase: a load silent from its launch on is silent.
    """
    problems: list[str] = []
    problems += _ending_problems(ending)
    times = sorted(float(r["t"]) for r in timeline)
    acked = [float(r["t"]) for r in records if r.get("type") == history.OK]
    phases: list[dict[str, Any]] = []
    if not times:
        problems.append("no request was recorded")
    if faults:
        problems += _phase_problems(times, acked, faults, phases, launched)
    elif times:
        if not acked:
            problems.append("no order was acknowledged")
        silent = _longest_silence(times, min(launched or times[0], times[0]), times[-1])
        if silent > MAX_SILENCE_S:
            problems.append(f"the load sent nothing for {silent:.0f} s")
    details = {"phases": phases, "requests": len(times), "acknowledged": len(acked),
               "ending": ending}  # fmt: skip
    if problems:
        reason = "the load did not cover the experiment: " + "; ".join(problems)
        return Result("load_coverage", False, details, reason)
    span = times[-1] - times[0]
    what = f"{len(faults)} fault(s)" if faults else "no fault"
    return Result(
        "load_coverage",
        True,
        details,
        f"the load ran {span:.0f} s through {what}, with requests in every phase",
    )


def _ending_problems(ending: dict[str, Any] | None) -> list[str]:
    if ending is None:
        return ["Locust's end was not recorded (the harness was killed, or it still runs)"]
    code = ending.get("code")
    if code != 0 and not ending.get("stopped_by_harness"):
        return [f"Locust exited with code {code} on its own: it crashed"]
    return []


MAX_SILENCE_S = 10.0
"""The longest a phase may go without a request: a timed-out request is still recorded at
its start, so even users all waiting on timeouts (5 s) leave no longer gap."""


def _longest_silence(times: list[float], low: float, high: float) -> float:
    """The longest stretch of [low, high) with no request starting in it."""
    edges = [low, *times, high]
    return max((b - a for a, b in itertools.pairwise(edges)), default=0.0)


def _phase_problems(
    times: list[float],
    acked: list[float],
    faults: list[Fault],
    phases: list[dict[str, Any]],
    launched: float | None,
) -> list[str]:
    problems = []
    first = min(f.at for f in faults)
    never = [f.label for f in faults if f.undone is None]
    if never:
        problems.append(f"never undone: {', '.join(never)}")
    last = max((f.undone for f in faults if f.undone is not None), default=None)
    start = times[0] if times else first
    if launched is not None and launched < min(start, first):
        start = launched
    end = times[-1] + 1e-9 if times else (last or first)
    windows = [("before the first fault", start, first)]
    windows += [(f"while {f.label}", f.at, f.undone or f.at) for f in faults]
    if last is not None:
        windows.append(("after the last undo", last, max(end, last)))
    for name, low, high in windows:
        inside = [t for t in times if low <= t < high]
        orders = sum(1 for t in acked if low <= t < high)
        silent = _longest_silence(inside, low, high)
        phases.append({"phase": name, "from": low, "to": high, "requests": len(inside),
                       "acknowledged": orders, "longest_silence_s": round(silent, 1)})  # fmt: skip
        if not inside:
            problems.append(f"no request {name}")
        elif silent > MAX_SILENCE_S:
            problems.append(f"the load sent nothing for {silent:.0f} s {name}")
    if times and times[0] >= first:
        problems.append(f"the load began {times[0] - first:.1f} s after the first fault")
    if times and last is not None and times[-1] <= last:
        problems.append(f"the load ended {last - times[-1]:.1f} s before the last undo")
    if not any(t < first for t in acked):
        problems.append("no order acknowledged before the first fault")
    if last is not None and not any(t >= last for t in acked):
        problems.append("no order acknowledged after the last undo")
    return problems
