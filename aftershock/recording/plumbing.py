"""What importing `aftershock.recording` hooks into Locust: options, recorder, timeline.

Locust's events are process-wide, so the hooks are added once, when the
package is first imported (as Locust plugins do). They give every run:

- the harness's command-line options (`options.add_options`);
- at init: each `ServiceUser`'s tasks from `--task-weights`, the request
  timeouts, a run id, the recorder (`recorder.Recorder`) and a request
  listener that writes every request, retries included, to the timeline;
- `began.json` when Locust begins its users, so the load's silence counts
  from there and not from Locust's start-up;
- the last records written (or shipped, on a worker) when Locust stops; a
  master waits for its workers' last records before it stops.
"""

from __future__ import annotations

import json
import logging
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
from locust import events
from locust.env import Environment
from locust.runners import WorkerRunner

from aftershock.load import answers, history, task_mix
from aftershock.recording.options import add_options, parsed
from aftershock.recording.recorder import Recorder
from aftershock.recording.user import ServiceUser


def register() -> None:
    """Add the hooks to Locust's events (the package's import does it, once)."""
    events.init_command_line_parser.add_listener(add_options)
    events.init.add_listener(on_init)
    events.test_start.add_listener(on_test_start)
    events.test_stopping.add_listener(on_test_stopping)
    events.test_stop.add_listener(on_test_stop)
    events.quitting.add_listener(on_quitting)


def on_init(environment: Environment, **kwargs: Any) -> None:
    """Set the users' tasks and timeouts, and start recording into `--run-dir`."""
    options = environment.parsed_options
    if options is None:  # imported by a tool, not run by Locust
        return
    weights = parsed(task_mix.weights, options.task_weights)
    for user_class in environment.user_classes:
        if issubclass(user_class, ServiceUser):
            _set_tasks(user_class, weights)
            user_class.network_timeout = options.request_timeout
            user_class.connection_timeout = min(options.request_timeout, 3.0)
    if not options.run_id:
        options.run_id = uuid.uuid4().hex[:8]
    # SIGINT (how the harness stops a run) is a KeyboardInterrupt in whichever
    # greenlet happens to run: once it killed the history flusher and Locust
    # never stopped. Deliver it to the main greenlet, whose handler shuts
    # Locust down and flushes the records.
    gevent.signal_handler(signal.SIGINT, _interrupt_main)
    run_dir = Path(options.run_dir) if options.run_dir else None
    recorder = Recorder(environment, run_dir)
    environment.aftershock_recorder = recorder  # type: ignore[attr-defined]
    if recorder.enabled:
        listener = timeline_listener(recorder.sink("timeline"), options.serving_header)
        environment.events.request.add_listener(listener)


def _set_tasks(user_class: type[ServiceUser], weights: dict[str, int]) -> None:
    """The class's `task_methods`, each as often as its weight; none named: its own tasks."""
    if not user_class.task_methods:
        return
    unknown = sorted(set(user_class.task_methods) - set(task_mix.TASKS))
    if unknown:
        raise SystemExit(
            f"{user_class.__name__}.task_methods: unknown task {', '.join(unknown)};"
            f" known: {', '.join(task_mix.TASKS)}"
        )
    user_class.tasks = [
        getattr(user_class, method)
        for name, method in user_class.task_methods.items()
        for _ in range(weights.get(name, 0))
    ]
    if not user_class.tasks:
        raise SystemExit(
            f"--task-weights gives {user_class.__name__} no task:"
            f" weigh one of {', '.join(user_class.task_methods)}"
        )


def _interrupt_main() -> None:
    gevent.get_hub().parent.throw(KeyboardInterrupt)


def timeline_listener(record: Callable[[Any], None], serving_header: str) -> Callable[..., None]:
    """A request listener that puts every request, retries included, on the timeline.

    Each request is classified here, where the client knows what it sent
    (`aftershock.load.answers`): a 2xx the task marked as failed is wrong,
    a 4xx the task declared in `context["expect"]` is its own doing.
    """
    named = bool(serving_header)
    classify = answers.classify

    def on_request(
        name: str,
        response_time: float,
        response: Any,
        context: dict[str, Any],
        start_time: float,
        exception: Any = None,
        **kwargs: Any,
    ) -> None:
        headers = response.headers
        region = (headers.get(serving_header) or None) if headers and named else None
        status = response.status_code or 0
        answer = classify(status, region, named, context.get("expect", ()), exception is None)
        record((start_time, name, status, response_time, region, context.get("geo"), answer))

    return on_request


def on_test_start(environment: Environment, **kwargs: Any) -> None:
    """Write down when Locust began its users: its start-up before that is not the load's silence.

    Under contention Locust can take many seconds to import and parse; the
    load coverage counts silence from here, and from the harness's launch
    only when this was never written (a Locust that died starting up).
    """
    options = environment.parsed_options
    run_dir = getattr(options, "run_dir", "") if options is not None else ""
    if not run_dir or isinstance(environment.runner, WorkerRunner):
        return  # a worker of a distributed run: its master writes it
    marker = Path(run_dir) / history.BEGAN_FILE
    if not marker.exists():
        marker.write_text(json.dumps({"began": time.time()}))


def on_test_stopping(environment: Environment, **kwargs: Any) -> None:
    """On a master: its workers' last records are in before it stops (`Recorder.drain_workers`)."""
    recorder = getattr(environment, "aftershock_recorder", None)
    if recorder is None:
        return
    late = recorder.drain_workers(float(environment.stop_timeout or 0) + 10.0)
    if late:
        logging.getLogger("aftershock").error(
            "workers %s did not send their last records: the history may miss completions",
            ", ".join(late),
        )


def on_test_stop(environment: Environment, **kwargs: Any) -> None:
    recorder = getattr(environment, "aftershock_recorder", None)
    if recorder is not None:
        recorder.finish()  # a worker's last batch goes out before it reports "stopped"


def on_quitting(environment: Environment, **kwargs: Any) -> None:
    recorder = getattr(environment, "aftershock_recorder", None)
    if recorder is not None:
        recorder.close()
