"""The aws driver: every request of every fault and its undo, validated by botocore's Stubber."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aws_stubs import ENTRY, FakeAws, context, fake, lag_query, no_network, target
from chaoslib.exceptions import ActivityFailed

from aftershock.targets import remote
from aftershock.targets.aws import FAULTS, OBSERVE, UNDO
from aftershock.targets.plan import Refused
from aftershock.targets.target_file import TargetFile

# The shared fixtures, imported so pytest finds them in this module.
FIXTURES = (fake, no_network, target)

OSAKA, TOKYO = "ap-northeast-3", "ap-northeast-1"
ACCOUNT = "123456789012"
GLOBAL = "seed-staging-orders"
TW_ARN = f"arn:aws:rds:{OSAKA}:{ACCOUNT}:cluster:seed-staging-orders-taiwan"
JP_ARN = f"arn:aws:rds:{TOKYO}:{ACCOUNT}:cluster:seed-staging-orders-tokyo"
SUBNETS = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002", "subnet-0a1b2c3d4e5f60003"]
VPC = "vpc-0a1b2c3d4e5f60718"
TW_CHECK = "3f1c2a9e-5b7d-4e21-9c0a-6d8e2f4b1a73"


def global_cluster(writer: str = TW_ARN, status: str = "available") -> dict:
    members = [{"DBClusterArn": arn, "IsWriter": arn == writer} for arn in (TW_ARN, JP_ARN)]
    return {
        "GlobalClusters": [
            {"GlobalClusterIdentifier": GLOBAL, "Status": status, "GlobalClusterMembers": members}
        ]
    }


def expect_global(fake: FakeAws, writer: str = TW_ARN, region: str = OSAKA) -> None:
    fake.expect(
        "rds",
        region,
        "describe_global_clusters",
        {"GlobalClusterIdentifier": GLOBAL},
        global_cluster(writer),
    )


def cluster(name: str, writer: str, status: str = "available") -> dict:
    return {
        "DBClusters": [
            {
                "DBClusterIdentifier": name,
                "Status": status,
                "DBClusterMembers": [
                    {"DBInstanceIdentifier": writer, "IsClusterWriter": True},
                    {"DBInstanceIdentifier": "reader-1", "IsClusterWriter": False},
                ],
            }
        ]
    }


def acls(current: dict[str, tuple[str, str]]) -> dict:
    return {
        "NetworkAcls": [
            {
                "NetworkAclId": acl,
                "Associations": [
                    {"NetworkAclAssociationId": assoc, "NetworkAclId": acl, "SubnetId": subnet}
                ],
            }
            for subnet, (assoc, acl) in current.items()
        ]
    }


SUBNET_FILTER = {
    "Filters": [
        {"Name": "vpc-id", "Values": [VPC]},
        {"Name": "association.subnet-id", "Values": SUBNETS},
    ]
}


def test_nacl_isolation_and_its_undo_make_exactly_these_calls(
    tmp_path: Path, fake: FakeAws, target: TargetFile
) -> None:
    ctx = context(tmp_path, fake, target)
    before = {s: (f"aclassoc-0000000{i}", "acl-0000000000000aaaa") for i, s in enumerate(SUBNETS)}
    fake.expect("ec2", OSAKA, "describe_network_acls", SUBNET_FILTER, acls(before))
    fake.identity()
    fake.expect(
        "ec2",
        OSAKA,
        "create_network_acl",
        {
            "VpcId": VPC,
            "ClientToken": ENTRY,
            "TagSpecifications": [
                {
                    "ResourceType": "network-acl",
                    "Tags": [
                        {"Key": "Name", "Value": "aftershock-blackhole-seed-staging-taiwan"},
                        {"Key": "aftershock-entry", "Value": ENTRY},
                    ],
                }
            ],
        },
        {"NetworkAcl": {"NetworkAclId": "acl-00000000000000bad"}},
    )
    for assoc, _ in before.values():
        fake.expect(
            "ec2",
            OSAKA,
            "replace_network_acl_association",
            {"AssociationId": assoc, "NetworkAclId": "acl-00000000000000bad"},
            {"NewAssociationId": assoc + "x"},
        )
    done = FAULTS["isolate_region"](ctx, region="taiwan")
    fake.done()
    # The ledger held the original associations before anything changed.
    assert done["id"] == ENTRY
    touched = ctx.ledger.entries()[0].params["touched"]
    assert touched == {
        "method": "nacl",
        "vpc_id": VPC,
        "subnets": {s: "acl-0000000000000aaaa" for s in SUBNETS},
    }

    after = {s: (assoc + "x", "acl-00000000000000bad") for s, (assoc, _) in before.items()}
    fake.expect("ec2", OSAKA, "describe_network_acls", SUBNET_FILTER, acls(after))
    for assoc, _ in after.values():
        fake.expect(
            "ec2",
            OSAKA,
            "replace_network_acl_association",
            {"AssociationId": assoc, "NetworkAclId": "acl-0000000000000aaaa"},
        )
    fake.expect(
        "ec2",
        OSAKA,
        "describe_network_acls",
        {
            "Filters": [
                {"Name": "vpc-id", "Values": [VPC]},
                {"Name": "tag:aftershock-entry", "Values": [ENTRY]},
            ]
        },
        {"NetworkAcls": [{"NetworkAclId": "acl-00000000000000bad"}]},
    )
    fake.expect("ec2", OSAKA, "delete_network_acl", {"NetworkAclId": "acl-00000000000000bad"})
    UNDO["isolate_region"](ctx, region="taiwan")
    fake.done()
    assert ctx.ledger.entries() == []


def test_fis_isolation_starts_the_template_through_chaosaws_and_its_undo_stops_it(
    tmp_path: Path, fake: FakeAws, target: TargetFile
) -> None:
    ctx = context(tmp_path, fake, target)
    fake.identity()
    tags = {"aftershock-entry": ENTRY}
    fake.expect(
        "fis",
        TOKYO,
        "start_experiment",
        {"experimentTemplateId": "EXT4kTq2vN8pLr", "clientToken": ENTRY, "tags": tags},
        {"experiment": {"id": "EXP1"}},
    )
    assert FAULTS["isolate_region"](ctx, region="tokyo")["experiment"] == "EXP1"
    fake.expect(
        "fis",
        TOKYO,
        "list_experiments",
        {"experimentTemplateId": "EXT4kTq2vN8pLr"},
        {
            "experiments": [
                {
                    "id": "EXP0",
                    "tags": {"aftershock-entry": "other"},
                    "state": {"status": "running"},
                },
                {"id": "EXP1", "tags": tags, "state": {"status": "running"}},
            ],
            "nextToken": "page2",
        },
    )
    fake.expect("fis", TOKYO, "stop_experiment", {"id": "EXP1"})
    fake.expect(
        "fis",
        TOKYO,
        "list_experiments",
        {"experimentTemplateId": "EXT4kTq2vN8pLr", "nextToken": "page2"},
        {"experiments": [{"id": "EXP2", "tags": tags, "state": {"status": "completed"}}]},
    )
    UNDO["isolate_region"](ctx, region="tokyo")
    fake.done()
    assert ctx.ledger.entries() == []


def test_route53_drill_inverts_the_health_check_and_puts_it_back(
    tmp_path: Path, fake: FakeAws, target: TargetFile
) -> None:
    drill = dataclasses.replace(
        target.regions["taiwan"],
        isolation=dataclasses.replace(target.regions["taiwan"].isolation, method="route53"),
    )
    target = dataclasses.replace(target, regions={**target.regions, "taiwan": drill})
    ctx = context(tmp_path, fake, target)

    def check(version: int, inverted: bool) -> dict:
        return {
            "HealthCheck": {
                "Id": TW_CHECK,
                "CallerReference": "r",
                "HealthCheckVersion": version,
                "HealthCheckConfig": {"Type": "HTTPS", "Inverted": inverted},
            }
        }

    fake.expect("route53", OSAKA, "get_health_check", {"HealthCheckId": TW_CHECK}, check(4, False))
    fake.identity()
    fake.expect(
        "route53",
        OSAKA,
        "update_health_check",
        {"HealthCheckId": TW_CHECK, "HealthCheckVersion": 4, "Inverted": True},
        check(5, True),
    )
    FAULTS["isolate_region"](ctx, region="taiwan")
    fake.expect("route53", OSAKA, "get_health_check", {"HealthCheckId": TW_CHECK}, check(5, True))
    fake.expect(
        "route53",
        OSAKA,
        "update_health_check",
        {"HealthCheckId": TW_CHECK, "HealthCheckVersion": 5, "Inverted": False},
        check(6, False),
    )
    UNDO["isolate_region"](ctx, region="taiwan")
    fake.done()


def test_kill_db_leader_fails_over_without_a_none_target_and_the_undo_restores_the_writer(
    tmp_path: Path, fake: FakeAws, target: TargetFile
) -> None:
    ctx = context(tmp_path, fake, target)
    expect_global(fake)
    fake.expect(
        "rds",
        OSAKA,
        "describe_db_clusters",
        {"DBClusterIdentifier": "seed-staging-orders-taiwan"},
        cluster("seed-staging-orders-taiwan", "writer-1"),
    )
    fake.identity()
    fake.expect(
        "rds", OSAKA, "failover_db_cluster", {"DBClusterIdentifier": "seed-staging-orders-taiwan"}
    )
    FAULTS["kill_db_leader"](ctx)
    name = {"DBClusterIdentifier": "seed-staging-orders-taiwan"}
    fake.expect(
        "rds",
        OSAKA,
        "describe_db_clusters",
        name,
        cluster("seed-staging-orders-taiwan", "reader-1"),
    )  # available
    fake.expect(
        "rds",
        OSAKA,
        "describe_db_clusters",
        name,
        cluster("seed-staging-orders-taiwan", "reader-1"),
    )  # who writes
    fake.expect(
        "rds", OSAKA, "failover_db_cluster", {**name, "TargetDBInstanceIdentifier": "writer-1"}
    )
    fake.expect(
        "rds",
        OSAKA,
        "describe_db_clusters",
        name,
        cluster("seed-staging-orders-taiwan", "writer-1"),
    )
    UNDO["kill_db_leader"](ctx, region="taiwan")
    fake.done()
    assert ctx.ledger.entries() == []


def test_chaosaws_failover_db_cluster_sends_none_which_botocore_rejects(fake: FakeAws) -> None:
    """The defect the driver works around (chaosaws/rds/actions.py:33-36)."""
    from chaosaws.rds.actions import failover_db_cluster

    fake.client("rds", OSAKA)
    # No expected parameters: the stub answers whatever is sent, so what fails is botocore's
    # validation of the request against the RDS model.
    fake.stubbers[("rds", OSAKA)].add_response("failover_db_cluster", {}, None)
    with pytest.raises(
        ActivityFailed, match="Invalid type for parameter TargetDBInstanceIdentifier"
    ):
        failover_db_cluster("seed-staging-orders-taiwan", configuration={"aws_region": OSAKA})


def test_stop_db_node_reboots_with_failover_through_chaosaws_and_start_waits_for_it(
    tmp_path: Path, fake: FakeAws, target: TargetFile
) -> None:
    ctx = context(tmp_path, fake, target)
    fake.expect(
        "rds",
        TOKYO,
        "describe_db_clusters",
        {"DBClusterIdentifier": "seed-staging-orders-tokyo"},
        cluster("seed-staging-orders-tokyo", "tokyo-1"),
    )
    fake.identity()
    fake.expect(
        "rds",
        TOKYO,
        "reboot_db_instance",
        {"DBInstanceIdentifier": "tokyo-1", "ForceFailover": True},
    )
    FAULTS["stop_db_node"](ctx, region="tokyo")
    fake.expect(
        "rds",
        TOKYO,
        "describe_db_instances",
        {"DBInstanceIdentifier": "tokyo-1"},
        {"DBInstances": [{"DBInstanceIdentifier": "tokyo-1", "DBInstanceStatus": "available"}]},
    )
    FAULTS["start_db_node"](ctx, region="tokyo")
    fake.done()
    assert ctx.ledger.entries() == []


def test_switchover_and_switchback_move_the_global_writer_and_back(
    tmp_path: Path, fake: FakeAws, target: TargetFile
) -> None:
    ctx = context(tmp_path, fake, target)
    expect_global(fake)
    fake.identity()
    fake.expect(
        "rds",
        TOKYO,
        "switchover_global_cluster",
        {"GlobalClusterIdentifier": GLOBAL, "TargetDbClusterIdentifier": JP_ARN},
    )
    expect_global(fake, JP_ARN)  # the wait: tokyo writes
    FAULTS["switchover_db"](ctx, to_region="tokyo")
    expect_global(fake, JP_ARN)  # who writes now
    expect_global(fake, JP_ARN)  # every member available
    fake.expect(
        "rds",
        OSAKA,
        "switchover_global_cluster",
        {"GlobalClusterIdentifier": GLOBAL, "TargetDbClusterIdentifier": TW_ARN},
    )
    expect_global(fake, TW_ARN)
    UNDO["switchover_db"](ctx, from_region="taiwan", to_region="tokyo")
    fake.done()
    assert ctx.ledger.entries() == []


def test_crash_region_fails_the_global_writer_over_with_data_loss_and_recover_switches_back(
    tmp_path: Path, fake: FakeAws, target: TargetFile
) -> None:
    no_pods = dataclasses.replace(target.regions["taiwan"], eks=None)
    target = dataclasses.replace(target, regions={**target.regions, "taiwan": no_pods})
    ctx = context(tmp_path, fake, target)
    expect_global(fake)  # recorded: taiwan writes
    expect_global(fake)  # still taiwan when the failover is decided
    fake.identity()
    fake.expect(
        "rds",
        TOKYO,
        "failover_global_cluster",
        {
            "GlobalClusterIdentifier": GLOBAL,
            "TargetDbClusterIdentifier": JP_ARN,
            "AllowDataLoss": True,
        },
    )
    assert FAULTS["crash_region"](ctx, region="taiwan")["writer_moved_from"] == TW_ARN
    assert ctx.ledger.entries()[0].params["touched"] == {"writer": TW_ARN, "pods": False}
    expect_global(fake, JP_ARN)
    expect_global(fake, JP_ARN)
    fake.expect(
        "rds",
        OSAKA,
        "switchover_global_cluster",
        {"GlobalClusterIdentifier": GLOBAL, "TargetDbClusterIdentifier": TW_ARN},
    )
    expect_global(fake, TW_ARN)
    UNDO["crash_region"](ctx, region="taiwan")
    fake.done()


def test_kill_cache_is_elasticache_test_failover_and_start_cache_restores_the_primary(
    tmp_path: Path, fake: FakeAws, target: TargetFile
) -> None:
    ctx = context(tmp_path, fake, target)
    group = {"ReplicationGroupId": "seed-staging-cache-tokyo"}

    def described(primary: str, status: str = "available") -> dict:
        members = [
            {"CacheClusterId": c, "CurrentRole": "primary" if c == primary else "replica"}
            for c in ("cache-001", "cache-002")
        ]
        return {
            "ReplicationGroups": [
                {
                    **group,
                    "Status": status,
                    "NodeGroups": [{"NodeGroupId": "0001", "NodeGroupMembers": members}],
                }
            ]
        }

    fake.expect("elasticache", TOKYO, "describe_replication_groups", group, described("cache-001"))
    fake.identity()
    fake.expect("elasticache", TOKYO, "test_failover", {**group, "NodeGroupId": "0001"})
    FAULTS["kill_cache"](ctx, region="tokyo")
    fake.expect("elasticache", TOKYO, "describe_replication_groups", group, described("cache-002"))
    fake.expect("elasticache", TOKYO, "describe_replication_groups", group, described("cache-002"))
    fake.expect(
        "elasticache",
        TOKYO,
        "modify_replication_group",
        {**group, "PrimaryClusterId": "cache-001", "ApplyImmediately": True},
    )
    fake.expect("elasticache", TOKYO, "describe_replication_groups", group, described("cache-001"))
    fake.expect("elasticache", TOKYO, "describe_replication_groups", group, described("cache-001"))
    UNDO["kill_cache"](ctx, region="tokyo")
    fake.done()


def test_heal_all_undoes_every_recorded_fault_newest_first(
    tmp_path: Path, fake: FakeAws, target: TargetFile
) -> None:
    ctx = context(tmp_path, fake, target)
    fake.identity()
    fake.expect(
        "fis",
        TOKYO,
        "start_experiment",
        {
            "experimentTemplateId": "EXT4kTq2vN8pLr",
            "clientToken": ENTRY,
            "tags": {"aftershock-entry": ENTRY},
        },
        {},
    )
    FAULTS["isolate_region"](ctx, region="tokyo")
    group = {"ReplicationGroupId": "seed-staging-cache-tokyo"}
    rg = {
        "ReplicationGroups": [
            {
                **group,
                "Status": "available",
                "NodeGroups": [
                    {
                        "NodeGroupId": "0001",
                        "NodeGroupMembers": [
                            {"CacheClusterId": "cache-001", "CurrentRole": "primary"}
                        ],
                    }
                ],
            }
        ]
    }
    fake.expect("elasticache", TOKYO, "describe_replication_groups", group, rg)
    fake.expect("elasticache", TOKYO, "test_failover", {**group, "NodeGroupId": "0001"})
    FAULTS["kill_cache"](ctx, region="tokyo")
    # newest first: the cache (already primary again: no modify), then the FIS experiment
    fake.expect("elasticache", TOKYO, "describe_replication_groups", group, rg)
    fake.expect("elasticache", TOKYO, "describe_replication_groups", group, rg)
    fake.expect(
        "fis",
        TOKYO,
        "list_experiments",
        {"experimentTemplateId": "EXT4kTq2vN8pLr"},
        {"experiments": []},
    )
    healed = remote.heal_all(ctx, UNDO)
    assert [h["fault"] for h in healed] == ["start_cache", "restore_region"]
    fake.done()
    assert ctx.ledger.entries() == []


def test_an_identity_of_another_account_refuses_before_any_change(
    tmp_path: Path, fake: FakeAws, target: TargetFile
) -> None:
    ctx = context(tmp_path, fake, target)
    fake.identity(account="999999999999")
    with pytest.raises(Refused, match="account 999999999999"):
        FAULTS["isolate_region"](ctx, region="tokyo")
    fake.done()
    assert not ctx.log.mutating()
    assert ctx.ledger.entries() == []  # recorded, then forgotten: nothing was done


def test_lag_probe_reads_cloudwatch_in_seconds_and_says_none_without_a_datapoint(
    tmp_path: Path, fake: FakeAws, target: TargetFile
) -> None:
    ctx = context(tmp_path, fake, target)
    now = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
    ctx.clock = now.timestamp
    query = lag_query(now)
    points = [
        {"Timestamp": now - timedelta(minutes=1), "Maximum": 850.0},
        {"Timestamp": now - timedelta(minutes=3), "Maximum": 4000.0},
    ]
    expect_global(fake)
    fake.expect("cloudwatch", TOKYO, "get_metric_statistics", query, {"Datapoints": points})
    lag = OBSERVE["lag_seconds"](ctx)
    assert lag["max"] == 0.85
    assert lag["leader"] == "taiwan"
    assert lag["replicas"]["tokyo"]["metric_ms"] == 850.0  # the newest, not the first listed
    expect_global(fake)
    fake.expect("cloudwatch", TOKYO, "get_metric_statistics", query, {"Datapoints": []})
    empty = OBSERVE["lag_seconds"](ctx)
    assert empty["max"] is None
    assert "no AuroraGlobalDBReplicationLag" in empty["error"]
    fake.done()


def test_region_ready_needs_route53_health_and_the_endpoint(
    tmp_path: Path, fake: FakeAws, target: TargetFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = context(tmp_path, fake, target)
    asked: list[str] = []
    monkeypatch.setattr(remote, "get", lambda url, timeout: asked.append(url) or (200, {}))

    def status(*reports: str) -> dict:
        return {
            "HealthCheckObservations": [
                {
                    "Region": "ap-northeast-1",
                    "IPAddress": "1.1.1.1",
                    "StatusReport": {"Status": s, "CheckedTime": datetime(2025, 1, 1, tzinfo=UTC)},
                }
                for s in reports
            ]
        }

    fake.expect(
        "route53",
        OSAKA,
        "get_health_check_status",
        {"HealthCheckId": TW_CHECK},
        status("Success: HTTP 200", "Success: HTTP 200", "Failure: timeout"),
    )
    assert OBSERVE["region_ready"](ctx, region="taiwan")["ready"] is True
    fake.expect(
        "route53",
        OSAKA,
        "get_health_check_status",
        {"HealthCheckId": TW_CHECK},
        status("Failure: timeout", "Failure: timeout"),
    )
    down = OBSERVE["region_ready"](ctx, region="taiwan")
    assert down["ready"] is False
    assert down["edge"] == "DOWN"
    assert asked == ["https://taiwan.shop.staging.seed.example/health/readiness"] * 2
    fake.done()
