"""Readiness waits fail fast with the log tail when a daemon dies, and on timeout."""

from __future__ import annotations

import time

import pytest

from aftershock.errors import ComponentFailed
from aftershock.sandbox.processes import DaemonSpec, spawn, stop
from aftershock.sandbox.readiness import wait_until


def test_a_daemon_that_exits_fails_the_wait_at_once_with_its_log(tmp_path) -> None:
    spec = DaemonSpec(
        "broken", ["sh", "-c", "echo 'FATAL: bad config line 3'; exit 3"], tmp_path / "b.log"
    )
    proc, _ = spawn(spec)
    began = time.monotonic()
    with pytest.raises(ComponentFailed) as failed:
        wait_until("broken", lambda: False, timeout=30, watch={"broken": (proc, spec.log)})
    assert time.monotonic() - began < 5
    assert failed.value.component == "broken"
    assert "exited with code 3" in str(failed.value)
    assert "FATAL: bad config line 3" in failed.value.log_tail


def test_a_timeout_names_the_component_and_carries_the_log(tmp_path) -> None:
    spec = DaemonSpec("slow", ["sh", "-c", "echo still warming up; sleep 30"], tmp_path / "s.log")
    proc, running = spawn(spec)
    try:
        with pytest.raises(ComponentFailed, match=r"slow: not ready after 1 s") as failed:
            wait_until("slow", lambda: False, timeout=1, watch={"slow": (proc, spec.log)})
        assert "still warming up" in failed.value.log_tail
    finally:
        stop([running])


def test_a_check_that_raises_counts_as_not_ready_yet() -> None:
    calls = []

    def flaky() -> bool:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionRefusedError
        return True

    assert wait_until("flaky", flaky, timeout=5, interval=0.01) < 5
    assert len(calls) == 3
