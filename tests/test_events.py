"""The event path on a real sandbox: brokers, mirrors, outbox, relays, consumers, and its checks.

Each check is shown able to fail on the real platform: events deleted,
doubled, invented, or never relayed are named by key.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from loads import fast_load, locust_running
from sandbox_probes import wait_for

from aftershock.config.topology import Topology
from aftershock.controls.lag_recorder import Recorder
from aftershock.load import history
from aftershock.load.runner import registry_path
from aftershock.load.runs import LAG_FILE
from aftershock.sandbox import (
    brokers,
    event_reads,
    event_streams,
    eventing,
    nft,
    status,
)
from aftershock.sandbox.state import load_credentials
from aftershock.targets.local import events as event_faults
from aftershock.targets.local import heal_all, ledger
from probes import events as event_probes

pytestmark = pytest.mark.sandbox


def config(topology: Topology) -> dict[str, Any]:
    return {
        "aftershock_sandbox": topology.name,
        "aftershock_state_root": str(topology.state_root),
    }


def run_load(
    topology: Topology, run_dir: Path, seconds: float, during: Any = None
) -> tuple[Path, str]:
    """A short load through the edge; `during()` runs while it does.

    Returns the run directory and the prefix of every Idempotency-Key it used.
    """
    settings = fast_load(topology, run_dir, duration=seconds)
    registry = registry_path(topology.state_root, topology.name)
    with locust_running(settings, registry) as (_, proc):
        if during is not None:
            during()
        proc.wait(timeout=seconds + 60)
    return run_dir, f"{settings.run_id}-"


def test_status_shows_each_broker_mirror_relay_and_consumer(whole_sandbox: Topology) -> None:
    rows = status.collect(whole_sandbox, load_credentials(whole_sandbox))
    kinds = {(r.component, r.region): r for r in rows}
    for region in ("taiwan", "tokyo"):
        assert kinds[("broker", region)].health == "healthy"
        assert kinds[("mirror", region)].health == "in sync"
        assert "msgs" in kinds[("mirror", region)].lag
        assert kinds[("relay", region)].health == "connected"
        assert kinds[("fulfil", region)].health == "consuming"


def test_a_cut_link_holds_events_back_and_they_drain_after_the_heal(
    whole_sandbox: Topology, tmp_path: Path
) -> None:
    cfg = config(whole_sandbox)
    seen: dict[str, Any] = {}

    def cut_and_heal() -> None:
        time.sleep(2)
        event_faults.cut_mirror_link(whole_sandbox)
        seen["grew"] = event_probes.backlog_grows(4, configuration=cfg)
        event_faults.heal_mirror_link(whole_sandbox)
        seen["drain"] = event_probes.drain(60, configuration=cfg)

    run_dir, _ = run_load(whole_sandbox, tmp_path / "run", 14, cut_and_heal)
    assert seen["grew"]["valid"] is True, seen["grew"]["reason"]
    assert seen["drain"]["valid"] is True, seen["drain"]["reason"]
    assert seen["grew"]["samples"][-1]["messages"] > 0, "nothing was held back when healed"
    result = event_probes.total_queue(30, str(run_dir), configuration=cfg)
    assert result["valid"] is True, result["reason"]
    assert result["acknowledged"] > 20


def test_the_total_queue_check_names_deleted_doubled_and_invented_events(
    whole_sandbox: Topology, tmp_path: Path
) -> None:
    cfg = config(whole_sandbox)
    run_dir, prefix = run_load(whole_sandbox, tmp_path / "run", 6)
    honest = event_probes.total_queue(30, str(run_dir), configuration=cfg)
    assert honest["valid"] is True, honest["reason"]
    creds = load_credentials(whole_sandbox)
    records = history.read(run_dir / history.HISTORY_FILE).records
    acked = {key for key, _ in history.acknowledged(history.operations(records))}
    own = [
        e
        for e in event_streams.read_events(whole_sandbox, "taiwan", creds, "orders")
        if e.key in acked
    ]
    assert len(own) >= 2, "taiwan took too few orders to tamper with"
    deleted, doubled = own[0], own[1]

    async def tamper(js: Any) -> None:
        await js.delete_msg("orders", deleted.seq)
        # The same order's event again, without the dedup its Nats-Msg-Id gives.
        await js.publish("orders.taiwan", json.dumps({"key": doubled.key}).encode())
        await js.publish("orders.taiwan", json.dumps({"key": prefix + "never-ordered"}).encode())

    event_streams.with_jetstream(whole_sandbox, "taiwan", creds, tamper)
    result = event_probes.total_queue(3, str(run_dir), configuration=cfg)
    assert result["valid"] is False
    assert deleted.key in result["regions"]["taiwan"]["lost_events"]["keys"]
    assert deleted.key not in result["regions"]["tokyo"]["lost_events"]["keys"]
    assert doubled.key in result["duplicated"]["keys"]
    assert prefix + "never-ordered" in result["unexpected"]["keys"]


def test_a_relay_stopped_for_good_loses_events_not_unknown(
    whole_sandbox: Topology, tmp_path: Path
) -> None:
    cfg = config(whole_sandbox)
    event_faults.stop_relay(whole_sandbox, "taiwan")
    run_dir, _ = run_load(whole_sandbox, tmp_path / "run", 6)
    result = event_probes.total_queue(5, str(run_dir), configuration=cfg)
    assert result["valid"] is False
    assert result["lost"]["count"] > 0
    backlog = event_reads.outbox_backlog(whole_sandbox)
    # Every lost event is still in the outbox, waiting for a relay: lost, not unknown.
    assert backlog["taiwan"]["rows"] >= result["lost"]["count"]
    heal_all(whole_sandbox)
    assert not ledger(whole_sandbox).entries()
    healed = event_probes.total_queue(60, str(run_dir), configuration=cfg)
    assert healed["valid"] is True, healed["reason"]


def test_event_faults_are_undone_by_heal_and_healing_twice_is_harmless(
    whole_sandbox: Topology,
) -> None:
    event_faults.pause_broker(whole_sandbox, "tokyo")
    event_faults.stall_consumer(whole_sandbox, "taiwan")
    event_faults.cut_mirror_link(whole_sandbox)
    assert not brokers.healthy(whole_sandbox, "tokyo")
    assert len(ledger(whole_sandbox).entries()) == 3
    heal_all(whole_sandbox)
    heal_all(whole_sandbox)
    assert not ledger(whole_sandbox).entries()
    assert brokers.healthy(whole_sandbox, "tokyo")
    wait_for(lambda: brokers.linked(whole_sandbox), what="the link back")
    wait_for(lambda: eventing.consuming(whole_sandbox, "taiwan"), what="taiwan consuming")


def test_a_broker_killed_under_load_loses_no_event_but_the_dual_write_does(
    whole_sandbox: Topology, tmp_path: Path
) -> None:
    """The same crash twice: with the outbox, then with the shops publishing after the commit.

    The shops run with degraded readiness meanwhile, so taiwan keeps taking
    orders while its broker is dead and both runs place orders into the outage.
    """
    cfg = config(whole_sandbox)

    def crash() -> None:
        time.sleep(2)
        event_faults.kill_broker(whole_sandbox, "taiwan")
        time.sleep(4)
        event_faults.start_broker(whole_sandbox, "taiwan")

    try:
        restart_shops(whole_sandbox, readiness_policy="degraded")
        run_dir, _ = run_load(whole_sandbox, tmp_path / "outbox", 9, crash)
        kept = event_probes.total_queue(45, str(run_dir), configuration=cfg)
        assert kept["acknowledged"] > 20
        assert kept["valid"] is True, kept["reason"]

        restart_shops(whole_sandbox, readiness_policy="degraded", events="direct")
        run_dir, _ = run_load(whole_sandbox, tmp_path / "direct", 9, crash)
        lost = event_probes.total_queue(5, str(run_dir), configuration=cfg)
    finally:
        restart_shops(whole_sandbox, readiness_policy="strict", events="outbox")
    assert lost["acknowledged"] > 20
    assert lost["valid"] is False
    assert lost["lost"]["count"] > 0, "the dual write lost nothing: the test proves nothing"
    assert lost["reason"].startswith(f"{lost['lost']['count']} lost")


def restart_shops(topology: Topology, **settings: str) -> None:
    """Restart both shops with changed settings (their config file, then the same command)."""
    from aftershock.targets.local import service

    for region in ("taiwan", "tokyo"):
        path = topology.site_dir(region) / "shop.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), **settings}))
        service.kill_shop(topology, region)
        service.start_shop(topology, region)


def test_backlog_grows_says_no_when_nothing_holds_the_mirrors_back(
    whole_sandbox: Topology, tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}

    def watch() -> None:
        time.sleep(1)
        seen["grew"] = event_probes.backlog_grows(3, configuration=config(whole_sandbox))

    run_load(whole_sandbox, tmp_path / "run", 6, watch)
    assert seen["grew"]["valid"] is False, seen["grew"]
    assert "the cut held nothing back" in seen["grew"]["reason"]


def test_a_mirror_held_back_outside_any_fault_fails_the_mirror_lag_alarm(
    whole_sandbox: Topology, tmp_path: Path
) -> None:
    """The link degraded without the harness knowing (no ledger entry): the recorder sees it."""
    cfg = config(whole_sandbox) | {"aftershock_run_dir": str(tmp_path / "run")}
    recorder = Recorder(cfg, tmp_path / "run" / LAG_FILE, 1.0, 2.0)
    thread = threading.Thread(target=recorder.run, daemon=True)

    def hold_back() -> None:
        thread.start()
        time.sleep(2)
        for region in ("taiwan", "tokyo"):
            rules = event_faults.mirror_link_ruleset(whole_sandbox, region)
            nft.apply(whole_sandbox, region, rules)
        try:
            time.sleep(13)
        finally:
            for region in ("taiwan", "tokyo"):
                nft.delete_table(whole_sandbox, region, event_faults.MIRROR_LINK_TABLE)

    run_dir, _ = run_load(whole_sandbox, tmp_path / "run", 20, hold_back)
    recorder.stop.set()
    thread.join(10)
    result = event_probes.mirror_lag_under_load(0, str(run_dir), configuration=cfg)
    assert result["valid"] is False, result["reason"]
    assert result["max_s"] > 10, result
    assert "over 10 s" in result["reason"]
