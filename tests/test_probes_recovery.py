"""The RTO probe on a real outage: a region cut off for 10 s under load.

Patroni's automatic failover is paused for the test, so the outage ends
exactly when the region is restored: the platform cannot recover sooner,
and HAProxy's health checks bound how much later it may. (With failover on,
recovery comes from the failover at about 9-11 s, so no outage-length bound
holds; that figure is printed by test_load's isolation test.)
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from loads import fast_load, locust_running
from sandbox_probes import wait_for

from aftershock.config.topology import REGIONS, Topology
from aftershock.load.runner import registry_path
from aftershock.sandbox import postgres
from aftershock.sandbox.haproxy import EDGE_PRESETS
from aftershock.sandbox.state import load_credentials
from aftershock.targets.ledger import Event
from aftershock.targets.local import region
from aftershock.targets.local.common import ledger
from probes import recovery

pytestmark = pytest.mark.sandbox

OUTAGE = 10.0
WRITE_CHECK_S = 0.25  # the write endpoint's `inter 250ms rise 1` (haproxy.SERVER_DEFAULTS)


def detection_seconds() -> float:
    """How long HAProxy may take to send traffic again once the region is back.

    The write endpoint's one passing check, then the edge's `rise` passing
    checks, plus one edge interval for the shop's pool to reconnect first.
    """
    edge = EDGE_PRESETS["fast"]
    return WRITE_CHECK_S + (edge.rise + 1) * edge.interval_ms / 1000


def test_rto_of_a_ten_second_isolation_lies_between_the_outage_and_its_detection(
    whole_sandbox: Topology, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = {
        "aftershock_sandbox": whole_sandbox.name,
        "aftershock_state_root": str(whole_sandbox.state_root),
    }
    creds = load_credentials(whole_sandbox)
    # Browsing-heavy: checkouts back off (0.2, 0.4, 0.8 s) in step after an outage
    # begins, and with many of them the timeline has gaps wider than 0.1 s.
    settings = fast_load(
        whole_sandbox, tmp_path / "run", users=60, spawn_rate=60.0, duration=OUTAGE + 20,
        task_weights="list=3,product=3,cart=1,checkout=1",
    )  # fmt: skip
    postgres.set_maintenance(whole_sandbox, creds, True)
    try:
        wait_for(
            lambda: all(postgres.in_maintenance(whole_sandbox, r) for r in REGIONS),
            timeout=10,
            what="failover paused on both nodes",
        )
        registry = registry_path(whole_sandbox.state_root, whole_sandbox.name)
        with locust_running(settings, registry) as (_, process):
            time.sleep(5)
            region.isolate_region(whole_sandbox, "taiwan")
            try:
                time.sleep(OUTAGE)
            finally:
                region.restore_region(whole_sandbox, "taiwan")
            assert process.wait(timeout=OUTAGE + 60) == 0
    finally:
        postgres.set_maintenance(whole_sandbox, creds, False)
    inject, heal = isolation_events(whole_sandbox)
    outage = heal.at - inject.at

    result = recovery.rto_seconds("isolate_region", configuration=cfg)
    assert result["valid"] is True, result  # placed within 0.1 s
    assert outage - 0.1 <= result["seconds"] <= outage + detection_seconds() + 0.1, result
    assert result["at_most"] - result["at_least"] <= 0.1 + 1e-6
    assert 0 <= result["seconds"] - result["at_most"] < 0.1
    late = recovery.rto_seconds("isolate_region", target_s=OUTAGE / 2, configuration=cfg)
    assert late["valid"] is False
    assert "beyond 5 s" in late["reason"]
    with capsys.disabled():
        print(
            f"\n[measured] taiwan isolated {outage:.2f} s, failover paused: RTO "
            f"{result['seconds']:.1f} s (recovered between {result['at_least']:.2f} and "
            f"{result['at_most']:.2f} s; bound {outage:.2f}-{outage + detection_seconds():.2f} s)"
        )


def isolation_events(topology: Topology) -> tuple[Event, Event]:
    events = [e for e in ledger(topology).events() if e.fault == "isolate_region"]
    inject = events[-2]
    heal = events[-1]
    assert (inject.event, heal.event, inject.id) == ("inject", "heal", heal.id)
    return inject, heal
