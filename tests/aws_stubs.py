"""Stubber-wrapped boto3 clients for the aws driver's tests: every request is checked
against botocore's service model and the exact parameters expected; nothing reaches AWS."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from aftershock.config.target_file import TargetFile, load
from aftershock.targets import drivers

EXAMPLE = Path(__file__).resolve().parents[1] / "experiments" / "targets" / "aws.example.yaml"
ENTRY = "000000000001"  # the first ledger entry id of each test (uuid4 counts from 1)
CHAOSAWS_MODULES = (
    "chaosaws.fis.actions",
    "chaosaws.elasticache.actions",
    "chaosaws.rds.actions",
    "chaosaws.route53.probes",
    "chaosaws.msk.actions",
)


def lag_query(now: datetime, cluster: str = "seed-staging-orders-tokyo") -> dict[str, Any]:
    """The GetMetricStatistics request the lag probe makes at `now`."""
    return {
        "Namespace": "AWS/RDS",
        "MetricName": "AuroraGlobalDBReplicationLag",
        "Dimensions": [{"Name": "DBClusterIdentifier", "Value": cluster}],
        "StartTime": now - timedelta(minutes=5),
        "EndTime": now,
        "Period": 60,
        "Statistics": ["Maximum"],
        "Unit": "Milliseconds",
    }


class FakeAws:
    """One Stubber per (service, region) client; `expect` queues a request and its answer."""

    def __init__(self) -> None:
        self.clients: dict[tuple[str, str], Any] = {}
        self.stubbers: dict[tuple[str, str], Stubber] = {}
        self.made: list[tuple[str, str]] = []

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        self.made.append(key)
        if key not in self.clients:
            client = boto3.client(
                service,
                region_name=region,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            self.stubbers[key] = Stubber(client)
            self.stubbers[key].activate()
            self.clients[key] = client
        return self.clients[key]

    def expect(
        self,
        service: str,
        region: str,
        operation: str,
        params: dict[str, Any],
        response: dict[str, Any] | None = None,
    ) -> None:
        self.client(service, region)
        self.made.pop()
        self.stubbers[(service, region)].add_response(operation, response or {}, params)

    def identity(self, region: str = "ap-northeast-3", account: str = "123456789012") -> None:
        self.expect(
            "sts",
            region,
            "get_caller_identity",
            {},
            {"Account": account, "Arn": f"arn:aws:iam::{account}:user/t", "UserId": "t"},
        )

    def done(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real credentials, no instance metadata, no config files: nothing can reach AWS."""
    for name in (
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_DEFAULT_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    count = itertools.count(1)
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(f"{next(count):012x}" + "0" * 20))


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeAws:
    """The fake AWS, also behind chaostoolkit-aws's own `aws_client` in the modules we call."""
    aws = FakeAws()

    def aws_client(resource_name: str, configuration: Any = None, secrets: Any = None) -> Any:
        return aws.client(resource_name, configuration["aws_region"])

    for module in CHAOSAWS_MODULES:
        monkeypatch.setattr(f"{module}.aws_client", aws_client)
    return aws


@pytest.fixture
def target() -> TargetFile:
    return load(EXAMPLE)


def configuration(tmp_path: Path, allow: bool = True) -> dict[str, Any]:
    return {
        "aftershock_target": "aws",
        "aftershock_target_file": str(EXAMPLE),
        "aftershock_allow_destructive": allow,
        "aftershock_sandbox": "tst",
        "aftershock_state_root": str(tmp_path / "state"),
    }


def context(tmp_path: Path, fake: FakeAws, target: TargetFile, **kwargs: Any) -> Any:
    ctx = drivers.build(
        configuration(tmp_path),
        "aws",
        aws_factory=fake.client,
        credentials=lambda profile: True,
        target=target,
        **kwargs,
    )
    ctx.sleep = lambda seconds: None
    return ctx


# The seed platform of aws.example.yaml, as the tests name it.
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
