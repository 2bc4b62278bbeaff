"""Each verdict fails for the reason it names: the platform is broken on purpose, the gate says so.

The gate runs in a subprocess, as an operator runs it. Every case of
`CASES` runs on a sandbox of its own, several at once (`breakage_runs`),
with one breakage of the library applied from outside: never declared
to the experiment, which must find it. Two runs stay on the shared
sandbox, alone: the healthy database failover and the 35 s lease (beside
four other gates its failover stretched past the safeguard's 60 s).
The verdict matrix (`experiments/verdicts.yaml`) names these tests.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from breakage_runs import HOLD_S, Case, Run, Runs, chosen, run_cases, verdict_line
from sandbox_probes import require_sandbox_host

from aftershock.breakages import apply as breaking
from aftershock.config.topology import Topology
from aftershock.load.runner import registry_path, running
from aftershock.targets.local.common import ledger

pytestmark = [pytest.mark.sandbox, pytest.mark.many_sandboxes]

ROOT = Path(__file__).resolve().parents[1]


def gate(topology: Topology, experiment: str, results: Path) -> list[str]:
    """The command that runs one experiment on the shared sandbox as the gate does."""
    return [
        sys.executable, "-m", "pytest", "experiments", "-k", experiment, "--sandbox",
        topology.name, "--reuse-sandbox", "--results", str(results), "-p", "no:cacheprovider",
    ]  # fmt: skip


def environment() -> dict[str, str]:
    return {**os.environ, "AFTERSHOCK_HOLD_BUDGET_S": HOLD_S}


def run_gate(
    topology: Topology, experiment: str, results: Path, hold_s: str = HOLD_S
) -> tuple[int, str]:
    """Run one experiment through the gate to its end; its exit code and output."""
    done = subprocess.run(
        gate(topology, experiment, results), cwd=ROOT,
        env={**environment(), "AFTERSHOCK_HOLD_BUDGET_S": hold_s},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def journal(results: Path, experiment: str) -> dict:
    [path] = results.glob(f"gate-*/{experiment}/journal.json")
    return json.loads(path.read_text())


def kill_the_load(topology: Topology) -> None:
    """Locust SIGKILLed before the fault, as an OOM kill would do it."""
    load = running(registry_path(topology.state_root, topology.name))
    assert load is not None
    assert not ledger(topology).entries(), "the fault came before the load was killed"
    os.killpg(load.pid, signal.SIGKILL)


def relay_killed_consumer_frozen(topology: Topology) -> None:
    """Taiwan's relay dies and its fulfilment consumer hangs: two breakages at once."""
    breaking.apply(topology, "relay_killed", region="taiwan")
    breaking.apply(topology, "consumer_frozen", region="taiwan")


def mirror_stalled_with_a_backlog(topology: Topology) -> None:
    """The mirror link stalls as the experiment begins, with events already owed to it.

    Three orders placed at once through the edge publish events the mirrors
    never get: their age is the mirror lag every sample then measures.
    """
    breaking.apply(topology, "mirror_link_blocked")
    for _ in range(3):
        request = urllib.request.Request(  # noqa: S310 - the sandbox's own edge, over http
            f"{topology.edge_url}/orders",
            data=json.dumps({"items": [{"product_id": 9, "quantity": 1}]}).encode(),
            headers={"Idempotency-Key": f"stall-{uuid.uuid4().hex}", "X-Geo": "TW",
                     "Content-Type": "application/json"},
            method="POST",
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=5):  # noqa: S310
            pass


DRAIN_10S = {"promise_drain_s": 10}
QUEUE_5S = {"AFTERSHOCK_QUEUE_DEADLINE_S": "5"}  # what is missing after the load stays missing

CASES = {
    # failover
    "no-failover": Case("region-outage", "failover_paused"),
    "no-successor": Case("database-failover", "no_successor"),
    "read-only-writer": Case(
        "network-partition", "writer_read_only", when="at_fault:partition_regions"
    ),
    "failback-broken": Case(
        "region-outage",
        "checkout_off",
        {"region": "taiwan"},
        when="at_undo:isolate_region",
    ),
    # evidence
    "load-dies": Case("region-outage", custom=kill_the_load, when="under_load"),
    "load-frozen": Case("baseline", "load_frozen", when="under_load", for_s=12),
    # orders
    "orders-lost": Case("region-outage", "orders_lost", {"one_in": 5, "seed": 7}),
    # replication lag: database, catalog cache, event mirrors
    "replay-paused": Case("baseline", "replay_paused", when="under_load", for_s=10),
    # Asynchronous replication: a squeezed link shows as lag (a synchronous one as latency).
    "wal-starved": Case(
        "baseline",
        "wal_starved",
        when="under_load",
        sandbox_options=("--replication", "async"),
    ),
    "cache-detached": Case("baseline", "replica_detached", when="under_load"),
    "stale-catalog": Case("cache-failover", "stale_catalog", {"catalog_stale_s": 600}),
    "stale-catalog-baseline": Case("baseline", "stale_catalog", {"catalog_stale_s": 600}),
    "follow-refused": Case("cache-failover", "follow_refused"),
    "shop-cut-off": Case("cache-failover", "shop_cut_off", when="under_load"),
    "mirror-stalled": Case(
        "event-mirror-outage",
        custom=mirror_stalled_with_a_backlog,
        when="at_start",
        until="at_fault:cut_mirror_link",
        budgets={"alarm_mirror_lag_s": 3},
    ),
    "mirror-dead": Case(
        "broker-crash",
        "mirror_link_blocked",
        when="under_load",
        budgets=DRAIN_10S,
        env=QUEUE_5S,
    ),
    # The alarm at 5 s (a target file's budgets may): the baseline's load runs 20 s, and a
    # link blocked once Locust is up leaves a backlog only about 10 s old by its end.
    "mirror-blocked": Case(
        "baseline", "mirror_link_blocked", when="under_load", budgets={"alarm_mirror_lag_s": 5}
    ),
    "monitor-refused": Case(
        "replication-lag",
        "monitoring_refused",
        when="at_fault:pause_replication_replay",
        delay_s=1.0,
    ),
    # events
    "relay-and-consumer": Case(
        "event-mirror-outage",
        custom=relay_killed_consumer_frozen,
        when="under_load",
        budgets=DRAIN_10S,
        env=QUEUE_5S,
    ),
    "retention-cut": Case("event-mirror-outage", "retention_cut", env=QUEUE_5S),
    "transit": Case("event-mirror-outage", "transit", {"dialer": "tokyo"}),
    # availability, latency, split
    "shedding": Case("baseline", "shedding"),
    "slow-tokyo": Case("baseline", "slow_region"),
    "geo-ignored": Case("baseline", "geo_ignored"),
}


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Every case's gate run, side by side on sandboxes of their own.

    `AFTERSHOCK_BREAKAGE_CASES=a,b` runs only those (the others' tests skip).
    """
    require_sandbox_host()
    return Runs(run_cases(chosen(CASES), tmp_path_factory.mktemp, "gv"))


def failed(run: Run, name: str) -> str:
    """The verdict `name`'s line in a gate run that failed, the breakage applied as asked."""
    assert not run.breaking, run.breaking
    assert run.code == 1, run.text[-4000:]
    return verdict_line(run.text, name)


def test_database_failover_promotes_tokyo_and_the_verdict_names_it(
    whole_sandbox: Topology, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = run_gate(whole_sandbox, "database-failover", tmp_path)
    assert code == 0, text
    verdicts = {v["name"]: v for v in journal(tmp_path, "database-failover")["aftershock_verdicts"]}
    took_over = verdicts["a-standby-took-over"]["output"]
    assert took_over["old_leader"] == "taiwan"
    assert took_over["leader"] == "tokyo"
    assert 0 < took_over["promotion_s"] < 30, took_over
    failover = verdicts["failover-within-the-design-claim"]["output"]
    assert failover["claim"]["valid"] is True
    with capsys.disabled():
        print(
            f"\n[measured] database-failover: tokyo promoted {took_over['promotion_s']:.1f} s "
            f"after the crash; detection {failover['detection_s']} s, failover "
            f"{failover['seconds']} s, failback errors {failover['failback']['errors']}"
        )


def test_a_platform_that_does_not_fail_over_fails_the_failover_verdicts(
    broken: dict[str, Run], capsys: pytest.CaptureFixture[str]
) -> None:
    run = broken["no-failover"]
    promise = failed(run, "failover-within-the-promise")
    assert "did not fail over: recovered only after the undo of isolate_region taiwan" in promise
    assert verdict_line(run.text, "failover-within-the-design-claim")
    failover = run.verdicts("region-outage")["failover-within-the-promise"]["output"]
    assert failover["held_s"] >= float(HOLD_S)  # the fault was held for the whole budget
    assert failover["failback"]["recovered"] is True
    # The hold that exists for this very case says so, and does not crash on its budget.
    [hold] = [r for r in run.journal("region-outage")["run"]
              if r["activity"]["name"] == "hold-until-recovered"]  # fmt: skip
    assert hold["status"] == "succeeded", hold.get("exception")
    assert hold["output"]["recovered"] is False
    assert hold["output"]["reason"].startswith(f"not recovered within {HOLD_S} s")
    with capsys.disabled():
        print(
            f"\n[measured] failover paused: held {failover['held_s']:.1f} s, detection "
            f"{failover['detection_s']} s, recovered {failover['failback']['seconds']} s "
            "after the undo only"
        )


def test_a_failover_slower_than_the_design_claim_keeps_only_the_promise(
    whole_sandbox: Topology, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # On the shared sandbox, alone: beside four other gates the 40 s lease stretched the
    # failover past 60 s, where the safeguard stops the experiment (seen in CI).
    # 35 s, not 40: its failover must stay clear of the safeguard (50 % errors for 60 s).
    with breaking.broken(whole_sandbox, "slow_lease", ttl_s=35):
        code, text = run_gate(whole_sandbox, "database-failover", tmp_path, hold_s="75")
    assert code == 1, text
    claim = verdict_line(text, "failover-within-the-design-claim")
    assert "beyond 30 s" in claim, claim
    verdicts = {v["name"]: v for v in journal(tmp_path, "database-failover")["aftershock_verdicts"]}
    assert verdicts["failover-within-the-promise"]["tolerance_met"] is True
    assert verdicts["a-standby-took-over"]["tolerance_met"] is True
    failover = verdicts["failover-within-the-design-claim"]["output"]
    assert 30 < failover["seconds"] < 300
    with capsys.disabled():
        print(f"\n[measured] 35 s lease: failover {failover['seconds']} s, beyond the 30 s claim")


def test_a_standby_that_may_not_take_over_fails_a_standby_took_over(
    broken: dict[str, Run],
) -> None:
    run = broken["no-successor"]
    line = failed(run, "a-standby-took-over")
    assert "no node takes writes" in line, line
    promise = verdict_line(run.text, "failover-within-the-promise")
    assert "did not fail over" in promise, promise


def test_a_writer_lost_in_the_partition_fails_one_primary_and_the_failover(
    broken: dict[str, Run],
) -> None:
    """Zero primaries all through the partition: "at most one" passed it, "exactly one" does not."""
    run = broken["read-only-writer"]
    early = failed(run, "one-primary-early-in-the-partition")
    assert '"count": 0' in early or "'count': 0" in early or '"count":0' in early, early
    assert verdict_line(run.text, "one-primary-late-in-the-partition")
    promise = verdict_line(run.text, "failover-within-the-promise")
    assert "did not fail over" in promise, promise
    primaries = run.verdicts("network-partition")["one-primary-early-in-the-partition"]["output"]
    assert primaries["read_only_primaries"] == ["taiwan"]


def test_a_region_that_fails_checkouts_after_the_failback_fails_the_last_5s(
    broken: dict[str, Run],
) -> None:
    run = broken["failback-broken"]
    line = failed(run, "error-rate-of-the-last-5s-under-1pct")
    assert "tolerance" in line, line
    rate = run.verdicts("region-outage")["error-rate-of-the-last-5s-under-1pct"]["output"]["rate"]
    assert rate > 0.01


def test_a_load_that_dies_before_the_fault_fails_load_coverage(broken: dict[str, Run]) -> None:
    line = failed(broken["load-dies"], "load-covered-the-experiment")
    assert "the load did not cover the experiment" in line, line
    assert "no request while isolate_region taiwan" in line, line
    assert "it crashed" in line, line


def test_a_load_frozen_for_a_while_fails_load_coverage(broken: dict[str, Run]) -> None:
    """Locust stopped (not dead) for 12 s: the samples thinned to nothing, and a verdict over
    that stretch would judge what nobody looked at (in a fault, blame the platform for it)."""
    line = failed(broken["load-frozen"], "load-covered-the-experiment")
    assert "the load sent nothing for 1" in line, line


def test_orders_deleted_after_their_commit_fail_order_integrity_naming_them(
    broken: dict[str, Run],
) -> None:
    run = broken["orders-lost"]
    line = failed(run, "zero-lost-or-duplicated-orders")
    deleted = run.touched["deleted"]
    assert deleted, "the job deleted nothing"
    output = run.verdicts("region-outage")["zero-lost-or-duplicated-orders"]["output"]
    acknowledged_deleted = set(deleted) & set(output["lost"])
    assert acknowledged_deleted, (deleted, output["lost"])
    assert set(output["lost"]) <= set(deleted)  # every key it names, the job set out to delete
    assert output["lost"][0] in line


def test_a_replica_that_stops_applying_wal_under_load_fails_the_lag_promise(
    broken: dict[str, Run],
) -> None:
    """Healthy before and after: only the samples taken under load can catch it."""
    run = broken["replay-paused"]
    line = failed(run, "lag-under-1s-under-load")
    assert "samples over 1 s" in line, line
    hypothesis = run.journal("baseline")["steady_states"]
    assert all(p["tolerance_met"] for p in hypothesis["after"]["probes"]), "healthy after"


def test_a_replication_link_starved_under_load_fails_the_lag_promise(
    broken: dict[str, Run],
) -> None:
    line = failed(broken["wal-starved"], "lag-under-1s-under-load")
    assert "samples over 1 s" in line, line


def test_a_catalog_copy_detached_for_the_whole_baseline_fails_the_cache_lag(
    broken: dict[str, Run],
) -> None:
    """Tokyo's copy cut loose: two copies call themselves primary, and no sample can pass."""
    run = broken["cache-detached"]
    line = failed(run, "cache-lag-under-1s-under-load")
    assert "could not measure" in line, line
    assert "no single primary" in line, line
    summary = run.summary()
    assert summary["score"] < 100


def test_a_shop_serving_its_own_stale_catalog_fails_the_stale_read_verdicts(
    broken: dict[str, Run],
) -> None:
    run = broken["stale-catalog"]
    stale = failed(run, "no-stale-catalog-read-over-1s")
    assert '"tokyo": null' in stale, stale
    # Under load, where no fault window excuses it, the recorder's stale reads catch it too.
    under_load = failed(broken["stale-catalog-baseline"], "cache-lag-under-1s-under-load")
    assert "capped" in under_load, under_load


def test_a_copy_that_cannot_follow_the_new_primary_fails_the_cache_lag_after_failover(
    broken: dict[str, Run],
) -> None:
    run = broken["follow-refused"]
    line = failed(run, "cache-lag-under-1s-after-failover")
    output = run.verdicts("cache-failover")["cache-lag-under-1s-after-failover"]["output"]
    assert output["capped"] is True, line
    assert output["replica"] == "taiwan"


def test_a_shop_that_cannot_reach_the_new_cache_primary_fails_the_follow_verdict(
    broken: dict[str, Run],
) -> None:
    line = failed(broken["shop-cut-off"], "both-shops-follow-the-new-primary")
    assert "taiwan did not write to tokyo's copy" in line, line


def test_a_mirror_stalled_just_before_the_cut_fails_the_mirror_lag(
    broken: dict[str, Run],
) -> None:
    """Mirror lag looks back: the samples before the cut owe events published before it.

    Excluded as if it looked forward, as it was, they fell into the cut's
    window and the verdict passed. The alarm is tightened to 3 s (a target
    file's budgets may): the load sends 8 s before the cut, and under CI's
    contention the stall began up to 3 s late (a 5 s alarm passed it).
    """
    run = broken["mirror-stalled"]
    line = failed(run, "mirror-lag-under-the-alarm-under-load")
    assert "samples over 3 s" in line, line
    output = run.verdicts("event-mirror-outage")["mirror-lag-under-the-alarm-under-load"]["output"]
    cut = next(r["start"] for r in _runs(run, "event-mirror-outage", "cut-the-mirror-link"))
    assert all(_epoch(cut) > float(o["t"]) for o in output["over"]), (cut, output["over"])


def _runs(run: Run, experiment: str, name: str) -> list[dict]:
    return [r for r in run.journal(experiment)["run"] if r["activity"]["name"] == name]


def _epoch(stamp: str) -> float:
    """A journal's time (chaoslib writes UTC, naive) as epoch seconds."""
    from datetime import UTC, datetime

    when = datetime.fromisoformat(stamp)
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def test_a_mirror_link_blocked_under_load_fails_the_mirror_alarm(broken: dict[str, Run]) -> None:
    line = failed(broken["mirror-blocked"], "mirror-lag-under-the-alarm-under-load")
    assert "samples over 5 s" in line, line


def test_a_dead_mirror_link_fails_the_mirror_hypothesis_and_the_drain(
    broken: dict[str, Run],
) -> None:
    """Dead since the load began: the drain after the broker's restart cannot finish, and the
    hypothesis checked after the method sees the mirrors far behind."""
    run = broken["mirror-dead"]
    drain = failed(run, "events-drained-within-the-promise")
    assert "not drained within 10 s" in drain, drain
    assert any(
        x.startswith("steady state after the method: probe mirrors-within-the-alarm")
        for x in run.text.splitlines()
    ), run.text[-3000:]


def test_a_replica_the_monitoring_cannot_reach_fails_the_lag_alarm(
    broken: dict[str, Run],
) -> None:
    run = broken["monitor-refused"]
    assert not run.breaking, run.breaking
    # 3 as well as 1: the experiment's own undo cannot reach the replica either.
    assert run.code in (1, 3), run.text[-4000:]
    line = verdict_line(run.text, "the-lag-alarm-fires")
    assert "could not look" in line, line


def test_a_stuck_relay_and_a_frozen_consumer_fail_the_drain_and_total_queue_verdicts(
    broken: dict[str, Run],
) -> None:
    """The outbox is never drained after the heal, and taiwan's deliveries go missing."""
    run = broken["relay-and-consumer"]
    drain = failed(run, "events-drained-within-the-promise")
    assert "not drained within 10 s" in drain, drain
    assert "outbox taiwan" in drain, drain
    assert "lost" in verdict_line(run.text, "every-acknowledged-order-has-one-event-everywhere")
    queue = run.verdicts("event-mirror-outage")["every-acknowledged-order-has-one-event-everywhere"]
    regions = queue["output"]["regions"]
    assert regions["taiwan"]["undelivered"]["count"] > 0, regions
    # Taiwan's orders never left its outbox: no region holds their events.
    assert regions["tokyo"]["lost_events"]["count"] > 0, regions


def test_a_copy_that_keeps_events_for_a_second_fails_the_total_queue(
    broken: dict[str, Run],
) -> None:
    run = broken["retention-cut"]
    line = failed(run, "every-acknowledged-order-has-one-event-everywhere")
    assert "lost" in line, line
    queue = run.verdicts("event-mirror-outage")["every-acknowledged-order-has-one-event-everywhere"]
    assert queue["output"]["regions"]["tokyo"]["lost_events"]["count"] > 0


def test_a_mirror_link_routed_around_the_cut_fails_backlog_grew(broken: dict[str, Run]) -> None:
    line = failed(broken["transit"], "backlog-grew-while-cut")
    assert "the cut held nothing back" in line, line


def test_a_region_shedding_load_fails_the_error_rate(broken: dict[str, Run]) -> None:
    line = failed(broken["shedding"], "error-rate-under-1pct")
    assert "rate" in line, line


def test_a_slow_region_fails_the_latency_promise(broken: dict[str, Run]) -> None:
    line = failed(broken["slow-tokyo"], "p95-under-500ms")
    assert "p95" in line, line


def test_a_router_that_ignores_geo_fails_the_split(broken: dict[str, Run]) -> None:
    line = failed(broken["geo-ignored"], "sixty-forty-split")
    assert '"shares": {"taiwan": 1.0}' in line, line


HYPOTHESES = {
    "no-oversell": ("phantom_stock", {}),
    "replication-lag-under-1s": ("replay_paused", {"region": "tokyo"}),
    "tokyo-ready": ("shop_frozen", {"region": "tokyo"}),
    "taiwan-ready": ("shop_frozen", {"region": "taiwan"}),
}


@pytest.mark.parametrize("probe", list(HYPOTHESES))
def test_a_platform_broken_before_the_run_fails_the_steady_state_hypothesis(
    whole_sandbox: Topology, tmp_path: Path, probe: str
) -> None:
    """Broken before the experiment: the hypothesis checked before the method says which part."""
    name, params = HYPOTHESES[probe]
    with breaking.broken(whole_sandbox, name, **params):
        time.sleep(1.5)  # the edge's checks see a hung shop
        code, text = run_gate(whole_sandbox, "baseline", tmp_path)
    assert code == 1, text[-3000:]
    lines = [x for x in text.splitlines() if x.startswith("steady state before the method:")]
    assert any(f"probe {probe}" in x for x in lines), lines or text[-3000:]
