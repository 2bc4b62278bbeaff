"""Sandboxes booted and taken down side by side, for tests that run several gates at once.

Each is its own `aftershock sandbox up` / `down` process: a boot or a
teardown mostly waits on its daemons, so several at once cost little more
than one.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from aftershock.config.topology import Topology

ROOT = Path(__file__).resolve().parents[1]


def _all(
    verb: str,
    topologies: Iterable[Topology],
    timeout: float = 300,
    options: Mapping[str, Sequence[str]] | None = None,
) -> list[str]:
    """Run `aftershock sandbox <verb> --name N [options]` for each at once; the failures' output."""
    started = [
        subprocess.Popen(
            [sys.executable, "-m", "aftershock.cli.main", "sandbox", verb, "--name", t.name,
             *((options or {}).get(t.name, ()))],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for t in topologies
    ]  # fmt: skip
    failed = []
    for process in started:
        output, _ = process.communicate(timeout=timeout)
        if process.returncode != 0:
            failed.append(output)
    return failed


def boot(
    topologies: Iterable[Topology], options: Mapping[str, Sequence[str]] | None = None
) -> None:
    """Take down what an earlier run left of each, then boot them all; fail on any that did not.

    `options` holds each sandbox's `sandbox up` options by name (a topology, say).
    """
    chosen = list(topologies)
    _all("down", chosen)
    failed = _all("up", chosen, options=options)
    assert not failed, "\n".join(failed)


def down(topologies: Iterable[Topology]) -> None:
    """Take every one down (also those that never booted); a failure is shown, not hidden."""
    failed = _all("down", topologies)
    assert not failed, "\n".join(failed)
