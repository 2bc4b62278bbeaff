"""The figures of one experiment, read from its evidence directory.

An experiment's evidence (`<run>/<experiment>/`) holds `journal.json`
(Chaos Toolkit's, with `aftershock_verdicts`), and `load/` with the
operation history, the request timeline and the replication-lag samples.
Everything the report, `summary.md` and `summary.json` show comes from
`experiment_figures`; nothing is computed twice in two formats.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from aftershock.load import history
from aftershock.load.runs import LAG_FILE
from aftershock.load.timeline import error_budget, span_s, summarize
from aftershock.report import drill, score
from aftershock.runner.experiment import JOURNAL_FILE, verdict_summary

LOAD_DIR = "load"
PROMISE_OF = {
    ("probes.orders", "integrity"): "orders",
    ("probes.recovery", "rto_seconds"): "rto",
    ("probes.recovery", "failover"): "rto",
    ("probes.replication", "lag_seconds"): "lag",
    ("probes.replication", "lag_under_load"): "lag",
}  # every other probe is part of the hypothesis promise
JUDGED_OF = {("probes.drill", "hold_until_moved"): "rto"}
"""Method probes whose output is a promise's figure when a verdict judges it (`of`): the
drill's RTO is measured while its step 2 holds, not after its step 3 overloaded tokyo."""
SIMPLE_PATH = re.compile(r"^\$((?:\.\w+)+)$")


class ReportError(Exception):
    """Evidence a report cannot be made from; the message says what to point it at."""


class EvidenceUnreadable(ReportError):
    """An experiment directory without a readable journal."""


def experiment_figures(evidence: Path) -> dict[str, Any]:
    """Every figure of the experiment whose evidence is in `evidence` (JSON-serialisable)."""
    try:
        journal = json.loads((evidence / JOURNAL_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise EvidenceUnreadable(f"{evidence}: no readable {JOURNAL_FILE}: {exc}") from None
    load = evidence / LOAD_DIR
    timeline = history.read(load / history.TIMELINE_FILE).records
    lag = history.read(load / LAG_FILE).records
    problems = verdict_summary(journal)
    hypothesis = hypothesis_rows(journal)
    verdicts = verdict_rows(journal)
    # A check declared but never run (the experiment stopped early) is a promise not kept.
    checks = [
        {"promise": row["promise"], "met": cell is not None and cell["met"]}
        for row in hypothesis
        for cell in (row["before"], row["after"])
    ] + [{"promise": row["promise"], "met": row["met"]} for row in verdicts]
    promises = score.promises_of(checks)
    experiment = journal.get("experiment") or {}
    return {
        "name": evidence.name,
        "title": experiment.get("title", evidence.name),
        "status": journal.get("status"),
        "verdict": "failed" if problems else "passed",
        "problems": problems,
        "started": journal.get("start"),
        "ended": journal.get("end"),
        "duration_s": journal.get("duration"),
        "hypothesis": hypothesis,
        "verdicts": verdicts,
        "rto": rto(verdicts),
        "orders": orders(verdicts),
        "replication_lag": lag_figures(lag, hypothesis, verdicts),
        "events": event_figures(verdicts),
        "traffic": traffic(timeline),
        "error_budget": error_budget(timeline),
        "faults": fault_marks(journal),
        "safeguard": (journal.get("aftershock_safeguard") or {}).get("reason"),
        # The DR report's section, for the drill only (None otherwise).
        "drill": drill.section(journal, verdicts),
        **score.as_dict(promises),
        "evidence": evidence_links(evidence),
    }


def hypothesis_rows(journal: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per steady-state probe: its tolerance and value before and after the method."""
    experiment = journal.get("experiment") or {}
    probes = (experiment.get("steady-state-hypothesis") or {}).get("probes", [])
    steady = journal.get("steady_states") or {}
    runs = {
        phase: {r["activity"]["name"]: r for r in (steady.get(phase) or {}).get("probes", [])}
        for phase in ("before", "after")
    }
    rows = []
    for probe in probes:
        tolerance = probe.get("tolerance")
        rows.append(
            {
                "name": probe["name"],
                "promise": promise_of(probe),
                "tolerance": tolerance_text(tolerance),
                "before": _cell(runs["before"].get(probe["name"]), tolerance),
                "after": _cell(runs["after"].get(probe["name"]), tolerance),
            }
        )
    return rows


def verdict_rows(journal: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per verdict judged after the method (`aftershock_verdicts`)."""
    experiment = journal.get("experiment") or {}
    method = {a.get("name"): a.get("provider") or {} for a in experiment.get("method") or []}
    declared = {
        v["name"]: v
        for ext in experiment.get("extensions", [])
        if ext.get("name") == "aftershock"
        for v in ext.get("verdicts", [])
    }
    promised = {
        name: JUDGED_OF[key]
        for name, v in declared.items()
        if "of" in v
        and (key := (method.get(v["of"], {}).get("module"), method.get(v["of"], {}).get("func")))
        in JUDGED_OF
    }
    judged = journal.get("aftershock_verdicts", [])
    names = {v["name"] for v in judged}
    # Declared but never judged (the method did not finish): a promise not kept.
    rows = [
        _verdict_row(declared[n], None, "not judged: the experiment stopped before its verdicts")
        for n in declared
        if n not in names
    ]
    rows += [_verdict_row(declared.get(v["name"], v), v, _reason(v)) for v in judged]
    for row in rows:
        row["promise"] = promised.get(row["name"], row["promise"])
    return rows


def _verdict_row(
    declared: dict[str, Any], verdict: dict[str, Any] | None, reason: str
) -> dict[str, Any]:
    """A verdict as the report shows it; `verdict` is its journal entry, None when not judged."""
    tolerance = declared.get("tolerance")
    output = (verdict or {}).get("output")
    looked = verdict is not None and not verdict.get("exception")
    return {
        "name": declared["name"],
        "promise": promise_of(declared),
        "tolerance": tolerance_text(tolerance),
        "value": judged_value(tolerance, output) if looked else None,
        "met": bool(verdict and verdict.get("tolerance_met")),
        "reason": reason,
        "output": output
        if isinstance(output, dict)
        else ({} if output is None else {"value": output}),
        "arguments": (declared.get("provider") or {}).get("arguments", {}),
    }


def promise_of(activity: dict[str, Any]) -> str:
    provider = activity.get("provider") or {}
    return PROMISE_OF.get((provider.get("module"), provider.get("func")), "hypothesis")


def tolerance_text(tolerance: Any) -> str:
    """A tolerance as a person reads it: `$.ready == true`, `max in [0, 1]`."""
    if isinstance(tolerance, dict):
        kind = tolerance.get("type")
        target = tolerance.get("target") or tolerance.get("path") or "value"
        if kind == "range":
            low, high = tolerance.get("range", [None, None])
            return f"{target} in [{low}, {high}]"
        if kind in ("jsonpath", "regex") and "expect" in tolerance:
            return f"{target} == {json.dumps(tolerance['expect'])}"
        return f"{kind} {target}"
    return f"== {json.dumps(tolerance)}"


def judged_value(tolerance: Any, output: Any) -> Any:
    """The part of a probe's output its tolerance judges (the whole output when unclear)."""
    if not isinstance(tolerance, dict) or not isinstance(output, dict):
        return output
    key = tolerance.get("target")
    if key is not None:
        return output.get(key)
    match = SIMPLE_PATH.match(str(tolerance.get("path", "")))
    if match is None:
        return output
    value: Any = output
    for part in match.group(1).strip(".").split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _cell(run: dict[str, Any] | None, tolerance: Any) -> dict[str, Any] | None:
    if run is None:
        return None  # the phase did not run (the experiment stopped before it)
    if run.get("status") == "failed":
        return {"value": None, "met": False, "reason": f"could not look: {_exception(run)}"}
    output = run.get("output")
    return {
        "value": judged_value(tolerance, output),
        "met": bool(run.get("tolerance_met")),
        "reason": output.get("reason", "") if isinstance(output, dict) else "",
    }


def _reason(verdict: dict[str, Any]) -> str:
    if verdict.get("exception"):
        return f"could not look: {_exception(verdict)}"
    output = verdict.get("output")
    return str(output.get("reason", "")) if isinstance(output, dict) else ""


def _exception(run: dict[str, Any]) -> str:
    lines = [line.strip() for line in (run.get("exception") or []) if str(line).strip()]
    return lines[-1] if lines else "no reason recorded"


def rto(verdicts: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The recovery verdict's figures: seconds (or its bracket) against the target."""
    row = next((v for v in verdicts if v["promise"] == "rto"), None)
    if row is None:
        return None
    out = row["output"]
    target = out.get("target_s", row["arguments"].get("target_s"))
    return {
        "name": row["name"],
        "valid": out.get("valid", "unknown"),
        "met": row["met"],
        "seconds": out.get("seconds"),
        "at_least": out.get("at_least"),
        "at_most": out.get("at_most"),
        "target_s": float(target) if target is not None else None,
        "fault": out.get("fault"),
        "reason": row["reason"],
        # Phases (probes.recovery.failover): detection, failover while held, failback.
        "fault_start": out.get("fault_start"),
        "undo_at": out.get("undo_at"),
        "detection_s": out.get("detection_s"),
        "held_s": out.get("held_s"),
        "failback": out.get("failback"),
        "claim": out.get("claim"),
    }


def orders(verdicts: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Orders acknowledged / lost / duplicated / unexpected, from the integrity verdict."""
    row = next((v for v in verdicts if v["promise"] == "orders"), None)
    if row is None:
        return None
    out = row["output"]
    counts = {
        key: len(out.get(key) or [])
        for key in ("lost", "duplicated", "unexpected", "unknown", "failed_but_present")
    }
    return {
        "name": row["name"],
        "valid": out.get("valid", "unknown"),
        "met": row["met"],
        "acknowledged": out.get("acknowledged"),
        **counts,
        "reason": row["reason"],
        "rpo": out.get("rpo"),  # the span of the lost orders against the promise
    }


def lag_figures(
    samples: list[dict[str, Any]],
    hypothesis: list[dict[str, Any]],
    verdicts: list[dict[str, Any]],
) -> dict[str, Any]:
    """Maximum replication lag over the recorded samples and every lag probe's value."""
    measured = [float(s["max"]) for s in samples if s.get("max") is not None]
    probed = [
        float(cell["value"])
        for row in hypothesis
        if row["promise"] == "lag"
        for cell in (row["before"], row["after"])
        if cell is not None and _number(cell["value"])
    ] + [float(v["value"]) for v in verdicts if v["promise"] == "lag" and _number(v["value"])]
    values = measured + probed
    capped = any(r.get("capped") for s in samples for r in (s.get("replicas") or {}).values())
    return {
        "max_s": max(values) if values else None,
        "capped": capped,  # the max is a lower bound: a sample hit the probe's timeout
        "samples": len(samples),
        "unmeasured": sum(1 for s in samples if s.get("max") is None),
        # The promise under load (probes.replication.lag_under_load): faults left out,
        # each source's own; the catalog cache's here, the mirrors' with the events.
        "under_load": _under_load(verdicts, "lag_under_load"),
        "cache_under_load": _under_load(verdicts, "cache_lag_under_load"),
    }


def _under_load(verdicts: list[dict[str, Any]], checker: str) -> dict[str, Any] | None:
    """The figures of the first verdict whose output came from `checker`."""
    return next(
        (
            {k: v["output"].get(k) for k in ("valid", "p99_s", "max_s", "judged", "unmeasured")}
            for v in verdicts
            if (v.get("output") or {}).get("checker") == checker
        ),
        None,
    )


def event_figures(verdicts: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The event path's figures: total-queue counts, drain time, mirror lag under load."""
    outputs = [v.get("output") or {} for v in verdicts]
    queue = next((o for o in outputs if o.get("checker") == "total_queue"), None)
    drain = next((o for o in outputs if "budget_s" in o and "backlog" in o), None)
    mirror = next((o for o in outputs if o.get("checker") == "mirror_lag_under_load"), None)
    if queue is None and drain is None and mirror is None:
        return None
    counts = None
    if queue is not None:
        counts = {k: (queue.get(k) or {}).get("count") for k in
                  ("lost", "duplicated", "unexpected", "recovered")}  # fmt: skip
        counts |= {"valid": queue.get("valid"), "acknowledged": queue.get("acknowledged")}
    return {
        "total_queue": counts,
        "drain_s": (drain or {}).get("seconds"),
        "drain_budget_s": (drain or {}).get("budget_s"),
        "mirror_lag_under_load": None if mirror is None else {
            k: mirror.get(k) for k in ("valid", "p99_s", "max_s", "judged", "unmeasured")},
    }  # fmt: skip


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def traffic(timeline: list[dict[str, Any]]) -> dict[str, Any]:
    """Requests, errors, error rate and p95 latency of the whole load run."""
    stats = summarize(timeline, span_s(timeline))
    rate = stats.error_rate
    return {
        "requests": stats.requests,
        "errors": stats.errors,
        "error_rate": None if rate is None else round(rate, 4),
        "p95_ms": stats.p95_ms,
        # The record's "traffic per region": requests by the region that served them.
        "by_region": dict(Counter(str(r.get("region") or "none") for r in timeline)),
    }


def fault_marks(journal: dict[str, Any]) -> list[dict[str, Any]]:
    """Every fault injected and undone, with when: method actions and rollbacks."""
    from aftershock.targets.local import UNDO

    undoes = {f.__name__ for f in UNDO.values()} | {"heal_all"}
    marks = []
    for phase in ("run", "rollbacks"):
        for run in journal.get(phase, []):
            activity = run.get("activity") or {}
            provider = activity.get("provider") or {}
            if not str(provider.get("module", "")).startswith("aftershock.faults."):
                continue
            func = provider.get("func", "")
            kind = "inject" if func in UNDO else "undo" if func in undoes else "other"
            marks.append(
                {
                    "name": activity.get("name", func),
                    "func": func,
                    "kind": kind,
                    "phase": "rollback" if phase == "rollbacks" else "method",
                    "start": run.get("start"),
                    "end": run.get("end"),
                    "status": run.get("status"),
                }
            )
    return marks


def evidence_links(evidence: Path) -> dict[str, str]:
    """Evidence files that exist, as paths relative to the run directory."""
    names = [
        JOURNAL_FILE,
        f"{LOAD_DIR}/{history.HISTORY_FILE}",
        f"{LOAD_DIR}/{history.TIMELINE_FILE}",
        f"{LOAD_DIR}/{LAG_FILE}",
        f"{LOAD_DIR}/locust.log",
        f"{LOAD_DIR}/locust_stats.csv",
    ]
    links = {name: f"{evidence.name}/{name}" for name in names if (evidence / name).exists()}
    logs = evidence / "node-logs"
    if logs.is_dir():
        for log in sorted(logs.glob("*.log")):
            links[f"node-logs/{log.name}"] = f"{evidence.name}/node-logs/{log.name}"
    return links
