"""The aws driver's event path and global cache: MSK, MirrorMaker 2, Global Datastore.

Every AWS request is checked by botocore's Stubber against the service
model and the exact parameters; the Kubernetes and Kafka sides are shown
through the dry run, which prints each call without making it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from aws_stubs import EXAMPLE, OSAKA, TOKYO, FakeAws, context, fake, no_network, target

from aftershock.config.target_file import TargetFile, TargetFileInvalid, load
from aftershock.errors import SandboxError
from aftershock.runner import dry_run
from aftershock.targets.aws import FAULTS, OBSERVE, UNDO
from aftershock.targets.drivers import EXPERIMENTS

FIXTURES = (fake, no_network, target)
TW_MSK = (
    "arn:aws:kafka:ap-northeast-3:123456789012:cluster/seed-staging-events-taiwan/"
    "5f2c8e1a-9d3b-4c7e-a1f0-2b6d8e4c9a01-3"
)
GLOBAL = "ldgnf-seed-staging-cache"


def test_kill_broker_reboots_the_listed_msk_brokers_through_chaosaws(
    tmp_path: Path, fake: FakeAws, target: TargetFile
) -> None:
    ctx = context(tmp_path, fake, target)
    fake.identity()
    fake.expect("kafka", OSAKA, "reboot_broker", {"ClusterArn": TW_MSK, "BrokerIds": ["1"]},
                {"ClusterArn": TW_MSK, "ClusterOperationArn": "op"})  # fmt: skip
    done = FAULTS["kill_broker"](ctx, region="taiwan")
    assert done["calls"][-1]["via"] == "chaosaws.msk.actions.reboot_msk_broker"
    assert ctx.ledger.entries()[0].params["touched"]["broker_ids"] == ["1"]
    rebooting = {"ClusterInfo": {"ClusterArn": TW_MSK, "State": "REBOOTING_BROKER"}}
    active = {"ClusterInfo": {"ClusterArn": TW_MSK, "State": "ACTIVE"}}
    fake.expect("kafka", OSAKA, "describe_cluster_v2", {"ClusterArn": TW_MSK}, rebooting)
    fake.expect("kafka", OSAKA, "describe_cluster_v2", {"ClusterArn": TW_MSK}, active)
    UNDO["kill_broker"](ctx, region="taiwan")
    assert not ctx.ledger.entries()
    fake.done()


def global_group(primary: str) -> dict:
    members = [
        {"ReplicationGroupId": group, "ReplicationGroupRegion": region,
         "Role": "PRIMARY" if group == primary else "SECONDARY"}
        for group, region in (("seed-staging-cache-taiwan", OSAKA),
                              ("seed-staging-cache-tokyo", TOKYO))
    ]  # fmt: skip
    group = {"GlobalReplicationGroupId": GLOBAL, "Status": "available", "Members": members}
    return {"GlobalReplicationGroups": [group]}


def test_cache_failover_promotes_the_regions_member_and_its_undo_restores_the_primary(
    tmp_path: Path, fake: FakeAws, target: TargetFile
) -> None:
    ctx = context(tmp_path, fake, target)
    ask = {"GlobalReplicationGroupId": GLOBAL, "ShowMemberInfo": True}
    fake.expect("elasticache", OSAKA, "describe_global_replication_groups", ask,
                global_group("seed-staging-cache-taiwan"))  # fmt: skip
    fake.identity()
    fake.expect("elasticache", TOKYO, "failover_global_replication_group",
                {"GlobalReplicationGroupId": GLOBAL, "PrimaryRegion": TOKYO,
                 "PrimaryReplicationGroupId": "seed-staging-cache-tokyo"})  # fmt: skip
    # asynchronous: the fault waits until tokyo's member leads
    fake.expect("elasticache", OSAKA, "describe_global_replication_groups", ask,
                global_group("seed-staging-cache-taiwan"))  # fmt: skip
    fake.expect("elasticache", OSAKA, "describe_global_replication_groups", ask,
                global_group("seed-staging-cache-tokyo"))  # fmt: skip
    FAULTS["fail_over_cache"](ctx, region="tokyo")
    fake.expect("elasticache", OSAKA, "describe_global_replication_groups", ask,
                global_group("seed-staging-cache-tokyo"))  # fmt: skip
    assert OBSERVE["cache_primary"](ctx)["primary"] == "tokyo"
    status = {"GlobalReplicationGroupId": GLOBAL, "ShowMemberInfo": False}
    fake.expect("elasticache", OSAKA, "describe_global_replication_groups", status,
                global_group("seed-staging-cache-tokyo"))  # fmt: skip
    fake.expect("elasticache", OSAKA, "describe_global_replication_groups", ask,
                global_group("seed-staging-cache-tokyo"))  # fmt: skip
    fake.expect("elasticache", OSAKA, "failover_global_replication_group",
                {"GlobalReplicationGroupId": GLOBAL, "PrimaryRegion": OSAKA,
                 "PrimaryReplicationGroupId": "seed-staging-cache-taiwan"})  # fmt: skip
    fake.expect("elasticache", OSAKA, "describe_global_replication_groups", status,
                global_group("seed-staging-cache-taiwan"))  # fmt: skip
    fake.expect("elasticache", OSAKA, "describe_global_replication_groups", ask,
                global_group("seed-staging-cache-taiwan"))  # fmt: skip
    UNDO["fail_over_cache"](ctx, region="tokyo")
    assert not ctx.ledger.entries()
    fake.done()


def test_failing_over_to_the_primary_already_refuses_before_any_change(
    tmp_path: Path, fake: FakeAws, target: TargetFile
) -> None:
    ctx = context(tmp_path, fake, target)
    fake.expect("elasticache", OSAKA, "describe_global_replication_groups",
                {"GlobalReplicationGroupId": GLOBAL, "ShowMemberInfo": True},
                global_group("seed-staging-cache-taiwan"))  # fmt: skip
    with pytest.raises(SandboxError, match="is the primary already"):
        FAULTS["fail_over_cache"](ctx, region="taiwan")
    assert not ctx.ledger.entries()
    fake.done()


def test_mirror_lag_is_the_records_metric_and_none_without_a_datapoint(
    tmp_path: Path, fake: FakeAws, target: TargetFile
) -> None:
    ctx = context(tmp_path, fake, target)
    now = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    ctx.clock = now.timestamp
    query = {
        "Namespace": "Seed/Kafka", "MetricName": "MirrorMaker2Lag",
        "Dimensions": [{"Name": "Connector", "Value": "mm2-orders"}],
        "StartTime": now - timedelta(minutes=5), "EndTime": now, "Period": 60,
        "Statistics": ["Maximum"],
    }  # fmt: skip
    points = [{"Timestamp": now - timedelta(minutes=1), "Maximum": 2.5},
              {"Timestamp": now - timedelta(minutes=3), "Maximum": 40.0}]  # fmt: skip
    fake.expect("cloudwatch", OSAKA, "get_metric_statistics", query, {"Datapoints": points})
    fake.expect("cloudwatch", TOKYO, "get_metric_statistics", query, {"Datapoints": []})
    lag = OBSERVE["mirror_lag"](ctx)
    assert lag["mirrors"]["taiwan"]["seconds"] == 2.5
    assert lag["max_seconds"] is None
    fake.done()


def test_the_dry_run_plans_msk_mirrormaker_and_global_datastore_with_the_exact_calls() -> None:
    plans = {
        p.name: "\n".join(p.lines)
        for p in dry_run.plan_all(
            [EXPERIMENTS / f"{n}.json" for n in ("event-mirror-outage", "broker-crash",
                                                  "cache-failover")],
            "aws", load(EXAMPLE))
    }  # fmt: skip
    mirror = plans["event-mirror-outage"]
    assert 'k8s.AppsV1Api.patch_namespaced_deployment(name="mm2-from-tokyo", namespace="kafka", ' \
        'body={"spec": {"replicas": 0}})' in mirror  # fmt: skip
    assert 'kafka.end_offsets(bootstrap="b-1.' in mirror
    assert 'topic="tokyo.orders") [taiwan]' in mirror
    assert "kafka.read_all(" in mirror
    assert 'MetricName="MirrorMaker2Lag"' in mirror
    broker = plans["broker-crash"]
    assert f'kafka.reboot_broker(ClusterArn="{TW_MSK}", BrokerIds=["1"])' in broker
    assert "via chaosaws.msk.actions.reboot_msk_broker" in broker
    assert f"wait up to 1800 s until {TW_MSK} is ACTIVE" in broker
    cache = plans["cache-failover"]
    assert (
        f'elasticache.failover_global_replication_group(GlobalReplicationGroupId="{GLOBAL}", '
        f'PrimaryRegion="{TOKYO}", PrimaryReplicationGroupId="seed-staging-cache-tokyo")'
    ) in cache
    assert "elasticache.describe_global_replication_groups(" in cache


def test_a_bad_events_section_names_every_field(tmp_path: Path) -> None:
    text = (
        EXAMPLE.read_text()
        .replace('broker_ids: ["1"]', "broker_ids: [1]")
        .replace("mechanism: SCRAM-SHA-512", "mechanism: PLAIN")
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(TargetFileInvalid) as raised:
        load(bad)
    message = str(raised.value)
    assert "events.regions.taiwan.broker_ids[0]: 1 is not a broker id" in message
    assert "events.sasl.mechanism: 'PLAIN' is not one of SCRAM-SHA-512, SCRAM-SHA-256" in message


def test_reading_msk_without_its_password_says_which_variable_to_set(
    tmp_path: Path, fake: FakeAws, target: TargetFile
) -> None:
    ctx = context(tmp_path, fake, target)
    with pytest.raises(SandboxError, match="set AFTERSHOCK_KAFKA_PASSWORD to the password"):
        OBSERVE["mirror_backlog"](ctx)


class FakeMessage:
    def __init__(self, partition: int, offset: int, value: bytes, key: bytes | None = None):
        self._partition, self._offset, self._value, self._key = partition, offset, value, key

    def error(self) -> None:
        return None

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def value(self) -> bytes:
        return self._value

    def key(self) -> bytes | None:
        return self._key

    def timestamp(self) -> tuple[int, int]:
        return (1, 1_795_000_000_000 + self._offset)


class FakeConsumer:
    """confluent_kafka.Consumer over two partitions; offset 2 of partition 1 is a
    transaction marker: it takes an offset and is never delivered."""

    settings: ClassVar[dict] = {}

    def __init__(self, settings: dict) -> None:
        FakeConsumer.settings = settings
        self.queue = [
            FakeMessage(0, 0, b'{"key": "run-a"}'),
            FakeMessage(1, 0, b"not json", b"run-b"),
            FakeMessage(1, 1, b'{"key": "other-c"}'),
        ]
        self.positions = {0: 0, 1: 0}

    def list_topics(self, topic: str, timeout: float):
        from types import SimpleNamespace

        return SimpleNamespace(topics={topic: SimpleNamespace(partitions={0: None, 1: None})})

    def get_watermark_offsets(self, tp, timeout: float) -> tuple[int, int]:
        return (0, 1) if tp.partition == 0 else (0, 3)

    def assign(self, partitions) -> None:
        self.assigned = partitions

    def poll(self, timeout: float):
        if not self.queue:
            # past the last record the consumer steps over the marker
            self.positions[1] = 3
            return None
        message = self.queue.pop(0)
        self.positions[message.partition()] = message.offset() + 1
        return message

    def position(self, partitions):
        from confluent_kafka import TopicPartition

        return [TopicPartition(tp.topic, tp.partition, self.positions[tp.partition])
                for tp in partitions]  # fmt: skip

    def close(self) -> None:
        self.closed = True


def test_msk_reads_log_in_with_scram_and_finish_a_partition_past_a_marker(
    tmp_path: Path, fake: FakeAws, target: TargetFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    import confluent_kafka

    from aftershock.targets.aws import kafka_reads

    monkeypatch.setattr(confluent_kafka, "Consumer", FakeConsumer)
    monkeypatch.setenv("AFTERSHOCK_KAFKA_PASSWORD", "s3cret")
    ctx = context(tmp_path, fake, target)
    cluster = target.events.region("taiwan")
    found = kafka_reads.read_keys(ctx, cluster, "orders")
    assert [key for key, _ in found] == ["run-a", "run-b", "other-c"]
    assert FakeConsumer.settings["sasl.mechanism"] == "SCRAM-SHA-512"
    assert FakeConsumer.settings["sasl.password"] == "s3cret"
    assert FakeConsumer.settings["enable.auto.commit"] is False
    logged = ctx.log.calls[-1]
    assert (logged.api, logged.operation, logged.params["topic"]) == ("kafka", "read_all", "orders")
    assert "s3cret" not in json.dumps([c.as_dict() for c in ctx.log.calls])


def test_on_aws_deliveries_nobody_can_read_leave_the_event_verdict_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: None
) -> None:
    """The verdict as the experiment declares it, judged on aws: every event is in both
    regions' topics, but the fulfilment consumers' deliveries are not read there. Half the
    evidence is no pass: `every-acknowledged-order-has-one-event-everywhere` fails, unknown.

    Kafka cannot run on this machine: the topics' contents stand in for MSK's reads
    (`read_keys`), every other step is the probe's own, through the verdicts control.
    """
    import aftershock.targets.aws.event_observe as event_observe
    from aftershock.controls.verdicts import judge
    from aftershock.load import history

    run = tmp_path / "run"
    run.mkdir()
    keys = ["r1-a@taiwan", "r1-b@tokyo"]
    records = []
    for number, key in enumerate(keys, start=1):
        records.append(history.invoke(key, "p", "checkout", {"items": []}))
        records.append(history.complete("ok", key, "p", "checkout", {"order_id": number}))
    (run / history.HISTORY_FILE).write_text("".join(json.dumps(r) + "\n" for r in records))
    (run / "load.json").write_text(json.dumps({"run_id": "r1"}))

    def topic(ctx: object, cluster: object, name: str) -> list[tuple[str, float]]:
        """Each region's own topic holds its orders' events, its mirrored topic the other's."""
        own = name == "orders"
        return [(k, 1.0) for k in keys if k.endswith(f"@{cluster.name}") == own]  # type: ignore[attr-defined]

    monkeypatch.setattr(
        event_observe, "read_keys", topic
    )  # The target file's profile, with keys that never leave this test (no call is made).
    config = tmp_path / "aws-config"
    config.write_text("[profile seed-staging]\naws_access_key_id = test\n"
                      "aws_secret_access_key = test\n")  # fmt: skip
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    experiment = json.loads((EXPERIMENTS / "region-outage.json").read_text())
    [verdict] = [
        v for v in experiment["extensions"][0]["verdicts"]
        if v["name"] == "every-acknowledged-order-has-one-event-everywhere"
    ]  # fmt: skip
    verdict["provider"]["arguments"] = {"drain_timeout_s": "0", "run_dir": str(run)}
    experiment["extensions"][0]["verdicts"] = [verdict]
    configuration = {
        "aftershock_target": "aws", "aftershock_target_file": str(EXAMPLE),
        "aftershock_sandbox": "awsev", "aftershock_state_root": str(tmp_path / "state"),
    }  # fmt: skip
    [judged] = judge(experiment, configuration, None)
    assert judged["tolerance_met"] is False, judged
    output = judged["output"]
    assert output["valid"] == "unknown", output
    assert "could not look at the deliveries in taiwan, tokyo" in output["reason"]
    assert output["regions"]["taiwan"]["events"] == 2  # the events were all there
