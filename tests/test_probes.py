"""Lag and health probes on a real sandbox: they pass when healthy and fail when broken."""

from __future__ import annotations

import pytest
from sandbox_probes import wait_for

from aftershock.config.target import FaultNotSupported
from aftershock.config.topology import REGIONS, Topology
from aftershock.errors import SandboxError
from aftershock.targets.local import cache, database
from probes import health, replication

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
    with pytest.raises(FaultNotSupported, match="not supported by target k8s"):
        replication.lag_seconds(1.0, {"aftershock_target": "k8s"})


def test_region_ready_until_its_cache_dies_then_both_shop_and_edge_say_so(
    whole_sandbox: Topology,
) -> None:
    assert all(health.region_ready(r, config(whole_sandbox))["ready"] for r in REGIONS)
    cache.kill_cache(whole_sandbox, "tokyo")
    try:
        broken = health.region_ready("tokyo", config(whole_sandbox))
        assert broken["ready"] is False
        assert broken["shop"]["status"] == 503
        assert broken["shop"]["body"]["cache"] is False
        wait_for(
            lambda: health.region_ready("tokyo", config(whole_sandbox))["edge"] == "DOWN",
            timeout=10,
            what="the edge marks tokyo down",
        )
        assert health.region_ready("taiwan", config(whole_sandbox))["ready"] is True
    finally:
        cache.start_cache(whole_sandbox, "tokyo")
    wait_for(
        lambda: health.region_ready("tokyo", config(whole_sandbox))["ready"],
        timeout=10,
        what="tokyo ready again",
    )


def test_region_ready_refuses_an_unknown_region(whole_sandbox: Topology) -> None:
    with pytest.raises(SandboxError, match="unknown region 'osaka'"):
        health.region_ready("osaka", config(whole_sandbox))
