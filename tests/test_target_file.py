"""Target files: the example is valid, and each wrong or missing field is named in one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_stubs import EXAMPLE

from aftershock.config.target_file import TargetFileInvalid, load


def example() -> dict[str, Any]:
    return yaml.safe_load(EXAMPLE.read_text())


def test_the_example_is_valid_and_becomes_configuration() -> None:
    target = load(EXAMPLE)
    assert target.account_id == "123456789012"
    assert target.regions["taiwan"].aurora_cluster_id == "seed-staging-orders-taiwan"
    assert target.regions["tokyo"].isolation.method == "fis"
    assert target.configuration()["aftershock_host"] == "https://shop.staging.seed.example"


def _drop(data: dict[str, Any], path: str) -> None:
    *parents, last = path.split(".")
    for key in parents:
        data = data[key]
    del data[last]


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for key in parents:
        data = data[key]
    data[last] = value


@pytest.mark.parametrize(
    "field",
    [
        "name",
        "account_id",
        "allowlist",
        "allowlist.account_ids",
        "allowlist.regions",
        "public_endpoint",
        "database",
        "database.global_cluster_id",
        "regions",
        "regions.tokyo",
        "regions.tokyo.aws_region",
        "regions.tokyo.endpoint",
        "regions.tokyo.health_check_id",
        "regions.tokyo.aurora_cluster_arn",
        "regions.tokyo.cache",
        "regions.tokyo.cache.replication_group_id",
        "regions.taiwan.isolation.vpc_id",
        "regions.taiwan.isolation.subnet_ids",
        "regions.tokyo.isolation.experiment_template_id",
        "regions.taiwan.eks.context",
        "regions.taiwan.eks.cidrs",
    ],
)
def test_a_missing_field_is_named(tmp_path: Path, field: str) -> None:
    data = example()
    _drop(data, field)
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(TargetFileInvalid) as caught:
        load(path)
    message = str(caught.value)
    assert f"{field}: missing" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("account_id", 123456789012, "account_id: must be a string (quote it"),
        ("account_id", "12345", "account_id: '12345' is not a 12-digit AWS account id"),
        (
            "allowlist.regions",
            ["ap-northeast-3", "osaka"],
            "allowlist.regions[1]: 'osaka' is not an AWS region",
        ),
        (
            "public_endpoint",
            "shop.example",
            "public_endpoint: 'shop.example' is not an http(s) URL",
        ),
        ("database.primary_region", "osaka", "database.primary_region: 'osaka' is not one of"),
        (
            "database.reboot_force_failover",
            "yes",
            "database.reboot_force_failover: must be true or false",
        ),
        (
            "regions.tokyo.aws_region",
            "ap-northeast-2",
            "regions.tokyo.aurora_cluster_arn: in ap-northeast-1, but aws_region is ap-northeast-2",
        ),
        (
            "regions.tokyo.aurora_cluster_arn",
            "arn:aws:rds:ap-northeast-1:999999999999:cluster:x",
            "in account 999999999999, but account_id is 123456789012",
        ),
        (
            "regions.tokyo.health_check_id",
            "abc",
            "regions.tokyo.health_check_id: 'abc' is not a Route 53 health check id",
        ),
        (
            "regions.tokyo.isolation.method",
            "pray",
            "regions.tokyo.isolation.method: 'pray' is not one of nacl, fis, route53",
        ),
        (
            "regions.taiwan.isolation.subnet_ids",
            ["subnet-x"],
            "regions.taiwan.isolation.subnet_ids[0]: 'subnet-x' is not a subnet id",
        ),
        (
            "regions.taiwan.eks.cidrs",
            ["10.0.0.0/99"],
            "regions.taiwan.eks.cidrs[0]: '10.0.0.0/99' is not a network",
        ),
        ("regions.osaka", {}, "regions.osaka: not a region of the platform"),
        ("regions.tokyo.cache.typo", 1, "regions.tokyo.cache.typo: unknown field"),
        (
            "allowlist.kube_contexts",
            ["only-this"],
            "allowlist.kube_contexts: must list 'arn:aws:eks",
        ),
    ],
)
def test_a_wrong_field_is_named(tmp_path: Path, field: str, value: Any, needle: str) -> None:
    data = example()
    _set(data, field, value)
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(TargetFileInvalid) as caught:
        load(path)
    assert needle in str(caught.value)


def test_every_problem_is_named_at_once(tmp_path: Path) -> None:
    data = example()
    _drop(data, "name")
    _set(data, "regions.tokyo.endpoint", "nope")
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(TargetFileInvalid, match=r"name: missing; .*regions\.tokyo\.endpoint"):
        load(path)


def test_not_yaml_and_no_file_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(TargetFileInvalid, match="not YAML at line"):
        load(bad)
    with pytest.raises(TargetFileInvalid, match="No such file"):
        load(tmp_path / "absent.yaml")
