"""`summary.md`: the gate's verdict as a CI job summary (GitHub-flavoured Markdown)."""

from __future__ import annotations

from typing import Any

from aftershock.report import drill, promises, text


def summary(run: dict[str, Any], link: str = "") -> str:
    """A verdict table with the key figures, then the reasons each failed experiment failed."""
    mark = "PASSED" if run["verdict"] == "passed" else "FAILED"
    total = len(run["experiments"])
    lines = [
        f"## aftershock gate {mark}: {run['passed']} of {total} experiments passed, "
        f"resilience score {text.score(run['score'])}",
        "",
        f"Run `{run['run']}`, {text.when(run['started'])} to {text.when(run['ended'])}."
        + (f" Full report: `{link}` in the run directory." if link else ""),
        "",
        "| experiment | verdict | score | RTO (target) | orders ack / lost / dup / unexpected "
        "| max lag | error budget used |",
        "|---|---|---:|---|---|---:|---:|",
    ]
    for e in run["experiments"]:
        lines.append(
            f"| {e['name']} | {text.verdict(e['verdict'])} | {text.score(e['score'])} "
            f"| {text.rto(e['rto'])} | {text.orders(e['orders'])} "
            f"| {text.lag(e['replication_lag'])} | {text.budget(e['error_budget'])} |"
        )
    if run.get("promises"):
        label = run.get("topology", "target")
        lines += ["", f"### Promises, {label}", ""]
        lines.append(promises.table([(label, run["promises"])]).rstrip("\n"))
    for e in run["experiments"]:
        if e.get("drill"):
            lines += ["", *drill.markdown(e["name"], e["drill"])]
    failed = [e for e in run["experiments"] if e["verdict"] != "passed"]
    for e in failed:
        lines += ["", f"### {e['name']} failed", ""]
        lines += [f"- {_one_line(problem)}" for problem in e["problems"]]
    lines += [
        "",
        text.SCORE_NOTE + " Max lag includes the faults (≥: capped at the probe's timeout).",
        "",
    ]
    return "\n".join(lines)


def _one_line(problem: str) -> str:
    flat = " ".join(problem.split())
    return flat if len(flat) <= 400 else flat[:400] + "..."
