"""Every probe on a real sandbox: it passes when the platform is healthy and fails when broken."""

from __future__ import annotations

import pytest

from aftershock.faults.target import FaultNotSupported
from aftershock.sandbox.topology import Topology
from aftershock.targets.local import database
from probes import replication

pytestmark = pytest.mark.sandbox


def config(topology: Topology) -> dict[str, str]:
    return {"aftershock_sandbox": topology.name, "aftershock_state_root": str(topology.state_root)}


def test_lag_probe_is_under_a_second_when_healthy_and_above_it_while_replay_is_paused(
    whole_sandbox: Topology, capsys: pytest.CaptureFixture[str]
) -> None:
    healthy = replication.lag_seconds(2.0, config(whole_sandbox))
    assert healthy["leader"] == "taiwan"
    assert healthy["max"] < 1.0, healthy
    assert healthy["replicas"]["tokyo"]["capped"] is False

    database.pause_replication_replay(whole_sandbox, "tokyo")
    try:
        paused = replication.lag_seconds(2.0, config(whole_sandbox))
    finally:
        database.resume_replication_replay(whole_sandbox, "tokyo")
    assert paused["max"] >= 1.0, paused
    assert paused["replicas"]["tokyo"]["capped"] is True

    resumed = replication.lag_seconds(2.0, config(whole_sandbox))
    assert resumed["max"] < 1.0, resumed
    with capsys.disabled():
        print(
            f"\n[measured] heartbeat lag: healthy {healthy['max'] * 1000:.0f} ms, "
            f"paused >= {paused['max']:.1f} s (capped), resumed {resumed['max'] * 1000:.0f} ms"
        )


def test_lag_probe_refuses_targets_it_cannot_measure() -> None:
    with pytest.raises(FaultNotSupported, match="not supported by target aws"):
        replication.lag_seconds(1.0, {"aftershock_target": "aws"})
