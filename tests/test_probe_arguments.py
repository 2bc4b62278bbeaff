"""Numbers reach probes and actions as text: each converts its numeric parameters on entry.

Chaos Toolkit substitutes `${name}` from the configuration, and a value
read from the environment is a string: `budget_s` arrived as "45" and the
hold that exists for a platform that never recovers crashed on its own
log line (`%g` of a str) exactly when the platform did not recover. This
checks the whole class, statically: in every public function of the
Chaos Toolkit surface, a parameter annotated as a number is rebound by
`p = float(p)` (or `int(p)`) first, or only ever read inside `float(p)` /
`int(p)`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SURFACE = [
    *sorted((ROOT / "probes").glob("*.py")),
    *sorted((ROOT / "aftershock" / "faults").glob("*.py")),
    ROOT / "aftershock" / "load" / "actions.py",
]
NUMERIC = ("float", "int")


def _numeric(annotation: ast.expr | None) -> bool:
    words = ast.unparse(annotation).replace("|", " ").split() if annotation is not None else []
    return any(word in NUMERIC for word in words)


def _converts(node: ast.AST, name: str) -> bool:
    """`float(name)` / `int(name)`."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in NUMERIC
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Name)
        and node.args[0].id == name
    )


def unconverted_reads(path: Path) -> list[str]:
    """Every read of a numeric parameter outside `float()`/`int()`, as `file:line func(param)`."""
    tree = ast.parse(path.read_text())
    found = []
    for func in tree.body:
        if not isinstance(func, ast.FunctionDef) or func.name.startswith("_"):
            continue
        args = [*func.args.args, *func.args.kwonlyargs]
        params = [a.arg for a in args if _numeric(a.annotation)]
        rebound = {
            s.targets[0].id
            for s in func.body
            if isinstance(s, ast.Assign)
            and len(s.targets) == 1
            and isinstance(s.targets[0], ast.Name)
            and _converts(s.value, s.targets[0].id)
        }
        parents = {c: p for p in ast.walk(func) for c in ast.iter_child_nodes(p)}
        for param in (p for p in params if p not in rebound):
            for node in ast.walk(func):
                if not (isinstance(node, ast.Name) and node.id == param):
                    continue
                if not isinstance(node.ctx, ast.Load):
                    continue
                parent = parents.get(node)
                converted = _converts(parent, param) if parent is not None else False
                # `float(p) if p else default`: the test only asks whether it was given.
                guard = isinstance(parent, ast.IfExp) and parent.test is node
                if not (converted or guard):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {func.name}({param})")
    return found


@pytest.mark.parametrize("path", SURFACE, ids=lambda p: str(p.relative_to(ROOT)))
def test_numeric_parameters_are_converted_before_use(path: Path) -> None:
    assert unconverted_reads(path) == []


def test_the_check_finds_a_number_used_as_it_came(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "def hold(budget_s: float = 9.0, min_s: float = 1.0):\n"
        "    min_s = float(min_s)\n"
        "    return '%g' % budget_s, min_s\n"
    )
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert unconverted_reads(probe) == ["probe.py:3 hold(budget_s)"]
    finally:
        ROOT = saved
