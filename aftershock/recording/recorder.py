"""Where the locustfile's history and timeline records go, in every Locust mode.

- one process: straight into `history.jsonl` / `timeline.jsonl` in the run
  directory, in batches every 50 ms (`aftershock.load.history.BatchWriter`);
- master + workers (`--processes N`, or workers on other machines): each
  worker ships its records to the master as a Locust message every 25 ms and
  the master writes the one pair of files. Messages work across machines
  (per-worker files would be stranded on the workers' disks) and keep the
  worst loss of a SIGKILL inside 100 ms: 25 ms on the worker, 50 on the master.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from aftershock.load import history

MESSAGE = "aftershock-records"
SHIP_INTERVAL = 0.025


class Recorder:
    """Takes history and timeline records; writes or ships them as the runner's role says."""

    def __init__(self, environment: Environment, run_dir: Path | None) -> None:
        self.enabled = run_dir is not None
        self.runner = environment.runner
        self.shipping = self.enabled and isinstance(self.runner, WorkerRunner)
        self.files: dict[str, history.BatchWriter] = {}
        self.outbox: dict[str, deque[Any]] = {kind: deque() for kind in history.RECORD_FILES}
        if not self.enabled:
            return
        if self.shipping:
            gevent.spawn(self._ship_forever)
            return
        assert run_dir is not None
        for kind, name in history.RECORD_FILES.items():
            encode = history.request if kind == "timeline" else None
            self.files[kind] = history.BatchWriter(run_dir / name, encode=encode)
        if isinstance(self.runner, MasterRunner):
            self.runner.register_message(MESSAGE, self._received)

    def sink(self, kind: str) -> Callable[[Any], None]:
        """The function that takes one kind of record (`history.RECORD_FILES`): one C call each."""
        if not self.enabled:
            return _discard
        return self.outbox[kind].append if self.shipping else self.files[kind].append

    def close(self) -> None:
        """Ship or write whatever is left; safe to call more than once."""
        if self.shipping:
            self._ship()
        for writer in self.files.values():
            writer.close()

    def _ship(self) -> None:
        batch = {
            kind: [box.popleft() for _ in range(len(box))] for kind, box in self.outbox.items()
        }
        if any(batch.values()):
            assert self.runner is not None
            self.runner.send_message(MESSAGE, batch)

    def _ship_forever(self) -> None:
        while True:
            gevent.sleep(SHIP_INTERVAL)
            self._ship()

    def _received(self, environment: Environment, msg: Any, **kwargs: Any) -> None:
        for kind in history.RECORD_FILES:
            self.files[kind].extend(msg.data.get(kind, []))


def _discard(record: Any) -> None:
    """Where records go when the run has no run directory."""
