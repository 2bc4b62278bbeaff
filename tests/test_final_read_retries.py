"""Final reads and the primaries count never turn a platform that is settling into a verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from aftershock.errors import EvidenceMissing
from aftershock.targets.local import final_reads, observe
from probes import replication


def test_a_transient_database_error_is_retried_until_the_read_works(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(final_reads.time, "sleep", lambda seconds: None)
    answers: list[Any] = [psycopg.errors.AdminShutdown("terminating connection"),
                          psycopg.OperationalError("connection refused"), "read"]  # fmt: skip

    def read() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert final_reads.retrying(read, "the final read") == "read"
    assert answers == []


def test_a_database_that_stays_away_is_could_not_look_not_a_pass() -> None:
    def read() -> str:
        raise psycopg.errors.AdminShutdown("terminating connection due to administrator command")

    with pytest.raises(EvidenceMissing, match="could not look: the final read failed for 0 s"):
        final_reads.retrying(read, "the final read", deadline_s=0)


def test_primaries_with_a_node_it_cannot_ask_is_could_not_look(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen = {"primaries": ["tokyo"], "count": 1, "unreachable": {"taiwan": "timeout expired"}}
    monkeypatch.setattr(observe, "primaries", lambda topology: seen)
    configuration = {"aftershock_sandbox": "sb", "aftershock_state_root": str(tmp_path)}
    with pytest.raises(EvidenceMissing, match="could not look: no answer from taiwan: timeout"):
        replication.primaries(configuration)
    seen["unreachable"] = {}
    assert replication.primaries(configuration)["count"] == 1
