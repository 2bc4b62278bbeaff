"""Bad input and missing privileges: one clear line, a non-zero exit, nothing applied."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from aftershock.config.topology import Topology
from aftershock.sandbox import network

AFTERSHOCK = str(Path(sys.executable).with_name("aftershock"))


def _run(*args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, AFTERSHOCK, *args], capture_output=True, text=True, timeout=60, check=False
    )


def _one_clear_line(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr + result.stdout
    for needle in needles:
        assert needle in lines[0]


def test_invalid_name_is_one_line_with_the_rule() -> None:
    _one_clear_line(_run("sandbox", "up", "--name", "Bad_Name"), "1-8 characters")


def test_unknown_replication_mode_names_the_choices() -> None:
    _one_clear_line(_run("sandbox", "up", "--name", "tcli", "--replication", "semi"), "sync, async")
    assert not (Topology("tcli").state_dir).exists()


def test_without_net_admin_up_refuses_at_once_and_creates_nothing() -> None:
    # Drop CAP_NET_ADMIN from the bounding set: root without it, as in a
    # locked-down container.
    drop = ("setpriv", "--bounding-set=-net_admin", "--")
    result = _run("sandbox", "up", "--name", "tnocap", prefix=drop)
    _one_clear_line(result, "CAP_NET_ADMIN", "sudo")
    assert not [ns for ns in network.existing_namespaces() if ns.startswith("tnocap-")]
    assert not Topology("tnocap").state_dir.exists()


def test_status_of_a_sandbox_that_is_not_up_says_how_to_start_it() -> None:
    _one_clear_line(_run("sandbox", "status", "--name", "tabsent"), "aftershock sandbox up")


def test_heal_of_a_sandbox_that_is_not_up_says_how_to_start_it() -> None:
    _one_clear_line(_run("sandbox", "heal", "--name", "tabsent"), "not up")


def test_reap_with_nothing_left_says_so() -> None:
    result = _run("sandbox", "reap", "--name", "tabsent")
    assert result.returncode == 0
    assert "reaped tabsent: nothing left" in result.stdout


def test_gameday_refuses_an_unknown_target_or_a_missing_target_file_before_booting() -> None:
    _one_clear_line(_run("gameday", "--target", "mars", "--name", "tcli"), "local, aws, k8s")
    _one_clear_line(_run("gameday", "--target-file", "/nope.json", "--name", "tcli"), "/nope.json")
    assert not (Topology("tcli").state_dir).exists()
