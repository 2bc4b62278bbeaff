"""`aftershock load`: an ad hoc headless Locust run with a live line and a run directory."""

from __future__ import annotations

import contextlib
import re
import signal
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.live import Live
from rich.text import Text

from aftershock.cli.common import NameOption, StateRootOption, interrupt, operator_errors, out
from aftershock.config.topology import DEFAULT_NAME, DEFAULT_STATE_ROOT, Topology
from aftershock.load import timeline
from aftershock.load.runner import (
    LoadError,
    LoadSettings,
    default_run_dir,
    history,
    launch,
    record_exit,
    registry_path,
    running,
    sandbox_host,
    stop,
    summarize,
    task_mix,
)
from aftershock.load.timeline import Tail

TICK = 1.0  # seconds between live-line updates
PLAIN_EVERY = 5  # ticks between lines when the output is not a terminal
_SPAN = re.compile(r"^(\d+(?:\.\d+)?)\s*([smh]?)$")


def parse_duration(text: str) -> float:
    """`90`, `90s`, `2m`, `1h` -> seconds."""
    match = _SPAN.match(text.strip().lower())
    if not match:
        raise LoadError(f"duration must look like 90, 90s, 2m or 1h, not {text!r}")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def load(
    users: Annotated[int, typer.Option("--users", "-u", help="Peak concurrent users.")] = 20,
    spawn_rate: Annotated[float, typer.Option("--spawn-rate", "-r", help="Users/s.")] = 10.0,
    duration: Annotated[str, typer.Option("--duration", "-t", help="90s, 5m, 1h.")] = "60s",
    shape: Annotated[str, typer.Option(help="none, steady, ramp, diurnal or spike.")] = "steady",
    host: Annotated[str, typer.Option(help="Drive this URL instead of the sandbox.")] = "",
    run_dir: Annotated[
        Path | None, typer.Option(help="Evidence directory (default results/load-<time>).")
    ] = None,
    processes: Annotated[int, typer.Option(help="Locust worker processes.")] = 1,
    think_time: Annotated[
        str, typer.Option(help="min,max seconds between tasks.")
    ] = task_mix.DEFAULT_THINK_TIME,
    task_weights: Annotated[
        str, typer.Option(help=task_mix.DEFAULT_WEIGHTS)
    ] = task_mix.DEFAULT_WEIGHTS,
    stop_running: Annotated[
        bool, typer.Option("--stop", help="Stop the load running for this sandbox and exit.")
    ] = False,
    name: NameOption = DEFAULT_NAME,
    state_root: StateRootOption = DEFAULT_STATE_ROOT,
) -> None:
    """Run production-shaped load (Locust, headless) with a live line; keep the evidence."""
    registry = registry_path(state_root, name)
    with operator_errors("load stopped; the run directory keeps what was recorded"):
        if stop_running:
            result = stop(registry)
            out().print(f"stopped pid {result['pid']}" if result["stopped"] else result["reason"])
            return
        products = 1000
        if not host:
            host, products = sandbox_host(Topology(name, state_root))
        settings = LoadSettings(
            host=host, run_dir=run_dir or default_run_dir(), users=users,
            spawn_rate=spawn_rate, shape=shape, duration=parse_duration(duration),
            processes=processes, think_time=think_time, task_weights=task_weights,
            products=products,
        )  # fmt: skip
        run, process = launch(settings, registry)
        previous = signal.signal(signal.SIGTERM, interrupt)
        try:
            out().print(f"locust pid {run.pid} -> {host}; evidence in {settings.run_dir}")
            _watch(settings, process.poll)
        finally:
            signal.signal(signal.SIGTERM, previous)
            if running(registry) is not None:
                stop(registry)
            registry.unlink(missing_ok=True)
            _report(settings.run_dir)
        record_exit(settings.run_dir, process.wait())
        if process.returncode != 0:
            raise LoadError(f"locust exited with {process.returncode}: see {settings.run_dir}")


def _watch(settings: LoadSettings, finished: object) -> None:
    """Print rps, error share, p95 and checkout outcomes until Locust exits."""
    requests = Tail(settings.run_dir / history.TIMELINE_FILE)
    operations = Tail(settings.run_dir / history.HISTORY_FILE)
    outcomes = dict.fromkeys(history.COMPLETIONS, 0)
    began = last = time.monotonic()
    console = out()
    live = Live(Text("starting..."), console=console, auto_refresh=False, transient=False)
    with live if console.is_terminal else contextlib.nullcontext():
        tick = 0
        while finished() is None:  # type: ignore[operator]
            time.sleep(TICK)
            now = time.monotonic()
            stats = timeline.summarize(requests.new_records(), now - last)
            last, tick = now, tick + 1
            for record in operations.new_records():
                if record.get("type") in outcomes:
                    outcomes[record["type"]] += 1
            line = f"{now - began:5.0f}s  {live_line(stats)}  " + (
                f"checkouts ok {outcomes['ok']} fail {outcomes['fail']} info {outcomes['info']}"
            )
            if console.is_terminal:
                live.update(Text(line), refresh=True)
            elif tick % PLAIN_EVERY == 0:
                console.print(line)


def live_line(stats: timeline.Traffic) -> str:
    """Rate, error rate and p95 of one tick's requests, as the live line shows them."""
    errors = f"{stats.error_rate:6.1%}" if stats.error_rate is not None else "     -"
    p95 = f"{stats.p95_ms:.0f} ms" if stats.p95_ms is not None else "-"
    return f"{stats.rps:7.1f} req/s  errors {errors}  p95 {p95:>7}"


def _report(run_dir: Path) -> None:
    summary = summarize(run_dir)
    rate, p95 = summary["error_rate"], summary["p95_ms"]
    figures = f"errors {rate:.1%}" if rate is not None else "no requests"
    figures += f", p95 {p95:.0f} ms" if p95 is not None else ""
    out().print(
        f"{summary['requests']} requests ({summary['rps']} req/s, {summary['errors']} errors; "
        f"{figures}), "
        f"{summary['operations']} checkouts: ok {summary['ok']}, fail {summary['fail']}, "
        f"info {summary['info']}, never completed {summary['pending']}; "
        f"history {run_dir / history.HISTORY_FILE}",
        soft_wrap=True,
    )
