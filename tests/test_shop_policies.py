"""ADR-037's shop settings that need no database: key scopes and the settings' own checks."""

from __future__ import annotations

import pytest

from aftershock.sandbox.shop.config import ShopConfig
from aftershock.sandbox.shop.errors import ApiError
from aftershock.sandbox.shop.policies import check_key_scope


def test_a_region_scoped_key_is_accepted_only_by_its_region() -> None:
    check_key_scope("run-abc@taiwan", "taiwan", "region")
    with pytest.raises(ApiError) as misdirected:
        check_key_scope("run-abc@taiwan", "tokyo", "region")
    assert misdirected.value.status == 421  # a definite answer: nothing was written
    with pytest.raises(ApiError) as unscoped:
        check_key_scope("run-abc", "tokyo", "region")
    assert unscoped.value.status == 422


def test_global_keys_are_accepted_anywhere_whatever_they_say() -> None:
    check_key_scope("run-abc@taiwan", "tokyo", "global")
    check_key_scope("run-abc", "tokyo", "global")


def base(**changes: object) -> dict[str, object]:
    return {
        "region": "taiwan", "listen_host": "127.0.0.1", "listen_port": 8000,
        "write_dsn": "host=x", "read_dsn": "host=x", "redis_host": "x", "redis_port": 6379,
        "redis_password": "p", **changes,
    }  # fmt: skip


def test_quorum_orders_need_the_other_regions_writer() -> None:
    with pytest.raises(ValueError, match="quorum needs peer_dsn"):
        ShopConfig(**base(orders_policy="quorum"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="inventory must be one of"):
        ShopConfig(**base(inventory="max"))  # type: ignore[arg-type]
    assert ShopConfig(**base(orders_policy="quorum", peer_dsn="host=y")).peer_dsn == "host=y"  # type: ignore[arg-type]
