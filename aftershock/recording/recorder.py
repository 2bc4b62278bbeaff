"""Where the locustfile's history and timeline records go, in every Locust mode.

- one process: straight into `history.jsonl` / `timeline.jsonl` in the run
  directory, in batches every 50 ms (`aftershock.load.history.BatchWriter`);
- master + workers (`--processes N`, or workers on other machines): each
  worker ships its records to the master as a Locust message every 25 ms and
  the master writes the one pair of files. Messages work across machines
  (per-worker files would be stranded on the workers' disks) and keep the
  worst loss of a SIGKILL inside 100 ms: 25 ms on the worker, 50 on the master.

A master that quits (the end of `-t`, Ctrl-C) waits only half a second for
its workers, which may still be stopping users mid-checkout: their last
completions came after the master had gone, and the history held invokes
that never completed. So before it quits, the master stops the workers
itself and waits until each has sent its last records (`drain_workers`).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
from locust.env import Environment
from locust.runners import STATE_MISSING, MasterRunner, WorkerRunner

from aftershock.load import history

MESSAGE = "aftershock-records"
STOP = "aftershock-stop"  # master -> worker: stop your users now, then send DONE
DONE = "aftershock-records-done"  # a worker's users stopped and its last records sent
SHIP_INTERVAL = 0.025


class Recorder:
    """Takes history and timeline records; writes or ships them as the runner's role says."""

    def __init__(self, environment: Environment, run_dir: Path | None) -> None:
        self.enabled = run_dir is not None
        self.runner = environment.runner
        self.shipping = self.enabled and isinstance(self.runner, WorkerRunner)
        self.files: dict[str, history.BatchWriter] = {}
        self.outbox: dict[str, deque[Any]] = {kind: deque() for kind in history.RECORD_FILES}
        self.finished: set[str] = set()  # on a master: the workers that sent DONE
        if not self.enabled:
            return
        if self.shipping:
            gevent.spawn(self._ship_forever)
            # Not Locust's own "stop": after it a worker sleeps --stop-timeout before it
            # reads the master's "quit".
            self.runner.register_message(STOP, self._stop_requested)
            return
        assert run_dir is not None
        for kind, name in history.RECORD_FILES.items():
            encode = history.request if kind == "timeline" else None
            self.files[kind] = history.BatchWriter(run_dir / name, encode=encode)
        if isinstance(self.runner, MasterRunner):
            self.runner.register_message(MESSAGE, self._received)
            self.runner.register_message(DONE, self._finished)

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

    def finish(self) -> None:
        """On a worker whose users have stopped: send the last records, then say so."""
        if self.shipping:
            self._ship()
            assert self.runner is not None
            self.runner.send_message(DONE, None)

    def drain_workers(self, timeout: float) -> list[str]:
        """On a master: stop every worker and wait until each sent its last records.

        Returns the workers that did not finish within `timeout` seconds
        (their last records may be missing; the caller says so).
        """
        if not isinstance(self.runner, MasterRunner):
            return []
        workers = {c.id for c in self.runner.clients.all if c.state != STATE_MISSING}
        self.finished.clear()
        for worker in workers:
            self.runner.send_message(STOP, None, worker)
        deadline = time.monotonic() + timeout
        while workers - self.finished and time.monotonic() < deadline:
            gevent.sleep(0.05)
        return sorted(workers - self.finished)

    def _stop_requested(self, environment: Environment, msg: Any, **kwargs: Any) -> None:
        assert self.runner is not None
        self.runner.stop()  # its test_stop sends the last records and DONE (`finish`)

    def _finished(self, environment: Environment, msg: Any, **kwargs: Any) -> None:
        self.finished.add(str(msg.node_id))

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
