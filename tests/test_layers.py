"""The import contract of `make lint`: imports go down the layers, and nothing imports in a circle.

The contract lives in pyproject.toml (`[tool.importlinter]`). These tests
run `lint-imports` as `make lint` does, on the checkout and on a copy with
one import added against the layers, so a contract that could not fail
would show here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(checkout: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` over `checkout`'s packages (its copy first on the path, not the install)."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def checkout_copy(tmp_path: Path) -> Path:
    """The packages the contract covers and its configuration, copied."""
    copy = tmp_path / "checkout"
    for package in ("aftershock", "probes"):
        shutil.copytree(
            ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def add_import(module: Path, line: str) -> None:
    """Put `line` under the module's `from __future__` import."""
    text = module.read_text()
    anchor = "from __future__ import annotations\n"
    assert anchor in text, module
    module.write_text(text.replace(anchor, f"{anchor}\n{line}\n", 1))


def test_the_checkout_keeps_the_import_contract() -> None:
    found = lint_imports(ROOT)
    assert found.returncode == 0, found.stdout + found.stderr
    assert "Contracts: 3 kept, 0 broken." in found.stdout


def test_a_probe_that_knows_a_breakage_fails_lint(checkout_copy: Path) -> None:
    # A breakage declared to the experiment would excuse what it must catch.
    add_import(checkout_copy / "probes/orders.py", "from aftershock.breakages import catalog")
    found = lint_imports(checkout_copy)
    assert found.returncode != 0
    assert "probes is not allowed to import aftershock.breakages" in found.stdout
    assert "probes.orders -> aftershock.breakages.catalog" in found.stdout


def test_a_back_import_fails_lint(checkout_copy: Path) -> None:
    # The load run's record (once `evidence`) reaching up to the Locust runner.
    add_import(checkout_copy / "aftershock/load/runs.py", "from aftershock.load import runner")
    found = lint_imports(checkout_copy)
    assert found.returncode != 0
    assert "aftershock.load.runs is not allowed to import aftershock.load.runner" in found.stdout


def test_a_circle_between_packages_fails_lint(checkout_copy: Path) -> None:
    # The platform reaching up to a fault driver: sandbox -> targets -> sandbox.
    add_import(
        checkout_copy / "aftershock/sandbox/state.py", "from aftershock.targets.local import common"
    )
    found = lint_imports(checkout_copy)
    assert found.returncode != 0
    assert "aftershock.sandbox is not allowed to import aftershock.targets" in found.stdout
    assert "No cycles are allowed in aftershock." in found.stdout


def test_the_contract_covers_every_module_of_the_package() -> None:
    # A module outside every layer would be free to import anything.
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [c["layers"] for c in config["contracts"] if c["type"] == "layers"]
    named = {m.strip() for layer in layers for m in layer.replace("|", ":").split(":")}
    uncovered = []
    for path in sorted((ROOT / "aftershock").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        dotted = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        within = any(dotted == n or dotted.startswith(n + ".") for n in named)
        # package __init__ files of the split packages only hold a docstring
        if not within and not (path.name == "__init__.py" and path.read_text().count("\n") <= 2):
            uncovered.append(dotted)
    assert uncovered == ["aftershock"], uncovered  # the root: discovery and the module lists
