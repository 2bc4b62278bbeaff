"""The DR report: a drill experiment's section, read from its journal.

The drill's activities and verdicts are named by step (`step-3-...`); the
section puts them on a timeline of the record's six steps, with the
figures the record asks for (RTO, RPO, failback, capacity headroom,
journeys per geo and step) and a pass/fail row per target of the record.
Step 6 is this report itself.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from aftershock.check.drill import JOURNEY_STEPS
from aftershock.report import text

TAG = "drill"
STEPS = {
    1: "Fail taiwan through its health check (the Route 53 drill)",
    2: "Monitor the failover",
    3: "Validate that tokyo carries all the traffic, and twice it",
    4: "Test the critical user journeys",
    5: "Restore taiwan and measure the failback",
    6: "Generate the DR report",
}
STEP_NAME = re.compile(r"^step-(\d)-")


def section(journal: dict[str, Any], verdicts: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The drill section of an experiment tagged `drill`; None for any other experiment.

    `verdicts` are the experiment's verdict rows (`figures.verdict_rows`).
    """
    experiment = journal.get("experiment") or {}
    if TAG not in (experiment.get("tags") or []):
        return None
    runs = {str((r.get("activity") or {}).get("name")): r for r in journal.get("run") or []}
    by_name = {row["name"]: row for row in verdicts}
    steps = [_step(number, runs, verdicts) for number in range(1, 6)]
    steps.append(
        {"number": 6, "title": STEPS[6], "started": journal.get("end"), "seconds": None,
         "passed": None, "problems": [], "activities": ["report.html, summary.md, summary.json"]}
    )  # fmt: skip
    return {
        "steps": steps,
        "rto": _figure(by_name, "step-2-rto-within-the-promise"),
        "claim": _figure(by_name, "step-2-rto-within-the-design-claim"),
        "rpo": _rpo(by_name),
        "kept_running": _output(runs, "step-2-taiwan-kept-running"),
        "capacity": _output(runs, "step-3-tokyo-carries-the-peak-and-twice-it"),
        "journeys": _journeys(_output(runs, "step-4-critical-journeys")),
        "failback": _output(runs, "step-5-failback"),
        "targets": _targets(by_name),
    }


def _step(number: int, runs: dict[str, Any], verdicts: list[dict[str, Any]]) -> dict[str, Any]:
    """One step: its activities' span and status, and the verdicts that judge it."""
    mine = [r for name, r in runs.items() if _number(name) == number]
    judged = [row for row in verdicts if _number(row["name"]) == number]
    problems = [f"{r['activity']['name']}: {r.get('status')}" for r in mine
                if r.get("status") != "succeeded"]  # fmt: skip
    problems += [f"{row['name']}: {row['reason']}" for row in judged if not row["met"]]
    starts = [r["start"] for r in mine if r.get("start")]
    ends = [r["end"] for r in mine if r.get("end")]
    seconds = None
    if starts and ends:
        seconds = (_at(max(ends)) - _at(min(starts))).total_seconds()
    return {
        "number": number,
        "title": STEPS[number],
        "started": min(starts) if starts else None,
        "seconds": None if seconds is None else round(seconds, 1),
        # A step that never ran did not pass.
        "passed": bool(mine) and not problems,
        "problems": problems if mine else ["not run: the drill stopped before this step"],
        "activities": [r["activity"]["name"] for r in mine],
    }


def _number(name: str) -> int | None:
    match = STEP_NAME.match(name)
    return int(match.group(1)) if match else None


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def _output(runs: dict[str, Any], name: str) -> dict[str, Any] | None:
    output = (runs.get(name) or {}).get("output")
    return output if isinstance(output, dict) else None


def _figure(by_name: dict[str, Any], name: str) -> dict[str, Any] | None:
    row = by_name.get(name)
    if row is None:
        return None
    out = row["output"]
    target = (out.get("claim") if "claim" in name else out.get("promise")) or {}
    return {"seconds": out.get("seconds"), "target_s": target.get("target_s"),
            "met": row["met"], "reason": row["reason"]}  # fmt: skip


def _rpo(by_name: dict[str, Any]) -> dict[str, Any] | None:
    row = by_name.get("rpo-within-the-promise")
    if row is None:
        return None
    rpo = row["output"].get("rpo") or {}
    lost = row["output"].get("lost")
    if lost is None or rpo.get("target_s") is None:  # the probe could not look
        return {"seconds": None, "target_s": None, "lost": None, "acknowledged": None,
                "met": False, "reason": row["reason"] or "not judged"}  # fmt: skip
    return {"seconds": rpo.get("seconds"), "target_s": rpo.get("target_s"),
            "lost": None if lost is None else len(lost),
            "acknowledged": row["output"].get("acknowledged"), "met": row["met"],
            "reason": row["reason"]}  # fmt: skip


def _journeys(output: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One row per geo: each step's result, with its evidence when it failed."""
    rows = []
    for run in (output or {}).get("journeys") or []:
        cells = {s["step"]: s for s in run.get("steps", [])}
        rows.append({"geo": run.get("geo"), "steps": cells, "key": run.get("key")})
    return rows


TARGETS = (
    ("RTO within the promise", "step-2-rto-within-the-promise"),
    ("RTO within the design claim", "step-2-rto-within-the-design-claim"),
    ("the failed region kept running", "step-2-taiwan-kept-running"),
    ("2x capacity in the surviving region", "step-3-tokyo-carries-the-peak-and-twice-it"),
    ("critical journeys pass in every geo", "step-4-journeys-pass-in-every-geo"),
    ("failback after the restore", "step-5-failback"),
    ("zero order loss", "zero-lost-or-duplicated-orders"),
    ("RPO within the promise", "rpo-within-the-promise"),
    ("replication lag under 1 s", "lag-under-1s-under-load"),
)


def _targets(by_name: dict[str, Any]) -> list[dict[str, Any]]:
    """Pass/fail against each of the record's targets; one the drill did not judge fails."""
    rows = []
    for target, name in TARGETS:
        row = by_name.get(name)
        limit = _limit(row["output"], name) if row else None
        label = f"{target} ({limit:g} s)" if limit is not None else target
        rows.append({"target": label, "verdict": name, "met": bool(row and row["met"]),
                     "reason": row["reason"] if row else "not judged"})  # fmt: skip
    return rows


def _limit(output: dict[str, Any], name: str) -> float | None:
    """The seconds a timed target was judged against, as the verdict's own output says."""
    part = {"step-2-rto-within-the-promise": "promise",
            "step-2-rto-within-the-design-claim": "claim",
            "rpo-within-the-promise": "rpo"}.get(name)  # fmt: skip
    value = (output.get(part) or {}).get("target_s") if part else None
    return float(value) if isinstance(value, int | float) else None


def markdown(name: str, drill: dict[str, Any]) -> list[str]:
    """The drill section of summary.md: timeline, figures, journeys, targets."""
    lines = [f"### DR drill: {name}", "", "| step | what | started | took | result |",
             "|---:|---|---|---:|---|"]  # fmt: skip
    for step in drill["steps"]:
        took = text.DASH if step["seconds"] is None else f"{step['seconds']:.1f} s"
        result = {True: "✓ passed", False: "✗ failed", None: "written"}[step["passed"]]
        if step["problems"]:
            result += ": " + "; ".join(step["problems"])
        lines.append(
            f"| {step['number']} | {step['title']} | {text.when(step['started'])} | {took} "
            f"| {result} |"
        )
    lines += ["", "- " + "\n- ".join(figure_lines(drill)), ""]
    if drill["journeys"]:
        steps = JOURNEY_STEPS
        lines += ["| geo | " + " | ".join(steps) + " |", "|---|" + "---|" * len(steps)]
        for row in drill["journeys"]:
            cells = [journey_cell(row["steps"].get(s)) for s in steps]
            lines.append(f"| {row['geo']} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["| the record's target | met | why |", "|---|---|---|"]
    for row in drill["targets"]:
        lines.append(f"| {row['target']} | {'✓' if row['met'] else '✗'} | {row['reason']} |")
    return [*lines, ""]


def figure_lines(drill: dict[str, Any]) -> list[str]:
    """RTO, RPO, failback, capacity headroom and whether the region kept running, one each."""
    rto, rpo, back = drill.get("rto"), drill.get("rpo"), drill.get("failback") or {}
    cap, kept = drill.get("capacity") or {}, drill.get("kept_running") or {}
    timed = rto and rto.get("seconds") is not None and rto.get("target_s") is not None
    judged = rpo and rpo.get("lost") is not None and rpo.get("target_s") is not None
    multiple = cap.get("multiple")
    return [
        "RTO (traffic off taiwan): "
        + (f"{rto['seconds']:.1f} s of {rto['target_s']:g} s" if timed
           else f"not measured ({(rto or {}).get('reason') or 'step 2 did not judge it'})"),
        "RPO: " + (f"{rpo['lost']} of {rpo['acknowledged']} acknowledged orders lost, "
                   f"{rpo['seconds']} s of {rpo['target_s']:g} s" if judged
                   else f"not judged ({(rpo or {}).get('reason') or 'no verdict'})"),
        "failback (TW customers back on taiwan): "
        + (f"{back['seconds']:.1f} s" if back.get("seconds") is not None else "not measured")
        + (f" ({back.get('reason')})" if back.get("reason") else ""),
        "capacity headroom: "
        + (f"at least {multiple:g}x the normal peak within the SLOs (served "
           f"{cap['headroom']}x its throughput at {multiple:g}x); " if cap.get("valid") is True
           else f"served {cap['headroom']}x the normal peak's throughput at {multiple:g}x; "
           if cap.get("headroom") is not None and multiple else "not measured; ")
        + str(cap.get("reason", "")),
        "taiwan while its health check was failed: " + str(kept.get("reason", "not checked")),
    ]  # fmt: skip


def journey_cell(step: dict[str, Any] | None) -> str:
    if step is None:
        return "not run"
    mark = "✓" if step["ok"] else "✗"
    shown = f"{mark} {step['status']} {step.get('region') or ''} {step['ms']:.0f} ms".strip()
    return shown if step["ok"] else f"{shown}: {step['evidence']}"
