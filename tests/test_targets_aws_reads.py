"""The aws target's reads beyond CloudWatch: writers of the global database, SQL final reads.

AWS requests go through Stubber (checked against botocore's model); the
SQL itself runs against a real PostgreSQL in tests/test_probes_final_reads.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_stubs import EXAMPLE, FakeAws, context, fake, no_network, target
from test_targets_aws import JP_ARN, OSAKA, TOKYO, TW_ARN, expect_global

from aftershock.sandbox.errors import SandboxError
from aftershock.targets import sql_reads
from aftershock.targets.aws import OBSERVE
from aftershock.targets.target_file import TargetFile, TargetFileInvalid, load

# The shared fixtures, imported so pytest finds them in this module.
FIXTURES = (fake, no_network, target)


def test_primaries_is_the_global_writer_when_both_clusters_are_members(
    tmp_path: Path, fake: FakeAws, target: TargetFile
) -> None:
    ctx = context(tmp_path, fake, target)
    expect_global(fake, writer=JP_ARN)
    found = OBSERVE["primaries"](ctx)
    assert (found["primaries"], found["count"]) == (["tokyo"], 1)
    fake.done()


def test_a_cluster_detached_from_the_global_database_is_a_second_primary(
    tmp_path: Path, fake: FakeAws, target: TargetFile
) -> None:
    ctx = context(tmp_path, fake, target)
    members = [{"DBClusterArn": TW_ARN, "IsWriter": True}]  # tokyo left: detached and promoted
    fake.expect(
        "rds",
        OSAKA,
        "describe_global_clusters",
        {"GlobalClusterIdentifier": "seed-staging-orders"},
        {"GlobalClusters": [{"GlobalClusterIdentifier": "x", "GlobalClusterMembers": members}]},
    )
    fake.expect(
        "rds",
        TOKYO,
        "describe_db_clusters",
        {"DBClusterIdentifier": "seed-staging-orders-tokyo"},
        {
            "DBClusters": [
                {"DBClusterIdentifier": "seed-staging-orders-tokyo", "Status": "available"}
            ]
        },
    )
    found = OBSERVE["primaries"](ctx)
    assert (found["primaries"], found["count"]) == (["taiwan", "tokyo"], 2)
    fake.done()


def test_final_reads_without_database_sql_say_what_to_add(
    tmp_path: Path, fake: FakeAws, target: TargetFile
) -> None:
    bare = tmp_path / "bare.yaml"
    text = EXAMPLE.read_text()
    start = text.index("  sql:")
    end = text.index("\nregions:")
    bare.write_text(text[:start] + text[end:])
    ctx = context(tmp_path, fake, load(bare))
    with pytest.raises(SandboxError, match=r"needs SQL access: add database\.sql"):
        OBSERVE["integrity"](ctx)
    assert fake.made == []


def test_a_missing_password_variable_is_named_and_nothing_connects(
    tmp_path: Path, fake: FakeAws, target: TargetFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AFTERSHOCK_DB_PASSWORD", raising=False)
    assert target.sql is not None
    with pytest.raises(SandboxError, match="set AFTERSHOCK_DB_PASSWORD to the password"):
        sql_reads.connect(target.sql)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("    sslmode: verify-full", "database.sql.sslmode: 'sometimes' is not one of"),
        ("    password_env: AFTERSHOCK_DB_PASSWORD", "database.sql.password_env: 'lower' is not"),
        ("    user: aftershock_reader", "database.sql.user: missing"),
    ],
)
def test_a_bad_sql_section_names_the_field(tmp_path: Path, line: str, problem: str) -> None:
    replacement = {
        "    sslmode: verify-full": "    sslmode: sometimes",
        "    password_env: AFTERSHOCK_DB_PASSWORD": "    password_env: lower",
        "    user: aftershock_reader": "",
    }[line]
    text = EXAMPLE.read_text()
    lines = [replacement if raw.split("#")[0].rstrip() == line else raw for raw in text.split("\n")]
    bad = tmp_path / "bad.yaml"
    bad.write_text("\n".join(lines))
    with pytest.raises(TargetFileInvalid, match=problem):
        load(bad)


def test_the_dry_run_plans_every_experiment_but_replication_lag_as_runnable_on_aws() -> None:
    from aftershock.targets import dryrun
    from aftershock.targets.drivers import EXPERIMENTS

    plans = dryrun.plan_all(sorted(EXPERIMENTS.glob("*.json")), "aws", load(EXAMPLE))
    blocked = {plan.name: plan.unsupported for plan in plans if not plan.runnable}
    assert list(blocked) == ["replication-lag"]
    assert all("replication_replay" in reason for reason in blocked["replication-lag"])
    baseline = next(plan for plan in plans if plan.name == "baseline")
    assert any(
        line.strip().startswith("sql.final read of the orders table") for line in baseline.lines
    )
