"""Running one Chaos Toolkit experiment and reading its journal as a verdict.

Used by the pytest plugin and `aftershock gameday`; `chaos run
--rollback-strategy always experiments/<file>` runs the same files.
"""

from __future__ import annotations

import copy
import json
import signal
from pathlib import Path
from types import FrameType
from typing import Any

from aftershock.controls import verdicts
from aftershock.load.actions import stop_load

ROLLBACKS_ALWAYS: dict[str, Any] = {"runtime": {"rollbacks": {"strategy": "always"}}}
JOURNAL_FILE = "journal.json"
HARNESS_ERROR = "aftershock_harness_error"  # why the harness could not run the experiment
SHOWN = 300  # characters of a probe's value shown in a failure
LISTED = 50  # ids shown per category; the journal holds them all
EVIDENCE_KEYS = (
    "valid", "seconds", "lost", "duplicated", "unexpected", "failed_but_present",
    "oversold", "phantom_stock", "rpo",
)  # fmt: skip


def run(
    experiment: dict[str, Any], configuration: dict[str, Any], evidence: Path
) -> dict[str, Any]:
    """Run `experiment` with rollbacks always played; keep its journal in `evidence`.

    Ctrl-C stops the load first: chaoslib waits for background activities
    before it plays rollbacks, and the load would otherwise run to its end
    with the fault still on.
    """
    from chaoslib.experiment import run_experiment

    running = copy.deepcopy(experiment)
    # Into the experiment itself: chaoslib's override variables only replace
    # keys the experiment declares and silently drop the others.
    running["configuration"] = {**running.get("configuration", {}), **configuration}

    def interrupted(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        verdicts.mark_interrupted(running)
        stop_load(configuration)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, interrupted)
    try:
        journal = run_experiment(
            running,
            settings=copy.deepcopy(ROLLBACKS_ALWAYS),
        )
    except Exception as exc:  # noqa: BLE001 - chaoslib crashed: no journal, no rollbacks
        journal = harness_failure(running, f"chaoslib raised {type(exc).__name__}: {exc}")
        journal["rollbacks"] = undo_everything(configuration)
    finally:
        signal.signal(signal.SIGINT, previous)
    write_journal(evidence, journal)
    return journal


def write_journal(evidence: Path, journal: dict[str, Any]) -> None:
    (evidence / JOURNAL_FILE).write_text(json.dumps(journal, indent=2, default=str))


def harness_failure(experiment: dict[str, Any], reason: str) -> dict[str, Any]:
    """A journal for an experiment the harness could not run to its end: failed, saying why.

    chaoslib writes no journal when it raises (a tolerance that cannot read
    a steady-state value, say), and the sandbox reset before an experiment
    can fail before it starts: without this, the report would not know the
    experiment and could say PASSED while pytest fails.
    """
    return {
        "status": "failed",
        "deviated": False,
        "experiment": experiment,
        "run": [],
        "rollbacks": [],
        HARNESS_ERROR: reason,
    }


def undo_everything(configuration: dict[str, Any]) -> list[dict[str, Any]]:
    """What the rollbacks would have done: stop the load, heal every fault; as journal runs."""
    from aftershock.faults.heal import heal_all

    runs = []
    for name, undo in (("stop-the-load", stop_load), ("heal-every-fault", heal_all)):
        try:
            runs.append({"activity": {"name": name}, "status": "succeeded",
                         "output": undo(configuration)})  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - each undo gets its try, the failure is kept
            runs.append({"activity": {"name": name}, "status": "failed",
                         "exception": [f"{type(exc).__name__}: {exc}"]})  # fmt: skip
    return runs


def verdict_summary(journal: dict[str, Any]) -> list[str]:
    """One line per reason the experiment failed; empty when it passed."""
    problems: list[str] = []
    status = journal.get("status")
    if status not in ("completed", "failed", "interrupted", "aborted"):
        problems.append(f"status {status!r}")
    steady = journal.get("steady_states") or {}
    for phase in ("before", "after"):
        for probe in (steady.get(phase) or {}).get("probes", []):
            if not probe.get("tolerance_met", True):
                problems.append(f"steady state {phase} the method: {_probe_line(probe)}")
    for verdict in journal.get("aftershock_verdicts", []):
        if not verdict["tolerance_met"]:
            problems.append(f"verdict {_verdict_line(verdict)}")
    if journal.get(HARNESS_ERROR):
        problems.append(f"the harness could not run the experiment: {journal[HARNESS_ERROR]}")
    if journal.get("aftershock_safeguard"):
        problems.append(f"safeguard: {journal['aftershock_safeguard']['reason']}")
    if journal.get("aftershock_verdicts_note"):
        problems.append(journal["aftershock_verdicts_note"])
    for run in journal.get("run", []):
        if run.get("status") == "failed":
            name = run.get("activity", {}).get("name")
            problems.append(f"method activity {name} failed: {_exception(run)}")
    for run in journal.get("rollbacks", []):
        if run.get("status") == "failed":
            name = run.get("activity", {}).get("name")
            problems.append(f"rollback {name} failed: {_exception(run)}")
    if status in ("failed", "interrupted", "aborted") and not problems:
        problems.append(f"experiment {status}")
    elif status in ("interrupted", "aborted"):
        problems.insert(0, f"experiment {status} (rollbacks were played)")
    if journal.get("deviated") and not problems:
        problems.append("deviated")
    return problems


def _probe_line(run: dict[str, Any]) -> str:
    activity = run.get("activity", {})
    name = activity.get("name")
    if run.get("status") == "failed":
        return f"probe {name} could not look: {_exception(run)}"
    tolerance = json.dumps(activity.get("tolerance"))
    return f"probe {name}: tolerance {tolerance} not met by {_short(run.get('output'))}"


def _verdict_line(verdict: dict[str, Any]) -> str:
    if verdict.get("exception"):
        return f"{verdict['name']} could not look: {_exception(verdict)}"
    tolerance = json.dumps(verdict["tolerance"])
    return f"{verdict['name']}: tolerance {tolerance} not met by {_short(verdict['output'])}"


def _exception(run: dict[str, Any]) -> str:
    lines = [line.strip() for line in (run.get("exception") or []) if line.strip()]
    return lines[-1] if lines else "no reason recorded"


def _short(value: Any) -> str:
    """A probe's value as a person needs it: a checker's reason and the ids it names."""
    if isinstance(value, dict) and "reason" in value:
        named = {k: _capped(value[k]) for k in EVIDENCE_KEYS if value.get(k)}
        return f"{value['reason']!r} {json.dumps(named, default=str)}"
    text = json.dumps(value, default=str)
    return text if len(text) <= SHOWN else text[:SHOWN] + "..."


def _capped(value: Any) -> Any:
    if isinstance(value, list) and len(value) > LISTED:
        return [*value[:LISTED], f"... and {len(value) - LISTED} more"]
    return value
