"""A Chaos Toolkit control that stops an experiment when customers hurt too much for too long.

Declared in an experiment's `controls`:

    {"name": "safeguard", "provider": {"type": "python", "module": "aftershock.controls.safeguard",
     "arguments": {"max_error_rate": 0.5, "for_seconds": 60}}}

While the method runs, a watcher reads the load's error rate over the last
`window_s` seconds every `every_s` seconds. When it stays above
`max_error_rate` for `for_seconds`, the watcher stops the load and asks
chaoslib to end the experiment gracefully (SIGUSR1): the rollbacks still
run, the journal says "interrupted", and `aftershock_safeguard` in the
journal says why. So a game day on production stops itself.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from chaoslib.exit import exit_gracefully
from chaoslib.types import Configuration, Experiment, Journal, Secrets

from aftershock.errors import SandboxError
from aftershock.load.actions import stop_load

log = logging.getLogger("chaostoolkit")
GUARD = "_aftershock_safeguard"  # the running watcher, kept on the experiment while the method runs
TRIPPED = "_aftershock_safeguard_tripped"


@dataclass
class Watcher:
    """The thread that watches the error rate for one experiment."""

    configuration: dict[str, Any]
    max_error_rate: float
    for_seconds: float
    window_s: float
    every_s: float
    stop: threading.Event = field(default_factory=threading.Event)
    tripped: dict[str, Any] | None = None
    blind: str = ""  # why the watcher died, if it did

    def run(self) -> None:
        try:
            self.watch()
        except Exception as exc:  # noqa: BLE001 - a dead guard must be loud, not silently off
            self.blind = f"the safeguard stopped watching: {type(exc).__name__}: {exc}"
            log.critical(self.blind)

    def watch(self) -> None:
        from probes.traffic import error_rate

        above_since: float | None = None
        while not self.stop.wait(self.every_s):
            try:
                rate = float(error_rate(self.window_s, configuration=self.configuration)["rate"])
            except (SandboxError, OSError, ValueError) as exc:
                log.debug(f"safeguard cannot read the error rate yet: {exc}")
                continue
            now = time.monotonic()
            if rate <= self.max_error_rate:
                above_since = None
                continue
            above_since = above_since if above_since is not None else now
            if now - above_since >= self.for_seconds:
                self.trip(rate)
                return

    def trip(self, rate: float) -> None:
        self.tripped = {
            "reason": f"error rate {rate:.0%} above {self.max_error_rate:.0%} for "
            f"{self.for_seconds:g} s: experiment stopped, rollbacks played",
            "at": time.time(),
            "error_rate": rate,  # tripped by the platform's errors, not by the watcher's own
        }
        log.critical(f"safeguard: {self.tripped['reason']}")
        stop_load(self.configuration)
        exit_gracefully()


def before_method_control(
    context: Experiment,
    configuration: Configuration = None,
    secrets: Secrets = None,
    max_error_rate: float = 0.5,
    for_seconds: float = 60.0,
    window_s: float = 5.0,
    every_s: float = 1.0,
    **kwargs: Any,
) -> None:
    watcher = Watcher(
        dict(configuration or {}),
        float(max_error_rate),
        float(for_seconds),
        float(window_s),
        float(every_s),
    )
    threading.Thread(target=watcher.run, name="aftershock-safeguard", daemon=True).start()
    context[GUARD] = watcher


def after_method_control(context: Experiment, **kwargs: Any) -> None:
    watcher: Watcher | None = context.pop(GUARD, None)
    if watcher is not None:
        watcher.stop.set()
        if watcher.tripped:
            context[TRIPPED] = watcher.tripped
        elif watcher.blind:
            context[TRIPPED] = {"reason": watcher.blind, "at": time.time()}


def after_experiment_control(
    context: Experiment, state: Journal | None = None, **kwargs: Any
) -> None:
    after_method_control(context)  # an interrupted method may not have stopped it
    tripped = context.pop(TRIPPED, None)
    if tripped and state is not None:
        state["aftershock_safeguard"] = tripped
