"""Names, addresses and ports derived from a sandbox name."""

from __future__ import annotations

import pytest

from aftershock.config.topology import SITES, InvalidName, Topology


def test_every_kernel_name_carries_the_sandbox_name_and_fits_ifnamsiz() -> None:
    topo = Topology("abcdefgh")
    names = [topo.bridge, *topo.namespaces()]
    names += [topo.veth_host(s) for s in SITES] + [topo.veth_peer(s) for s in SITES]
    for name in names:
        assert name.startswith("abcdefgh-")
    for link in [topo.bridge] + [topo.veth_peer(s) for s in SITES]:
        assert len(link) <= 15, link


def test_state_dir_carries_the_sandbox_name(tmp_path) -> None:
    assert Topology("one", tmp_path).state_dir == tmp_path / "one"


def test_two_sandboxes_get_different_subnets_and_edges() -> None:
    a, b = Topology("tshared"), Topology("gameday")
    assert a.subnet != b.subnet
    assert a.loopback != b.loopback
    assert {a.address(s) for s in SITES}.isdisjoint({b.address(s) for s in SITES})


def test_addresses_stay_in_the_benchmarking_range() -> None:
    topo = Topology("as")
    for site in SITES:
        assert topo.address(site).startswith("198.18.")
        assert topo.site_of(topo.address(site)) == site
    assert topo.loopback.startswith("127.")


@pytest.mark.parametrize("bad", ["", "A", "1abc", "abc-def", "toolongname", "a b"])
def test_invalid_names_are_rejected_with_the_rule(bad: str) -> None:
    with pytest.raises(InvalidName, match="1-8 characters"):
        Topology(bad)


def test_unknown_site_names_the_valid_choices() -> None:
    with pytest.raises(ValueError, match="taiwan, tokyo, witness"):
        Topology("as").address("osaka")
