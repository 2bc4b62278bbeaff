"""The verdicts control: a value its tolerance cannot read fails that verdict, and only that one."""

from __future__ import annotations

from typing import Any

from aftershock.controls import verdicts
from aftershock.report.figures import verdict_rows
from aftershock.runner.experiment import verdict_summary

LAG = {"type": "range", "range": [0, 1], "target": "max"}
COUNT = {"type": "range", "range": [0, 1], "target": "count"}


def experiment() -> dict[str, Any]:
    return {
        "title": "t",
        "extensions": [
            {
                "name": "aftershock",
                "verdicts": [
                    {"name": "lag kept", "of": "lag during", "tolerance": LAG},
                    {"name": "one primary", "of": "count", "tolerance": COUNT},
                ],
            }
        ],
    }


def method(lag: Any) -> list[dict[str, Any]]:
    return [
        {"activity": {"name": "lag during"}, "status": "succeeded", "output": {"max": lag}},
        {"activity": {"name": "count"}, "status": "succeeded", "output": {"count": 1}},
    ]


def judged_journal(lag: Any) -> dict[str, Any]:
    """The journal the control leaves when the method measured `lag`."""
    planned = experiment()
    verdicts.after_method_control(None, method(lag), {}, {}, planned)
    journal: dict[str, Any] = {"status": "completed", "experiment": planned}
    verdicts.after_experiment_control(None, journal, planned)
    return journal


def test_a_value_the_tolerance_cannot_read_fails_its_verdict_with_the_reason() -> None:
    journal = judged_journal(None)  # a lag probe that measured nothing
    lag, primary = journal["aftershock_verdicts"]
    assert lag["tolerance_met"] is False
    assert "the tolerance cannot judge {'max': None}" in lag["exception"][0]
    assert primary["tolerance_met"] is True  # the other verdicts are still judged
    assert journal["deviated"] is True
    (problem,) = verdict_summary(journal)
    assert problem.startswith("verdict lag kept could not look: the tolerance cannot judge")
    rows = {row["name"]: row for row in verdict_rows(journal)}
    assert rows["lag kept"]["met"] is False
    assert "cannot judge" in rows["lag kept"]["reason"]
    assert rows["one primary"]["met"] is True


def test_a_readable_value_is_judged_as_before() -> None:
    kept = judged_journal(0.2)
    assert [v["tolerance_met"] for v in kept["aftershock_verdicts"]] == [True, True]
    assert verdict_summary(kept) == []
    behind = judged_journal(3.5)
    assert verdict_summary(behind) == [
        'verdict lag kept: tolerance {"type": "range", "range": [0, 1], "target": "max"} '
        'not met by {"max": 3.5}'
    ]


def test_a_method_a_safeguard_stopped_still_judges_what_it_saw() -> None:
    """The lag seen while the fault held stands; one whose activity never ran is not judged."""
    planned = experiment()
    journal: dict[str, Any] = {
        "status": "interrupted",
        "experiment": planned,
        "run": method(3.5)[:1],
    }
    verdicts.after_experiment_control(None, journal, planned)
    (lag,) = journal["aftershock_verdicts"]
    assert lag["name"] == "lag kept"
    assert lag["tolerance_met"] is False
    assert journal["deviated"] is True
    assert "only the verdicts of what it saw" in journal["aftershock_verdicts_note"]


def test_an_interrupted_method_judges_nothing() -> None:
    planned = experiment()
    verdicts.mark_interrupted(planned)
    journal: dict[str, Any] = {"status": "interrupted", "experiment": planned, "run": method(3.5)}
    verdicts.after_experiment_control(None, journal, planned)
    assert journal["aftershock_verdicts"] == []
    assert journal["aftershock_verdicts_note"] == "the method did not finish: no verdict was judged"
