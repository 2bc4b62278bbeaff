"""Waiting for a component to work, over the client's own path, under a deadline."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from aftershock.errors import ComponentFailed
from aftershock.sandbox.processes import log_tail


def wait_until(
    component: str,
    check: Callable[[], bool],
    timeout: float,
    watch: Mapping[str, tuple[subprocess.Popen[bytes], Path]] | None = None,
    interval: float = 0.1,
) -> float:
    """Poll `check` until it returns True; return the seconds it took.

    Fails at once, with the log tail, when a watched daemon exits; on timeout
    the message carries the log tail of every watched daemon. Exceptions from
    `check` count as "not yet".
    """
    watch = watch or {}
    start = time.monotonic()
    deadline = start + timeout
    while True:
        for name, (proc, log) in watch.items():
            code = proc.poll()
            if code is not None:
                raise ComponentFailed(
                    name, f"exited with code {code} while starting", log_tail(log)
                )
        try:
            if check():
                return time.monotonic() - start
        except Exception:  # noqa: BLE001, S110 - a probe that raises means "not ready yet"
            pass
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {n} ---\n{log_tail(log)}" for n, (_, log) in watch.items())
            raise ComponentFailed(component, f"not ready after {timeout:.0f} s", tails)
        time.sleep(interval)
