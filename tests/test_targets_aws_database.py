"""The aws driver's database faults and their undos, validated by botocore's Stubber."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from aws_stubs import (
    GLOBAL,
    JP_ARN,
    OSAKA,
    TOKYO,
    TW_ARN,
    FakeAws,
    cluster,
    context,
    expect_global,
    fake,
    no_network,
    target,
)
from chaoslib.exceptions import ActivityFailed

from aftershock.config.target_file import TargetFile
from aftershock.targets.aws import FAULTS, UNDO

# The shared fixtures, imported so pytest finds them in this module.
FIXTURES = (fake, no_network, target)


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
