"""Per-sandbox secrets: generated once, private, never shared between sandboxes."""

from __future__ import annotations

import stat

from aftershock.sandbox.credentials import load_or_create


def test_credentials_are_private_and_stable(tmp_path) -> None:
    path = tmp_path / "credentials.json"
    first = load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create(path) == first


def test_each_sandbox_gets_its_own_passwords(tmp_path) -> None:
    a = load_or_create(tmp_path / "a.json")
    b = load_or_create(tmp_path / "b.json")
    assert a.postgres != b.postgres
    assert len({a.postgres, a.replication, a.redis, a.shop, a.patroni_api}) == 5


def test_credentials_from_an_older_release_keep_their_passwords_and_gain_the_new(
    tmp_path,
) -> None:
    import json

    path = tmp_path / "credentials.json"
    old = {"postgres": "p", "replication": "r", "shop": "s", "redis": "x", "patroni_api": "a"}
    path.write_text(json.dumps(old))
    creds = load_or_create(path)
    assert (creds.postgres, creds.redis) == ("p", "x")
    assert creds.broker
    assert creds.broker_link
    assert load_or_create(path) == creds
