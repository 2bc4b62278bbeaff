"""The generated daemon configurations keep the promises of the design."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from aftershock.config.topology import REGIONS, Topology
from aftershock.sandbox import cache, haproxy, postgres
from aftershock.sandbox.credentials import Credentials

TOPO = Topology("cfg")
CREDS = Credentials.generate()


@pytest.mark.parametrize(("mode", "sync"), [("sync", True), ("async", False)])
def test_replication_mode_sets_synchronous_mode(mode: str, sync: bool) -> None:
    cfg = postgres.config(TOPO, "taiwan", CREDS, mode)
    assert cfg["bootstrap"]["dcs"]["synchronous_mode"] is sync


def test_unknown_replication_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="sync"):
        postgres.config(TOPO, "taiwan", CREDS, "semi")


def test_failover_timing_obeys_patronis_safety_rule() -> None:
    dcs = postgres.config(TOPO, "taiwan", CREDS, "sync")["bootstrap"]["dcs"]
    # An isolated leader must demote before its lease can expire elsewhere.
    assert dcs["loop_wait"] + 2 * dcs["retry_timeout"] <= dcs["ttl"]
    assert dcs["postgresql"]["use_pg_rewind"] is True


def test_postgres_authenticates_with_scram_only_and_listens_on_its_region() -> None:
    cfg = postgres.config(TOPO, "tokyo", CREDS, "sync")
    hba = cfg["postgresql"]["pg_hba"]
    assert all(line.endswith("scram-sha-256") for line in hba)
    assert all(TOPO.subnet in line for line in hba if line.startswith("host"))
    assert cfg["postgresql"]["listen"].startswith(TOPO.address("tokyo") + ":")
    sockets = cfg["postgresql"]["parameters"]["unix_socket_directories"]
    assert not sockets.startswith(cfg["postgresql"]["data_dir"])


def test_redis_binds_only_its_region_and_requires_the_password() -> None:
    text = cache.config_text(TOPO, "taiwan", CREDS)
    assert f"bind {TOPO.address('taiwan')}\n" in text
    assert f"requirepass {CREDS.redis}\n" in text
    assert "protected-mode yes" in text


def test_haproxy_write_endpoint_follows_the_patroni_leader() -> None:
    cfg = haproxy.render(TOPO)
    write = cfg.split("listen pg-write", 1)[1].split("listen ", 1)[0]
    assert "uri /primary" in write
    for region in REGIONS:
        assert f"server {region} {TOPO.address(region)}:5432 check port 8008" in write


def test_haproxy_listens_only_on_the_sandbox_loopback() -> None:
    binds = [line.split()[1] for line in haproxy.render(TOPO).splitlines() if "bind " in line]
    assert binds
    assert all(b.startswith(TOPO.loopback + ":") for b in binds)


def test_haproxy_config_has_room_for_more_blocks() -> None:
    extra = "listen http-edge\n    bind 127.0.0.1:1\n"
    assert haproxy.render(TOPO, [extra]).endswith(extra)


def test_patroni_comes_from_a_place_the_postgres_user_can_read() -> None:
    readable = Path(tempfile.mkdtemp(dir="/tmp", prefix="aftershock-venv-"))
    try:
        readable.chmod(0o755)
        assert postgres._others_can_read(readable)
        readable.chmod(0o700)  # a private home directory
        assert not postgres._others_can_read(readable)
        inner = readable / "venv"
        inner.mkdir(mode=0o755)
        assert not postgres._others_can_read(inner), "a private parent hides the venv"
    finally:
        readable.chmod(0o755)
        shutil.rmtree(readable)


def test_patroni_is_a_release_with_the_etcd3_leader_key_compare_and_swap() -> None:
    done = subprocess.run(
        [str(postgres.patroni_bin()), "--version"], capture_output=True, text=True, check=True
    )
    version = tuple(int(part) for part in done.stdout.split()[-1].split(".")[:3])
    assert (3, 0, 4) <= version < (3, 2, 0), done.stdout
