"""The event path's generated configuration: brokers, the mirror link, the daemons' settings."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from aftershock.config.topology import BROKER_LEAF_PORT, EVENTS_HUB, Topology, other_region
from aftershock.errors import SandboxError
from aftershock.sandbox import brokers
from aftershock.sandbox.credentials import Credentials
from aftershock.sandbox.events.fulfilment import delivered_keys, repair
from aftershock.sandbox.events.keys import event_key
from aftershock.sandbox.options import SandboxOptions
from aftershock.sandbox.shop.config import ShopConfig
from aftershock.targets.local.events import mirror_link_ruleset

TOPO = Topology("cfg")
CREDS = Credentials.generate()


def test_the_hub_advertises_the_address_the_link_really_uses() -> None:
    text = brokers.config_text(TOPO, EVENTS_HUB, CREDS)
    address = f"{TOPO.address(EVENTS_HUB)}:{BROKER_LEAF_PORT}"
    assert f"listen: {address}" in text
    assert f"advertise: {address}" in text


def test_the_link_denies_the_stream_subjects_both_ways() -> None:
    text = brokers.config_text(TOPO, other_region(EVENTS_HUB), CREDS)
    assert 'deny_imports: ["orders.>"]' in text
    assert 'deny_exports: ["orders.>"]' in text
    assert f"@{TOPO.address(EVENTS_HUB)}:{BROKER_LEAF_PORT}" in text


@pytest.mark.parametrize("region", ["taiwan", "tokyo"])
def test_each_broker_is_its_own_jetstream_domain_with_client_auth(region: str) -> None:
    text = brokers.config_text(TOPO, region, CREDS)
    assert f"domain: {region}" in text
    assert CREDS.broker in text
    assert f"listen: {TOPO.address(region)}:" in text


@pytest.mark.parametrize("region", ["taiwan", "tokyo"])
def test_nats_server_accepts_the_generated_config(region: str, tmp_path: Path) -> None:
    conf = tmp_path / "nats.conf"
    conf.write_text(brokers.config_text(TOPO, region, CREDS))
    done = subprocess.run(
        ["nats-server", "-c", str(conf), "-t"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_mirror_link_cut_drops_only_the_leafnode_port_of_the_other_region() -> None:
    rules = mirror_link_ruleset(TOPO, "taiwan")
    peer = TOPO.address("tokyo")
    assert rules.count(f"tcp dport {BROKER_LEAF_PORT} drop") == 2
    assert rules.count(f"tcp sport {BROKER_LEAF_PORT} drop") == 2
    assert all(peer in line for line in rules.splitlines() if "drop" in line)
    assert "policy accept" in rules


def test_the_delivery_log_survives_a_torn_last_line(tmp_path: Path) -> None:
    log = tmp_path / "deliveries.jsonl"
    log.write_text(json.dumps({"key": "a"}) + "\n" + json.dumps({"key": "b"}) + '\n{"key": "c')
    assert delivered_keys(log) == {"a", "b"}
    assert delivered_keys(tmp_path / "absent.jsonl") == set()


def test_a_delivery_appended_after_a_torn_line_is_read_back(tmp_path: Path) -> None:
    log = tmp_path / "deliveries.jsonl"
    log.write_text(json.dumps({"key": "a"}) + '\n{"key": "tor')
    repair(log)
    with log.open("a") as out:
        out.write(json.dumps({"key": "b"}) + "\n")
    assert delivered_keys(log) == {"a", "b"}
    repair(tmp_path / "absent.jsonl")


def test_an_events_key_comes_from_its_payload_then_what_the_transport_carries() -> None:
    assert event_key(b'{"key": "k1"}', "other") == "k1"
    assert event_key(b"not json", "k2") == "k2"
    assert event_key(b'{"key": 7}', "k3") == "k3"
    assert event_key(b"{}", None) is None
    assert event_key(None, None) is None


def test_an_unknown_event_mode_is_refused_before_anything_starts() -> None:
    with pytest.raises(SandboxError, match="--events must be one of outbox, direct"):
        SandboxOptions(events="kafka")
    with pytest.raises(ValueError, match="events must be one of"):
        ShopConfig("taiwan", "h", 1, "w", "r", "h", 1, "p", events="twice")
