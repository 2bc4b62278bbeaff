"""A Chaos Toolkit control that records replication lag for the whole experiment.

Declared in an experiment's `controls`:

    {"name": "lag-recorder", "provider": {"type": "python",
     "module": "aftershock.controls.lag_recorder", "arguments": {"every_s": 1.0}}}

From the experiment's start to its end, a thread measures the lag with the
same probe the hypotheses use (`probes.replication.lag_seconds`) and appends
one JSON line per sample to `replication_lag.jsonl` in the load's run
directory (`aftershock_run_dir`), beside the request timeline; both are
read with `aftershock.load.history.read`. The report plots it. A sample that
cannot look (leader unreachable during an outage) is written with its
`error`, never dropped: a gap in the plot is a fact. Each sample also
carries the event mirrors' lag (`mirror`: seconds and messages behind, or
the reason it could not look), from `probes.events.mirror_lag`, the catalog
cache's (`cache`), from `probes.cache.cache_lag`, and on the sandbox, every
third sample, a stale read through both shops (`stale`), from
`probes.cache.stale_read_sample`. A wait that hit its cap is written with
its lower bound and `capped`, never as a gap. `check.lag` judges each.
Each line is flushed as it is taken, so a killed harness keeps what it saw.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaoslib.types import Configuration, Experiment, Journal, Secrets

from aftershock.load.runs import LAG_FILE

log = logging.getLogger("chaostoolkit")
RECORDER = "_aftershock_lag_recorder"  # the running recorder, kept on the experiment
JOIN_TIMEOUT = 10.0  # seconds: one sample's worst case (timeout plus connect) and then some
# Remote targets read CloudWatch, which publishes the lag once a minute: a
# sample a second would only repeat it (and spend API calls on production).
REMOTE_EVERY_S = 30.0
# The cache promise is 1 s: a wait capped there is a lag of at least the promise.
CACHE_CAP_S = 1.0
STALE_EVERY = 3  # samples between stale reads through both shops (each a few requests)


def sampling_interval(configuration: dict[str, Any] | None, every_s: float) -> float:
    """Seconds between samples: as asked on the sandbox, at least 30 s on a remote target."""
    remote = str((configuration or {}).get("aftershock_target", "local")) != "local"
    return max(float(every_s), REMOTE_EVERY_S) if remote else float(every_s)


def timed(take: Any, probe: Any, nested: bool = True) -> dict[str, Any]:
    """One measurement, with how long it took (`took_s`) and, nested, when it began (`at`).

    A verdict needs both to know whether a measurement met a fault: the
    sample's own time says when it began, not when it ended.
    """
    began = time.time()
    found = take(probe)
    found["took_s"] = round(time.time() - began, 3)
    if nested:
        found["at"] = round(began, 3)
    return found


@dataclass
class Recorder:
    """The thread that samples replication lag into one file."""

    configuration: dict[str, Any]
    path: Path
    every_s: float
    timeout: float
    stop: threading.Event = field(default_factory=threading.Event)
    samples: int = 0

    def run(self) -> None:
        from probes.cache import cache_lag, stale_read_sample
        from probes.events import mirror_lag
        from probes.replication import lag_seconds

        local = str(self.configuration.get("aftershock_target", "local")) == "local"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            while not self.stop.is_set():
                began = time.monotonic()
                sample = timed(self.sample, lag_seconds, nested=False)
                sample["mirror"] = timed(self.mirror_sample, mirror_lag)
                sample["cache"] = timed(self.cache_sample, cache_lag)
                # Stale reads write the production cache: on the sandbox only.
                if local and self.samples % STALE_EVERY == 0:
                    sample["stale"] = timed(self.stale_sample, stale_read_sample)
                out.write(json.dumps(sample) + "\n")
                out.flush()
                self.samples += 1
                self.stop.wait(max(0.0, self.every_s - (time.monotonic() - began)))

    def sample(self, lag_seconds: Any) -> dict[str, Any]:
        at = time.time()
        try:
            found = lag_seconds(self.timeout, configuration=self.configuration)
        except Exception as exc:  # noqa: BLE001 - any failure to look is recorded as such
            return {"t": round(at, 3), "max": None, "error": f"{type(exc).__name__}: {exc}"}
        replicas = {
            name: {"seconds": value.get("seconds"), "capped": bool(value.get("capped"))}
            # Multi-writer measures each direction in turn: each has its own write time.
            | ({"t": value["t"]} if value.get("t") is not None else {})
            for name, value in (found.get("replicas") or {}).items()
        }
        sample = {"t": round(at, 3), "max": found.get("max"), "leader": found.get("leader")}
        if replicas:
            sample["replicas"] = replicas
        if found.get("error"):
            sample["error"] = str(found["error"])
        return sample

    def mirror_sample(self, mirror_lag: Any) -> dict[str, Any]:
        try:
            found = mirror_lag(configuration=self.configuration)
        except Exception as exc:  # noqa: BLE001 - any failure to look is recorded as such
            return {"seconds": None, "messages": None, "error": f"{type(exc).__name__}: {exc}"}
        return {"seconds": found["max_seconds"], "messages": found["max_messages"]}

    def cache_sample(self, cache_lag: Any) -> dict[str, Any]:
        """The catalog cache's lag; a capped wait keeps its lower bound and says it was capped."""
        try:
            found = cache_lag(min(self.timeout, CACHE_CAP_S), configuration=self.configuration)
        except Exception as exc:  # noqa: BLE001 - any failure to look is recorded as such
            return {"seconds": None, "error": f"{type(exc).__name__}: {exc}"}
        sample = {"seconds": found.get("seconds"), "capped": bool(found.get("capped")),
                  "primary": found.get("primary")}  # fmt: skip
        if found.get("seconds") is None:
            sample["error"] = str(found.get("error") or "no figure")
        return sample

    def stale_sample(self, stale_read_sample: Any) -> dict[str, Any]:
        """How long the shops served the old catalog entry after a change (capped at 1 s)."""
        try:
            found = stale_read_sample(CACHE_CAP_S, configuration=self.configuration)
        except Exception as exc:  # noqa: BLE001 - any failure to look is recorded as such
            return {"seconds": None, "error": f"{type(exc).__name__}: {exc}"}
        return {"seconds": found["max_s"], "capped": found["capped"], "stale_s": found["stale_s"]}


def before_experiment_control(
    context: Experiment,
    configuration: Configuration = None,
    secrets: Secrets = None,
    every_s: float = 1.0,
    timeout: float = 2.0,
    **kwargs: Any,
) -> None:
    cfg = dict(configuration or {})
    run_dir = str(cfg.get("aftershock_run_dir") or "")
    if not run_dir:
        log.warning("lag-recorder: no aftershock_run_dir configured, replication lag not recorded")
        return
    every = sampling_interval(cfg, every_s)
    recorder = Recorder(cfg, Path(run_dir) / LAG_FILE, every, float(timeout))
    thread = threading.Thread(target=recorder.run, name="aftershock-lag-recorder", daemon=True)
    thread.start()
    context[RECORDER] = (recorder, thread)


def after_experiment_control(
    context: Experiment, state: Journal | None = None, **kwargs: Any
) -> None:
    running = context.pop(RECORDER, None)
    if running is None:
        return
    recorder, thread = running
    recorder.stop.set()
    thread.join(JOIN_TIMEOUT)
    if state is not None:
        state["aftershock_lag_samples"] = {"file": str(recorder.path), "samples": recorder.samples}
