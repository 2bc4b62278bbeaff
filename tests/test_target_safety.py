"""Refusals: account or region not allowlisted, no --allow-destructive, no credentials.
Each is one line, and no AWS call is made: the client factory and chaostoolkit-aws's own
`aws_client` both raise if anything asks for a client."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_stubs import EXAMPLE, configuration, fake, no_network, target

from aftershock.config.target import FaultNotSupported
from aftershock.faults.heal import heal_all
from aftershock.targets.dispatch import run
from aftershock.targets.plan import Refused

# The shared fixtures, imported so pytest finds them in this module.
FIXTURES = (fake, no_network, target)
AFTERSHOCK = str(Path(sys.executable).with_name("aftershock"))


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every attempt to build an AWS client or a kube client: each one fails the test."""
    made: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        made.append(args)
        raise AssertionError(f"an AWS/Kubernetes client was requested: {args}")

    monkeypatch.setattr("chaosaws.aws_client", refuse)
    monkeypatch.setattr("boto3.client", refuse)
    monkeypatch.setattr("boto3.session.Session.client", refuse)
    monkeypatch.setattr("kubernetes.config.new_client_from_config", refuse)
    return made


def edited(tmp_path: Path, **changes: Any) -> Path:
    data = yaml.safe_load(EXAMPLE.read_text())
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = data
        for key in parents:
            node = node[key]
        node[last] = value
    out = tmp_path / "target.yaml"
    out.write_text(yaml.safe_dump(data))
    return out


def test_an_account_not_allowlisted_is_refused_without_a_call(tmp_path: Path, calls: list) -> None:
    cfg = {
        **configuration(tmp_path),
        "aftershock_target_file": str(edited(tmp_path, allowlist__account_ids=["111111111111"])),
    }
    with pytest.raises(Refused, match=r"account 123456789012 is not in .*allowlist\.account_ids"):
        run("isolate_region", cfg, region="taiwan")
    assert calls == []


def test_a_region_not_allowlisted_is_refused_without_a_call(tmp_path: Path, calls: list) -> None:
    cfg = {
        **configuration(tmp_path),
        "aftershock_target_file": str(edited(tmp_path, allowlist__regions=["ap-northeast-3"])),
    }
    with pytest.raises(Refused, match=r"region ap-northeast-1 \(tokyo\) is not in"):
        run("kill_cache", cfg, region="tokyo")
    assert calls == []


def test_without_allow_destructive_a_fault_is_refused_without_a_call(
    tmp_path: Path, calls: list
) -> None:
    with pytest.raises(Refused, match="--allow-destructive"):
        run("kill_db_leader", configuration(tmp_path, allow=False))
    assert calls == []


def test_without_credentials_a_fault_is_refused_without_a_call(tmp_path: Path, calls: list) -> None:
    # The example names profile seed-staging, which no config file here defines.
    with pytest.raises(Refused, match="boto3 finds no AWS credentials"):
        run("switchover_db", configuration(tmp_path), to_region="tokyo")
    assert calls == []


def test_a_fault_aws_cannot_do_says_which_experiment_cannot_run(calls: list) -> None:
    with pytest.raises(FaultNotSupported, match="experiments replication-lag cannot run there"):
        run("pause_replication_replay", {"aftershock_target": "aws"}, region="tokyo")
    assert calls == []


def test_heal_with_nothing_recorded_makes_no_call(tmp_path: Path, calls: list) -> None:
    assert heal_all(configuration(tmp_path, allow=False)) == []
    assert calls == []


def _gameday(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AFTERSHOCK, "gameday", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def _refused(result: subprocess.CompletedProcess[str], needle: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert needle in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""  # pytest never started


def _clean_env(tmp_path: Path) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
    )
    return env


def test_gameday_refusals_are_one_line_exit_2(tmp_path: Path) -> None:
    env = _clean_env(tmp_path)
    account = edited(tmp_path, allowlist__account_ids=["111111111111"])
    _refused(
        _gameday("--target", "aws", "--target-file", str(account), env=env),
        "account 123456789012 is not in",
    )
    region = edited(tmp_path, allowlist__regions=["ap-northeast-3"])
    _refused(
        _gameday("--target", "aws", "--target-file", str(region), "--dry-run", env=env),
        "region ap-northeast-1 (tokyo) is not in",
    )
    _refused(
        _gameday("--target", "aws", "--target-file", str(EXAMPLE), env=env), "--allow-destructive"
    )
    _refused(
        _gameday("--target", "aws", "--target-file", str(EXAMPLE), "--allow-destructive", env=env),
        "boto3 finds no AWS credentials",
    )
    _refused(_gameday("--target", "aws", env=env), "needs a YAML target file")
    broken = edited(tmp_path, regions__tokyo__aws_region="tokyo")
    _refused(
        _gameday("--target", "aws", "--target-file", str(broken), "--dry-run", env=env),
        "regions.tokyo.aws_region: 'tokyo' is not an AWS region code",
    )


def test_gameday_dry_run_prints_every_experiments_plan(tmp_path: Path) -> None:
    result = _gameday(
        "--target", "aws", "--target-file", str(EXAMPLE), "--dry-run", env=_clean_env(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    experiments = sorted(p.stem for p in (EXAMPLE.parents[1]).glob("*.json"))
    for name in experiments:
        assert f"== {name}: " in out
    assert 'ec2.create_network_acl(VpcId="vpc-0a1b2c3d4e5f60718"' in out  # region-outage
    assert "ec2.replace_network_acl_association(" in out
    assert "ec2.delete_network_acl(" in out
    assert 'rds.failover_db_cluster(DBClusterIdentifier="seed-staging-orders-taiwan")' in out
    assert '"AllowDataLoss": ' not in out
    assert "AllowDataLoss=true" in out
    assert "NOT SUPPORTED: fault pause_replication_replay" in out
    assert f"{len(experiments)} experiment(s):" in out


def test_gameday_dry_run_on_k8s_and_k_narrows(tmp_path: Path) -> None:
    result = _gameday(
        "--target",
        "k8s",
        "--target-file",
        str(EXAMPLE),
        "--dry-run",
        "-k",
        "region-outage",
        env=_clean_env(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("== ") == 1
    assert "k8s.NetworkingV1Api.create_namespaced_network_policy(" in result.stdout


def test_drill_dry_run_on_aws_prints_the_exact_route53_calls(tmp_path: Path) -> None:
    result = subprocess.run(
        [AFTERSHOCK, "drill", "--target", "aws", "--target-file", str(EXAMPLE), "--dry-run"],
        capture_output=True, text=True, timeout=120, check=False, env=_clean_env(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("== ") == 1
    assert "== dr-drill: " in out
    check = 'HealthCheckId="3f1c2a9e-5b7d-4e21-9c0a-6d8e2f4b1a73"'  # taiwan's, in the example
    step_1 = out.index("action step-1-fail-taiwan-health-check")
    step_5 = out.index("action step-5-restore-taiwan")
    assert out.index(f"route53.get_health_check({check})", step_1) < step_5
    inverted = f"route53.update_health_check({check}, HealthCheckVersion=1, Inverted=true)"
    assert step_1 < out.index(inverted) < step_5
    reverted = f"route53.update_health_check({check}, HealthCheckVersion=1, Inverted=false)"
    assert out.index(reverted) > step_5
    # Taiwan's data path is never touched: no NACL, no FIS, no database failover.
    for untouched in ("ec2.", "fis.", "rds.failover", "rds.switchover"):
        assert untouched not in out
    assert "Locust subprocess: 30 users" in out
    assert "-> dr-drill can run on aws" in out


def test_drill_refuses_a_real_aws_run_without_allow_destructive(tmp_path: Path) -> None:
    result = subprocess.run(
        [AFTERSHOCK, "drill", "--target", "aws", "--target-file", str(EXAMPLE)],
        capture_output=True, text=True, timeout=120, check=False, env=_clean_env(tmp_path),
    )  # fmt: skip
    _refused(result, "pass --allow-destructive")


def test_the_plugin_refuses_a_bad_target_file_at_session_start(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    bad = edited(tmp_path, regions__tokyo__health_check_id="nope")
    result = pytester.runpytest_subprocess(
        "-p", "aftershock.pytest_plugin", "--target", "aws", "--target-file", str(bad)
    )
    assert result.ret == 2  # the gate's configuration error (pytest's own would be 4)
    problem = [line for line in result.errlines if "health_check_id" in line]
    assert len(problem) == 1
    assert "regions.tokyo.health_check_id: 'nope' is not a Route 53 health check id" in problem[0]
