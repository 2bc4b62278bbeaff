"""A Chaos Toolkit control that judges an experiment's outcome once its method has run.

A steady-state hypothesis is checked before and after the method, so its
probes must make sense at both times (a region is ready, lag is under a
second). Some promises only exist after the method: the RTO of the fault
just injected, the orders of the load just run. Those are declared as
probes with tolerances in the experiment's `aftershock` extension:

    "extensions": [{"name": "aftershock", "verdicts": [<probe with a tolerance>, ...]}]

and this control runs them when the method ends (the load has stopped, the
faults are healed, rollbacks have not run yet). A verdict may instead
judge a probe the method ran while the fault was on: `{"name": ..., "of":
"<method probe name>", "tolerance": ...}`. A verdict whose tolerance
is not met, or whose probe raised, marks the journal deviated; every
verdict lands in the journal under `aftershock_verdicts`. When a safeguard
stops the method, the verdicts with `of` are still judged on what the
method's activities saw; Ctrl-C judges nothing.
"""

from __future__ import annotations

import time
from typing import Any

from chaoslib.activity import execute_activity
from chaoslib.hypothesis import within_tolerance
from chaoslib.types import Configuration, Experiment, Journal, Secrets

EXTENSION = "aftershock"
RESULTS = "_verdict_results"  # where the method's verdicts wait for the journal
INTERRUPTED = "_interrupted"  # set by the runner's Ctrl-C handler: judge nothing


def mark_interrupted(experiment: Experiment) -> None:
    """Tell the control the method was interrupted: its verdicts would judge a half-run."""
    ext = extension(experiment)
    if ext is not None:
        ext[INTERRUPTED] = True


def extension(experiment: Experiment | None) -> dict[str, Any] | None:
    """The experiment's `aftershock` extension, if it declares one."""
    for ext in (experiment or {}).get("extensions") or []:
        if ext.get("name") == EXTENSION:
            return ext
    return None


STARTED = "_started_at"  # when the experiment began: the verdicts judge its faults only


def before_experiment_control(
    context: Experiment, configuration: Configuration = None, **kwargs: Any
) -> None:
    ext = extension(context)
    if ext is not None:
        ext[STARTED] = time.time()


def judge(
    experiment: Experiment,
    configuration: Configuration,
    secrets: Secrets,
    method_runs: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Check every verdict's tolerance; a probe that raised, or never ran, is not met.

    A verdict with a `provider` runs its probe now. A verdict with `of`
    instead judges what the method's activity of that name returned while
    the fault was on (the lag while replay was paused, say).
    """
    ext = extension(experiment) or {}
    # Probes learn when the experiment began (the faults that are its own).
    configuration = {**(configuration or {}), "aftershock_experiment_started": ext.get(STARTED)}
    results = []
    for verdict in ext.get("verdicts", []):
        if "of" in verdict:
            run = _method_run(method_runs or [], verdict["of"])
        else:
            run = execute_activity(experiment, verdict, configuration, secrets, dry=None)
        looked = run.get("status") == "succeeded"
        met, why = (
            tolerance_met(verdict["tolerance"], run.get("output"), configuration, secrets)
            if looked
            else (False, "")
        )
        results.append(
            {
                "name": verdict.get("name"),
                "tolerance": verdict["tolerance"],
                "output": run.get("output"),
                "exception": run.get("exception") or ([why] if why else None),
                "tolerance_met": met,
            }
        )
    return results


def judge_seen(
    experiment: Experiment, runs: list[dict[str, Any]], kwargs: dict[str, Any]
) -> list[dict[str, Any]]:
    """The verdicts with `of` whose method activity ran, judged on what it returned."""
    ran = {run.get("activity", {}).get("name") for run in runs}
    seen = [v for v in (extension(experiment) or {}).get("verdicts", []) if v.get("of") in ran]
    if not seen:
        return []
    only = {**experiment, "extensions": [{"name": EXTENSION, "verdicts": seen}]}
    return judge(only, kwargs.get("configuration"), kwargs.get("secrets"), runs)


def tolerance_met(
    tolerance: Any, output: Any, configuration: Configuration, secrets: Secrets
) -> tuple[bool, str]:
    """Whether `output` meets `tolerance`, and why not when the tolerance cannot judge it.

    chaoslib raises when a tolerance meets a value it cannot read (a `range`
    over `{"max": null}`); raised inside the control, that loses every
    verdict of the experiment. Here it fails this verdict, with the reason.
    """
    try:
        return bool(within_tolerance(tolerance, output, configuration, secrets)), ""
    except Exception as exc:  # noqa: BLE001 - whatever chaoslib raises, the verdict fails
        shown = repr(output)
        shown = shown if len(shown) <= 200 else shown[:200] + "..."
        return False, f"the tolerance cannot judge {shown}: {type(exc).__name__}: {exc}"


def _method_run(runs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    for run in runs:
        if run.get("activity", {}).get("name") == name:
            return run
    return {"status": "failed", "exception": [f"no method activity named {name!r} ran"]}


def after_method_control(
    context: Any,
    state: Any = None,
    configuration: Configuration = None,
    secrets: Secrets = None,
    experiment: Experiment | None = None,
    **kwargs: Any,
) -> None:
    ext = extension(experiment)
    if ext is not None and experiment is not None and not ext.get(INTERRUPTED):
        runs = state if isinstance(state, list) else None
        ext[RESULTS] = judge(experiment, configuration, secrets, runs)


def after_experiment_control(
    context: Any,
    state: Journal | None = None,
    experiment: Experiment | None = None,
    **kwargs: Any,
) -> None:
    ext = extension(experiment)
    if ext is None or state is None or not ext.get("verdicts"):
        return
    results = ext.pop(RESULTS, None)
    if results is None and not ext.get(INTERRUPTED):
        # A safeguard stopped the method. What it saw while the fault held (the
        # verdicts with `of`) stands; a probe run now would judge a half-run.
        results = judge_seen(experiment, state.get("run") or [], kwargs)
        state["aftershock_verdicts_note"] = (
            "the method did not finish: only the verdicts of what it saw were judged"
        )
    if not results:
        state["aftershock_verdicts"] = []
        state["aftershock_verdicts_note"] = "the method did not finish: no verdict was judged"
        return
    state["aftershock_verdicts"] = results
    if not all(r["tolerance_met"] for r in results):
        state["deviated"] = True
