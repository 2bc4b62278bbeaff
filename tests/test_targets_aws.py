"""The aws driver: every request of every fault and its undo, validated by botocore's Stubber.

Database faults are in test_targets_aws_database.py, observations in
test_targets_aws_reads.py.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from aws_stubs import (
    ENTRY,
    OSAKA,
    SUBNETS,
    TOKYO,
    TW_CHECK,
    VPC,
    FakeAws,
    context,
    fake,
    no_network,
    target,
)

from aftershock.config.target_file import TargetFile
from aftershock.errors import SandboxError
from aftershock.targets import remote
from aftershock.targets.aws import FAULTS, UNDO
from aftershock.targets.plan import Refused

# The shared fixtures, imported so pytest finds them in this module.
FIXTURES = (fake, no_network, target)


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


def health_check(version: int, inverted: bool) -> dict:
    return {
        "HealthCheck": {
            "Id": TW_CHECK,
            "CallerReference": "r",
            "HealthCheckVersion": version,
            "HealthCheckConfig": {"Type": "HTTPS", "Inverted": inverted},
        }
    }


def test_route53_drill_inverts_the_health_check_and_puts_it_back(
    tmp_path: Path, fake: FakeAws, target: TargetFile
) -> None:
    drill = dataclasses.replace(
        target.regions["taiwan"],
        isolation=dataclasses.replace(target.regions["taiwan"].isolation, method="route53"),
    )
    target = dataclasses.replace(target, regions={**target.regions, "taiwan": drill})
    ctx = context(tmp_path, fake, target)
    fake.expect(
        "route53", OSAKA, "get_health_check", {"HealthCheckId": TW_CHECK}, health_check(4, False)
    )
    fake.identity()
    fake.expect(
        "route53",
        OSAKA,
        "update_health_check",
        {"HealthCheckId": TW_CHECK, "HealthCheckVersion": 4, "Inverted": True},
        health_check(5, True),
    )
    FAULTS["isolate_region"](ctx, region="taiwan")
    fake.expect(
        "route53", OSAKA, "get_health_check", {"HealthCheckId": TW_CHECK}, health_check(5, True)
    )
    fake.expect(
        "route53",
        OSAKA,
        "update_health_check",
        {"HealthCheckId": TW_CHECK, "HealthCheckVersion": 5, "Inverted": False},
        health_check(6, False),
    )
    UNDO["isolate_region"](ctx, region="taiwan")
    fake.done()


def test_the_dr_drills_failed_health_check_is_route53_inverting_it_whatever_the_isolation(
    tmp_path: Path, fake: FakeAws, target: TargetFile
) -> None:
    # The example target isolates taiwan by NACL; the drill still only inverts its check.
    assert target.regions["taiwan"].isolation.method != "route53"
    ctx = context(tmp_path, fake, target)
    fake.expect("route53", OSAKA, "get_health_check", {"HealthCheckId": TW_CHECK},
                health_check(7, False))  # fmt: skip
    fake.identity()
    fake.expect(
        "route53",
        OSAKA,
        "update_health_check",
        {"HealthCheckId": TW_CHECK, "HealthCheckVersion": 7, "Inverted": True},
        health_check(8, True),
    )
    FAULTS["fail_health_check"](ctx, region="taiwan")
    assert [e.fault for e in ctx.ledger.entries()] == ["fail_health_check"]
    fake.expect("route53", OSAKA, "get_health_check", {"HealthCheckId": TW_CHECK},
                health_check(8, True))  # fmt: skip
    fake.expect(
        "route53",
        OSAKA,
        "update_health_check",
        {"HealthCheckId": TW_CHECK, "HealthCheckVersion": 8, "Inverted": False},
        health_check(9, False),
    )
    assert UNDO["fail_health_check"] is FAULTS["restore_health_check"]
    FAULTS["restore_health_check"](ctx, region="taiwan")
    assert ctx.ledger.entries() == []
    # Restored already: nothing is read or changed again.
    assert FAULTS["restore_health_check"](ctx, region="taiwan")["restored"] is False
    fake.done()


def test_the_drill_refuses_a_health_check_inverted_already_and_changes_nothing(
    tmp_path: Path, fake: FakeAws, target: TargetFile
) -> None:
    ctx = context(tmp_path, fake, target)
    fake.expect("route53", OSAKA, "get_health_check", {"HealthCheckId": TW_CHECK},
                health_check(3, True))  # fmt: skip
    with pytest.raises(SandboxError, match="inverted already"):
        FAULTS["fail_health_check"](ctx, region="taiwan")
    assert ctx.ledger.entries() == []
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
