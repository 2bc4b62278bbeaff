"""The experiment plugin, driven by pytester with experiments that need no sandbox.

The experiments call helper functions in a module the test writes, and
run with `--target k8s` so the plugin neither boots nor resets a sandbox.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

HELPERS = """
import json, pathlib

def value(v):
    return v

def write(path, text="done"):
    pathlib.Path(path).write_text(text)
    return text

def interrupt():
    raise KeyboardInterrupt

def sleep(seconds):
    import time
    time.sleep(seconds)
"""


def probe(name: str, func: str, tolerance: Any = None, **args: Any) -> dict[str, Any]:
    activity: dict[str, Any] = {
        "type": "probe",
        "name": name,
        "provider": {"type": "python", "module": "helpers", "func": func, "arguments": args},
    }
    if tolerance is not None:
        activity["tolerance"] = tolerance
    return activity


def action(name: str, func: str, **args: Any) -> dict[str, Any]:
    return {**probe(name, func, **args), "type": "action"}


def experiment(
    tags: list[str],
    steady: int = 1,
    method: list[dict[str, Any]] | None = None,
    verdicts: list[dict[str, Any]] | None = None,
    rollback_marker: str = "",
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "version": "1.0.0",
        "title": "helper experiment",
        "description": "runs helpers only",
        "tags": tags,
        "controls": [
            {
                "name": "verdicts",
                "provider": {"type": "python", "module": "aftershock.controls.verdicts"},
            }
        ],
        "steady-state-hypothesis": {
            "title": "value is 1",
            "probes": [probe("value-is-one", "value", 1, v=steady)],
        },
        "method": method or [action("noop", "value", v=0)],
        "rollbacks": [action("mark-rollback", "write", path=rollback_marker)]
        if rollback_marker
        else [],
    }
    if verdicts:
        doc["extensions"] = [{"name": "aftershock", "verdicts": verdicts}]
    return doc


@pytest.fixture
def lab(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest('pytest_plugins = ["aftershock.pytest_plugin"]')
    pytester.makepyfile(helpers=HELPERS)
    pytester.syspathinsert()
    pytester.mkdir("experiments")
    return pytester


def write(lab: pytest.Pytester, name: str, doc: dict[str, Any] | str) -> Path:
    path = lab.path / "experiments" / f"{name}.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def run(lab: pytest.Pytester, *args: str) -> pytest.RunResult:
    return lab.runpytest("experiments", "--target", "k8s", "--results", "res", *args)


def test_experiments_are_collected_with_their_tags_as_markers(lab: pytest.Pytester) -> None:
    write(lab, "quick", experiment(["gate", "gameday"]))
    write(lab, "slow", experiment(["gameday"]))
    gate = run(lab, "--collect-only", "-q", "-m", "gate")
    gate.stdout.fnmatch_lines(["experiments/quick.json::quick", "*1/2 tests collected*"])
    all_of_them = run(lab, "--collect-only", "-q", "-m", "gameday")
    all_of_them.stdout.fnmatch_lines(["*2 tests collected*"])


def test_a_passing_experiment_passes_and_keeps_its_journal(lab: pytest.Pytester) -> None:
    write(lab, "fine", experiment(["gate"], verdicts=[probe("two", "value", 2, v=2)]))
    result = run(lab, "--junitxml", "junit.xml")
    result.assert_outcomes(passed=1)
    [journal] = (lab.path / "res").glob("gate-*/fine/journal.json")
    recorded = json.loads(journal.read_text())
    assert recorded["status"] == "completed"
    assert recorded["aftershock_verdicts"][0]["tolerance_met"] is True
    assert 'tests="1"' in (lab.path / "junit.xml").read_text()


@pytest.mark.parametrize(
    ("text", "reason"),
    [("{not json", "not JSON"), (json.dumps({"title": "no method"}), "invalid experiment")],
)
def test_an_invalid_experiment_file_is_one_clear_collection_error(
    lab: pytest.Pytester, text: str, reason: str
) -> None:
    write(lab, "broken", text)
    result = run(lab)
    assert result.ret != 0
    result.stdout.fnmatch_lines([f"*experiments/broken.json: {reason}*"])
    assert "Traceback" not in result.stdout.str()
    assert "site-packages" not in result.stdout.str()


def test_a_steady_state_that_does_not_hold_fails_with_the_probe_its_tolerance_and_value(
    lab: pytest.Pytester,
) -> None:
    marker = lab.path / "rolled-back"
    write(lab, "sick", experiment(["gate"], steady=7, rollback_marker=str(marker)))
    result = run(lab, "--junitxml", "junit.xml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "experiment sick failed:",
            "steady state before the method: probe value-is-one: tolerance 1 not met by 7",
            "evidence: */res/gate-*/sick",
        ]
    )
    assert marker.read_text() == "done"  # rollbacks run after a failed hypothesis too
    assert "value-is-one" in (lab.path / "junit.xml").read_text()


def test_a_failed_verdict_names_itself_and_marks_the_journal_deviated(
    lab: pytest.Pytester,
) -> None:
    verdict = probe(
        "orders", "value", {"type": "jsonpath", "path": "$.valid", "expect": True},
        v={"valid": False, "reason": "2 lost", "lost": ["r1-a", "r1-b"]},
    )  # fmt: skip
    write(lab, "lossy", experiment(["gate"], verdicts=[verdict]))
    result = run(lab)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(['*verdict orders: tolerance * not met by *2 lost*"r1-a", "r1-b"*'])
    [journal] = (lab.path / "res").glob("gate-*/lossy/journal.json")
    assert json.loads(journal.read_text())["deviated"] is True


def test_an_interrupt_still_runs_rollbacks_and_stops_the_session(lab: pytest.Pytester) -> None:
    marker = lab.path / "rolled-back"
    method = [action("ctrl-c", "interrupt")]
    write(lab, "a_interrupted", experiment(["gate"], method=method, rollback_marker=str(marker)))
    write(lab, "b_never_run", experiment(["gate"]))
    result = run(lab)
    assert marker.read_text() == "done"
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*a_interrupted was interrupted*"])
    assert "b_never_run PASSED" not in result.stdout.str()
    assert result.ret == 3, "an interrupt: the gate could not run"
    assert not list((lab.path / "res").glob("gate-*/b_never_run"))


def guarded(
    lab: pytest.Pytester, rows: list[dict[str, Any]], seconds: float = 30
) -> tuple[Path, Path]:
    """A recorded run with `rows` as its timeline, and an experiment under the safeguard.

    Returns the target file that points the plugin at the run, and the
    rollback marker.
    """
    state = lab.path / "state"
    run_dir = state / "runs" / "r1"
    run_dir.mkdir(parents=True)
    (run_dir / "load.json").write_text(json.dumps({"run_id": "r1"}))
    (run_dir / "timeline.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (state / "loads").mkdir()
    (state / "loads" / "sb.last").write_text(str(run_dir))
    target = lab.path / "target.json"
    target.write_text(json.dumps({"aftershock_state_root": str(state)}))
    marker = lab.path / "rolled-back"
    doc = experiment(["gate"], method=[action("a-long-fault", "sleep", seconds=seconds)],
                     rollback_marker=str(marker))  # fmt: skip
    doc["controls"].append(
        {
            "name": "safeguard",
            "provider": {
                "type": "python",
                "module": "aftershock.controls.safeguard",
                "arguments": {"max_error_rate": 0.5, "for_seconds": 1, "every_s": 0.2},
            },
        }
    )
    write(lab, "hurting", doc)
    return target, marker


def test_the_safeguard_stops_an_experiment_whose_error_rate_stays_too_high(
    lab: pytest.Pytester,
) -> None:
    # A run whose every request failed, as the load would have left it.
    now = time.time()
    rows = [{"t": now - i * 0.05, "route": "/x", "status": 503, "ms": 1.0} for i in range(100)]
    target, marker = guarded(lab, rows)
    began = time.monotonic()
    result = run(lab, "--sandbox", "sb", "--target-file", str(target))
    assert time.monotonic() - began < 20, "stopped by the safeguard, not the 30 s sleep"
    result.assert_outcomes(failed=1)
    assert result.ret == 1, "the platform's errors tripped it: a failure, not could-not-run"
    result.stdout.fnmatch_lines(["*safeguard: error rate 100% above 50% for 1 s*"])
    assert marker.read_text() == "done"


def test_a_safeguard_that_dies_fails_the_experiment_instead_of_going_quiet(
    lab: pytest.Pytester,
) -> None:
    target, _ = guarded(lab, [{"route": "/x", "status": 503}], seconds=2)  # no "t": unreadable
    result = run(lab, "--sandbox", "sb", "--target-file", str(target))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*safeguard: the safeguard stopped watching: KeyError*"])


def test_target_file_values_reach_the_probes_even_when_the_experiment_does_not_declare_them(
    lab: pytest.Pytester,
) -> None:
    doc = experiment(["gate"])
    doc["steady-state-hypothesis"]["probes"][0]["provider"]["arguments"]["v"] = "${answer}"
    doc["steady-state-hypothesis"]["probes"][0]["tolerance"] = "42"
    write(lab, "configured", doc)
    target = lab.path / "target.json"
    target.write_text(json.dumps({"answer": "42"}))
    run(lab, "--target-file", str(target)).assert_outcomes(passed=1)
    run(lab).assert_outcomes(failed=1)  # without it the probe sees the literal "${answer}"


def test_a_gate_that_passes_exits_0(lab: pytest.Pytester) -> None:
    write(lab, "fine", experiment(["gate"]))
    assert run(lab).ret == 0


def test_a_broken_promise_exits_1(lab: pytest.Pytester) -> None:
    verdict = probe("orders", "value", True, v=False)
    write(lab, "broken", experiment(["gate"], verdicts=[verdict]))
    assert run(lab).ret == 1


def test_a_usage_error_exits_2_in_one_line(lab: pytest.Pytester) -> None:
    write(lab, "fine", experiment(["gate"]))
    # A subprocess, as CI runs it: pytest.exit() from the plugin's configure hook.
    bad = lab.runpytest_subprocess("experiments", "--target", "k8s", "--policies", "orders=maybe")
    assert bad.ret == 2
    bad.stderr.fnmatch_lines(["*error: --orders must be one of local, quorum, not 'maybe'*"])
    assert run(lab, "-k", "no-such-experiment").ret == 2  # a selection that matched nothing


def test_a_fault_that_could_not_be_injected_exits_3(lab: pytest.Pytester) -> None:
    # Refused by the target (no --allow-destructive): the partition is never injected, so
    # no verdict can judge it, and the gate says it could not run rather than "failed".
    fault = {
        "type": "action",
        "name": "partition-taiwan-tokyo",
        "provider": {"type": "python", "module": "aftershock.faults.network",
                     "func": "partition_regions", "arguments": {"a": "taiwan", "b": "tokyo"}},
    }  # fmt: skip
    write(lab, "unreachable", experiment(["gate"], method=[fault]))
    result = run(lab)
    assert result.ret == 3, result.stdout.str()
    result.stdout.fnmatch_lines(["*method activity partition-taiwan-tokyo failed*refused*"])


def test_two_gates_started_in_one_second_get_run_directories_of_their_own(
    tmp_path: Path,
) -> None:
    from aftershock.pytest_plugin import claim_results_dir

    wanted = tmp_path / "results" / "gate-20261203T120000Z"
    first, second, third = (claim_results_dir(wanted) for _ in range(3))
    assert first == wanted
    assert second.name == "gate-20261203T120000Z-2"
    assert third.name == "gate-20261203T120000Z-3"
    assert all(p.is_dir() for p in (first, second, third))
