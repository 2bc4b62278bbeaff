"""`aftershock verdicts`: the verdict matrix, and what each verdict said last."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from aftershock.cli.common import operator_errors, out
from aftershock.config.verdict_matrix import MATRIX_FILE, Row, last_results, load
from aftershock.targets.drivers import EXPERIMENTS


def verdicts(
    matrix: Annotated[Path, typer.Option(help="The verdict matrix.")] = EXPERIMENTS / MATRIX_FILE,
    results: Annotated[
        Path, typer.Option(help="Recorded runs, for each verdict's last result.")
    ] = Path("results"),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every verdict: its promise, experiments, the breakages that fail it, its last result."""
    with operator_errors():
        rows = load(matrix)
        last = last_results(results) if results.is_dir() else {}
        if as_json:
            shown = [{**asdict(r), "last_result": last.get(r.name)} for r in rows]
            out().print(json.dumps(shown, indent=2), markup=False)
            return
        for row in rows:
            out().print(_block(row, last.get(row.name)), markup=False, soft_wrap=True)
        bare = [row.name for row in rows if not row.breakages]
        tail = f"{len(bare)} with no breakage: {', '.join(bare)}" if bare else "each has a breakage"
        out().print(f"{len(rows)} verdicts: {tail}")


def _block(row: Row, seen: dict[str, Any] | None) -> str:
    """One verdict as a few lines: name and last result, then promise, experiments, breakages."""
    result = "not run yet" if seen is None else (
        f"{'passed' if seen['met'] else 'FAILED'} in {seen['run']} ({seen['experiment']})"
    )  # fmt: skip
    lines = [
        f"{row.name} [{row.kind}]: last {result}",
        f"  promise:     {row.promise}",
        f"  experiments: {', '.join(row.experiments)}",
    ]
    breakages = list(row.breakages) or ["NONE: nothing shows it can fail"]
    lines += [f"  {'breakages:' if i == 0 else '':<12} {b}" for i, b in enumerate(breakages)]
    return "\n".join(lines)
