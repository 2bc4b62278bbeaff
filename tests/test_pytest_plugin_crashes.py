"""No verdict is lost to a crash: whatever raises, the report says FAILED when pytest does.

Driven by pytester like tests/test_pytest_plugin.py: helper experiments,
`--target k8s` so no sandbox is booted (and the local target with its
sandbox reset made to fail on purpose).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_pytest_plugin import experiment, lab, probe, run, write

from aftershock import pytest_plugin
from aftershock.errors import SandboxError

__all__ = ["lab"]  # the fixture, re-exported so pytest finds it here

UNREADABLE = {"type": "range", "range": [0, 1], "target": "max"}  # over {"max": None}


def report(lab: pytest.Pytester) -> dict:
    [run_dir] = (lab.path / "res").glob("gate-*")
    return json.loads((run_dir / "summary.json").read_text())


def test_a_verdict_its_tolerance_cannot_read_fails_alone_and_the_report_agrees(
    lab: pytest.Pytester,
) -> None:
    verdicts = [
        probe("lag-kept", "value", UNREADABLE, v={"max": None}),
        probe("two", "value", 2, v=2),
    ]
    write(lab, "blind", experiment(["gate"], verdicts=verdicts))
    result = run(lab)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*verdict lag-kept could not look: the tolerance cannot judge*"])
    [journal] = (lab.path / "res").glob("gate-*/blind/journal.json")
    judged = {v["name"]: v["tolerance_met"] for v in json.loads(journal.read_text())[
        "aftershock_verdicts"]}  # fmt: skip
    assert judged == {"lag-kept": False, "two": True}
    assert report(lab)["experiments"][0]["verdict"] == "failed"


def test_a_steady_state_value_the_tolerance_cannot_read_fails_with_rollbacks_and_a_journal(
    lab: pytest.Pytester,
) -> None:
    marker = lab.path / "rolled-back"
    doc = experiment(["gate"], rollback_marker=str(marker))
    doc["steady-state-hypothesis"]["probes"] = [probe("lag", "value", UNREADABLE, v={"max": None})]
    write(lab, "unreadable", doc)
    result = run(lab)
    result.assert_outcomes(failed=1)
    [journal_path] = (lab.path / "res").glob("gate-*/unreadable/journal.json")
    journal = json.loads(journal_path.read_text())
    assert journal["status"] in ("failed", "aborted")
    summary = report(lab)
    assert summary["experiments"][0]["verdict"] == "failed"
    assert summary["verdict"] == "failed"


def test_a_target_that_cannot_be_readied_is_a_failed_experiment_in_the_report(
    lab: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: pytest_plugin.GateSession, first: bool) -> None:
        raise SandboxError("etcd in tokyo did not become ready in 30 s")

    monkeypatch.setattr(pytest_plugin.GateSession, "_ready_sandbox", broken)
    write(lab, "never", experiment(["gate"]))
    result = lab.runpytest("experiments", "--target", "local", "--results", "res")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the target was not ready: SandboxError: etcd in tokyo*"])
    [experiment_report] = report(lab)["experiments"]
    assert experiment_report["verdict"] == "failed"
    assert "etcd in tokyo did not become ready" in " ".join(experiment_report["problems"])


def test_a_chaoslib_that_raises_leaves_a_failed_journal_and_undoes_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import chaoslib.experiment

    from aftershock.runner import experiment as runner

    def crash(*args: object, **kwargs: object) -> dict:
        raise TypeError("conversion from NoneType to Decimal is not supported")

    monkeypatch.setattr(chaoslib.experiment, "run_experiment", crash)
    configuration = {"aftershock_sandbox": "nowhere", "aftershock_state_root": str(tmp_path)}
    journal = runner.run({"title": "t", "method": []}, configuration, tmp_path)
    assert json.loads((tmp_path / runner.JOURNAL_FILE).read_text())["status"] == "failed"
    [problem] = runner.verdict_summary(journal)
    assert problem == (
        "the harness could not run the experiment: chaoslib raised TypeError: "
        "conversion from NoneType to Decimal is not supported"
    )
    undone = {r["activity"]["name"]: r["status"] for r in journal["rollbacks"]}
    assert undone == {"stop-the-load": "succeeded", "heal-every-fault": "succeeded"}
