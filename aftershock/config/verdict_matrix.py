"""The verdict matrix: every verdict the experiments name, its promise, and what must fail it.

`experiments/verdicts.yaml` holds one row per verdict name: the promise it
guards, the experiments that use it, and its breakages, each the id of a
test in which a platform broken on purpose (`aftershock.breakages`) fails
that verdict. A verdict is a probe with a tolerance in an experiment's
`aftershock` extension, or a steady-state hypothesis probe (`kind:
hypothesis`): both decide whether the run passed.

`problems` is what the coverage test asserts empty: a verdict an
experiment names with no row, or a row with no breakage, is a verdict
nobody ever saw fail.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from aftershock.errors import SandboxError

MATRIX_FILE = "verdicts.yaml"
KINDS = ("verdict", "hypothesis")


class MatrixInvalid(SandboxError):
    """The matrix file cannot be read as a matrix; the message names the field."""


@dataclass(frozen=True)
class Row:
    """One verdict of the matrix."""

    name: str
    promise: str
    kind: str
    experiments: tuple[str, ...]
    breakages: tuple[str, ...]


def load(path: Path) -> list[Row]:
    """The matrix in `path`, each row checked for its fields; `MatrixInvalid` names the first."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise MatrixInvalid(f"{path}: cannot read the verdict matrix: {exc}") from None
    rows = (data or {}).get("verdicts") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise MatrixInvalid(f"{path}: needs a list `verdicts:` of rows")
    found = []
    for number, row in enumerate(rows, start=1):
        where = f"{path}: verdicts[{number}]"
        if not isinstance(row, dict):
            raise MatrixInvalid(f"{where}: must be a mapping")
        for field, kind in (("name", str), ("promise", str), ("experiments", list),
                            ("breakages", list)):  # fmt: skip
            if not isinstance(row.get(field), kind):
                raise MatrixInvalid(f"{where}.{field}: must be a {kind.__name__}")
        kind = row.get("kind", "verdict")
        if kind not in KINDS:
            raise MatrixInvalid(f"{where}.kind: must be one of {', '.join(KINDS)}")
        found.append(
            Row(row["name"], row["promise"], kind, tuple(row["experiments"]),
                tuple(row["breakages"]))
        )  # fmt: skip
    return found


def collect(experiments: Path) -> dict[tuple[str, str], list[str]]:
    """(kind, verdict name) -> the experiments naming it, from every experiment file there."""
    named: dict[tuple[str, str], list[str]] = {}
    for path in sorted(experiments.rglob("*.json")):
        experiment = json.loads(path.read_text())
        for probe in (experiment.get("steady-state-hypothesis") or {}).get("probes", []):
            named.setdefault(("hypothesis", probe["name"]), []).append(path.stem)
        for ext in experiment.get("extensions") or []:
            if ext.get("name") == "aftershock":
                for verdict in ext.get("verdicts", []):
                    named.setdefault(("verdict", verdict["name"]), []).append(path.stem)
    return named


def unjudged(experiments: Path) -> list[str]:
    """Method and rollback activities that carry a tolerance: Chaos Toolkit never judges one.

    A tolerance there reads like a verdict and is none: the run passes
    whatever the probe returns. Such a check belongs in the aftershock
    extension's `verdicts` (or the steady-state hypothesis).
    """
    found = []
    for path in sorted(experiments.rglob("*.json")):
        experiment = json.loads(path.read_text())
        for part in ("method", "rollbacks"):
            for activity in experiment.get(part) or []:
                if isinstance(activity, dict) and "tolerance" in activity:
                    found.append(
                        f"{part} activity {activity.get('name')} ({path.stem}) has a tolerance"
                        " nothing judges: move it to the aftershock extension's verdicts"
                    )
    return found


def problems(rows: list[Row], experiments: Path, root: Path) -> list[str]:
    """Everything that makes the matrix untrue: each a line naming the verdict and the fix."""
    named = collect(experiments)
    by_key = {(r.kind, r.name): r for r in rows}
    found = unjudged(experiments)
    for key, users in sorted(named.items()):
        row = by_key.get(key)
        if row is None:
            found.append(f"{key[0]} {key[1]} ({', '.join(users)}) has no row in the matrix: "
                         "add one with the breakage test that fails it")  # fmt: skip
            continue
        if not row.breakages:
            found.append(f"{key[0]} {key[1]}: no breakage fails it; add the test that does")
        if sorted(row.experiments) != sorted(users):
            found.append(f"{key[0]} {key[1]}: the matrix says experiments "
                         f"{sorted(row.experiments)}, the files say {sorted(users)}")  # fmt: skip
    for key, row in sorted(by_key.items()):
        if key not in named:
            found.append(f"{key[0]} {key[1]}: in the matrix, in no experiment: remove the row")
        for test in row.breakages:
            why = _test_problem(root, test, row.name)
            if why:
                found.append(f"{key[0]} {key[1]}: breakage {test}: {why}")
    return found


def _test_problem(root: Path, test: str, verdict: str) -> str:
    """Why `test` (a `file::function` id) cannot be a breakage of `verdict`; empty when it can."""
    file, sep, function = test.partition("::")
    path = root / file
    if not sep or not path.is_file():
        return f"no test file {file}"
    source = path.read_text()
    functions = {n.name for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef)}
    if function.split("[")[0] not in functions:
        return f"no test {function} in {file}"
    if verdict not in source:
        return f"{file} never names the verdict {verdict}: the test cannot check that it failed"
    return ""


def last_results(results: Path) -> dict[str, dict[str, Any]]:
    """verdict name -> its newest outcome under `results` (`met`, `run`, `experiment`).

    Read from the journals of every recorded run, newest run last, so a
    verdict's row shows what it said the last time any experiment judged it.
    """
    found: dict[str, dict[str, Any]] = {}
    for journal_path in sorted(results.glob("gate-*/*/journal.json")):
        try:
            journal = json.loads(journal_path.read_text())
        except (OSError, ValueError):
            continue
        run, experiment = journal_path.parts[-3], journal_path.parts[-2]
        steady = journal.get("steady_states") or {}
        for phase in ("before", "after"):
            for probe in (steady.get(phase) or {}).get("probes", []):
                name = (probe.get("activity") or {}).get("name")
                met = bool(probe.get("tolerance_met"))
                previous = found.get(name)
                if previous and previous["run"] == run and previous["met"] is False:
                    continue  # a failed phase of the same run stands
                found[name] = {"met": met, "run": run, "experiment": experiment}
        for verdict in journal.get("aftershock_verdicts") or []:
            found[verdict["name"]] = {
                "met": bool(verdict.get("tolerance_met")), "run": run, "experiment": experiment,
            }  # fmt: skip
    return found
