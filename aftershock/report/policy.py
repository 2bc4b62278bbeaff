"""The release policy applied to a run: judged, then written into its summary.

`summary.json` gets a `policy` object (valid, the rules that failed, those
not judged) and `summary.md` a section that names each failed rule, so a
CI job summary says why the release was stopped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aftershock.check.checkers import Result
from aftershock.check.release_policy import judge
from aftershock.config.gate_policy import GatePolicy
from aftershock.report.run import JSON_FILE, MARKDOWN_FILE, NoExperiments, run_summary
from aftershock.report.trend import runs

HISTORY_DEPTH = 200  # earlier runs read for the regression rule, newest first


def apply_policy(run_dir: Path, policy: GatePolicy, history_dir: Path | None = None) -> Result:
    """Judge `run_dir` against `policy` and the passing runs under `history_dir` (default:
    the run's parent); record the verdict in the run's summary.json and summary.md."""
    stored = run_dir / JSON_FILE
    summary = json.loads(stored.read_text()) if stored.exists() else run_summary(run_dir)
    try:
        history = runs(history_dir or run_dir.parent, HISTORY_DEPTH)
    except NoExperiments:
        history = []
    result = judge(
        summary,
        [h for h in history if h.get("run") != summary.get("run")],
        policy.required,
        policy.min_score,
        policy.budgets,
        policy.regression_runs,
        policy.tolerance,
    )
    summary["policy"] = {"file": str(policy.path), **result.as_dict()}
    _write(stored, json.dumps(summary, indent=2, default=str) + "\n")
    markdown = run_dir / MARKDOWN_FILE
    if markdown.exists():
        _write(markdown, markdown.read_text(encoding="utf-8") + section(summary["policy"]))
    return result


def section(policy: dict[str, Any]) -> str:
    """The summary.md section: the policy's verdict and every rule that failed or was skipped."""
    mark = "held" if policy["valid"] is True else "FAILED"
    lines = ["", f"### Release policy {mark} (`{policy['file']}`)", ""]
    lines += [f"- rule `{f['rule']}`: {f['reason']}" for f in policy.get("failed", [])]
    lines += [f"- not judged: {why}" for why in policy.get("not_judged", [])]
    if len(lines) == 3:
        lines.append(f"- {policy['reason']}")
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
