"""The aws target's reads beyond CloudWatch: writers of the global database, SQL final reads.

AWS requests go through Stubber (checked against botocore's model); the
SQL itself runs against a real PostgreSQL in tests/test_probes_final_reads.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aws_stubs import (
    EXAMPLE,
    JP_ARN,
    OSAKA,
    TOKYO,
    TW_ARN,
    TW_CHECK,
    FakeAws,
    context,
    expect_global,
    fake,
    lag_query,
    no_network,
    target,
)

from aftershock.config.target_file import TargetFile, TargetFileInvalid, load
from aftershock.errors import SandboxError
from aftershock.targets import remote
from aftershock.targets.aws import OBSERVE, sql_reads

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


def without_sql(tmp_path: Path) -> TargetFile:
    """The example target file with no database.sql section."""
    bare = tmp_path / "bare.yaml"
    text = EXAMPLE.read_text()
    bare.write_text(text[: text.index("  sql:")] + text[text.index("\nregions:") :])
    return load(bare)


def test_final_reads_without_database_sql_say_what_to_add(tmp_path: Path, fake: FakeAws) -> None:
    ctx = context(tmp_path, fake, without_sql(tmp_path))
    with pytest.raises(SandboxError, match=r"needs SQL access: add database\.sql"):
        OBSERVE["integrity"](ctx)
    assert fake.made == []


def test_a_dry_run_that_would_fail_marks_the_experiment_unrunnable(tmp_path: Path) -> None:
    from aftershock.runner import dry_run
    from aftershock.targets.drivers import EXPERIMENTS

    [plan] = dry_run.plan_all([EXPERIMENTS / "baseline.json"], "aws", without_sql(tmp_path))
    assert not plan.runnable
    assert any("needs SQL access" in reason for reason in plan.unsupported)


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


def test_the_dry_run_plans_every_experiment_as_runnable_on_aws_but_two_that_say_why() -> None:
    from aftershock.runner import dry_run
    from aftershock.targets.drivers import EXPERIMENTS

    plans = dry_run.plan_all(sorted(EXPERIMENTS.glob("*.json")), "aws", load(EXAMPLE))
    blocked = {plan.name: plan.unsupported for plan in plans if not plan.runnable}
    assert list(blocked) == ["cache-failover", "replication-lag"]
    assert all("replication_replay" in reason for reason in blocked["replication-lag"])
    assert {r.split(":")[0] for r in blocked["cache-failover"]} == {
        "stale-reads-after-failover",
        "shops-write-to-the-new-primary",
    }
    baseline = next(plan for plan in plans if plan.name == "baseline")
    assert any(
        line.strip().startswith("sql.final read of the orders table") for line in baseline.lines
    )


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


def test_the_dry_run_plans_adr037s_final_reads_on_both_regional_writers() -> None:
    from aftershock.runner import dry_run
    from aftershock.targets.drivers import EXPERIMENTS

    [plan] = dry_run.plan_all([EXPERIMENTS / "partition-active-active.json"], "aws", load(EXAMPLE))
    assert plan.runnable, plan.unsupported
    reads = [line.strip() for line in plan.lines if line.strip().startswith("sql.")]
    for what in ("orders of the run", "stock and order lines", "profiles of the run",
                 "replicated tables, row by row"):  # fmt: skip
        hosts = {line.rsplit("[", 1)[1] for line in reads if line.startswith(f"sql.{what}")}
        assert len(hosts) == 2, (what, reads)  # one read per region's own writer


def test_a_target_file_naming_one_writer_is_refused_in_one_line(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    start = text.index("    tokyo:\n      host: seed-staging-orders-tokyo")
    end = text.index("\n\n", start)
    bad = tmp_path / "one-writer.yaml"
    bad.write_text(text[:start] + text[end:])
    with pytest.raises(TargetFileInvalid, match=r"database\.writers\.tokyo: missing"):
        load(bad)
