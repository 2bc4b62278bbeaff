"""The fault library's export contract, as Chaos Toolkit and operators see it."""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

from aftershock import FAULT_MODULES, PROBE_MODULES
from aftershock.config.target import FaultNotSupported
from aftershock.errors import SandboxError
from aftershock.targets.dispatch import run
from aftershock.targets.local import FAULTS, UNDO

CHAOS = str(Path(sys.executable).with_name("chaos"))
AFTERSHOCK = str(Path(sys.executable).with_name("aftershock"))


def _public_functions(module) -> dict:
    return {
        name: func
        for name, func in inspect.getmembers(module, inspect.isfunction)
        if func.__module__ == module.__name__ and not name.startswith("_")
    }


@pytest.mark.parametrize("module_name", FAULT_MODULES + PROBE_MODULES)
def test_every_public_function_is_exported_documented_and_chaos_shaped(module_name: str) -> None:
    module = importlib.import_module(module_name)
    functions = _public_functions(module)
    assert set(functions) == set(module.__all__)
    for name, func in functions.items():
        assert inspect.getdoc(func), f"{name} has no docstring"
        params = list(inspect.signature(func).parameters.values())
        assert [p.name for p in params[-2:]] == ["configuration", "secrets"], name
        assert all(p.default is None for p in params[-2:]), name
        # chaoslib's discovery drops keyword-only parameters: there must be none.
        assert all(p.kind is p.POSITIONAL_OR_KEYWORD for p in params), name


def test_chaos_discover_lists_every_fault_action(tmp_path: Path) -> None:
    out = tmp_path / "discovery.json"
    subprocess.run(
        [CHAOS, "discover", "--no-system-info", "--no-install", "aftershock",
         "--discovery-path", str(out)],
        check=True, capture_output=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    discovered = {a["name"] for a in json.loads(out.read_text())["activities"]}
    modules = FAULT_MODULES + PROBE_MODULES
    exported = {n for m in modules for n in importlib.import_module(m).__all__}
    assert discovered == exported


def test_every_action_has_a_local_implementation_and_every_fault_an_undo() -> None:
    actions = {n for m in FAULT_MODULES for n in importlib.import_module(m).__all__}
    assert actions - {"heal_all"} <= set(FAULTS)
    assert set(UNDO) <= set(FAULTS)
    assert set(UNDO.values()) <= set(FAULTS.values())


def test_other_targets_refuse_with_one_clear_error() -> None:
    with pytest.raises(FaultNotSupported, match="not supported by target k8s: Kubernetes has no"):
        run("throttle_link", {"aftershock_target": "k8s"}, a="taiwan", b="tokyo", kbit=512)
    with pytest.raises(SandboxError, match="needs a target file"):
        run("isolate_region", {"aftershock_target": "k8s", "aftershock_allow_destructive": True},
            region="taiwan")  # fmt: skip
    with pytest.raises(SandboxError, match="choose one of local, aws, k8s"):
        run("isolate_region", {"aftershock_target": "gcp"}, region="taiwan")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["nope"], "unknown fault 'nope': choose one of"),
        (["throttle_link", "taiwan"], "takes 3 argument(s): aftershock fault inject throttle_link"),
        (["pause_cache", "taiwan", "soon"], "ms must be an integer"),
    ],
)
def test_fault_cli_rejects_bad_requests_in_one_line(args: list[str], needle: str) -> None:
    result = subprocess.run(
        [AFTERSHOCK, "fault", "inject", *args, "--name", "tnone"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert needle in result.stderr


def test_fault_heal_without_all_says_how() -> None:
    result = subprocess.run(
        [AFTERSHOCK, "fault", "heal", "--name", "tnone"], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "--all" in result.stderr


@pytest.mark.parametrize("kind", ["aws", "k8s"])
def test_every_action_is_implemented_or_refused_with_a_reason_on_remote_targets(kind: str) -> None:
    from aftershock.targets.drivers import driver

    remote = driver(kind)
    actions = {n for m in FAULT_MODULES for n in importlib.import_module(m).__all__}
    assert actions - {"heal_all"} <= set(remote.FAULTS) | set(remote.UNSUPPORTED)
    assert not set(remote.FAULTS) & set(remote.UNSUPPORTED)
    assert set(remote.UNDO) <= set(remote.FAULTS)
    assert set(remote.UNDO.values()) <= set(remote.FAULTS.values())
