"""Gate and drill runs on a platform broken on purpose, side by side on sandboxes of their own.

A case names what to run (gate experiments, or the drill), one breakage
from `aftershock.breakages` and when it takes hold:

- `before`: applied once the sandbox is up, before the run starts;
- `at_start`: once the experiment began (its lag recorder runs);
- `under_load`: once the run's load has recorded its first request;
- `at_fault:<fault>`: once the experiment has injected `<fault>`;
- `at_undo:<fault>`: once the experiment began undoing `<fault>`.

`for_s` mends it that long after it took hold, `until` at a trigger of the
same kinds; else it holds to the end of the run.
Nothing tells the run: the breakage is in its own ledger, which no probe
reads. `WAVE` runs go at once, each on a lane of its own (each mostly
waits on leases, holds and pauses, and these machines have two cores);
every breakage is mended and every sandbox taken down afterwards, however
the run ended.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import side_by_side

from aftershock.breakages import apply as breaking
from aftershock.breakages.database import deleted_orders
from aftershock.config.topology import Topology
from aftershock.load import history
from aftershock.load.runner import registry_path, running, stop_sandbox_loads
from aftershock.targets.local.common import ledger

# The harness whose gate runs: this checkout, or another one's (AFTERSHOCK_GATE_ROOT) to
# see whether its verdicts catch the same breakages (the sandboxes stay this checkout's).
ROOT = Path(os.environ.get("AFTERSHOCK_GATE_ROOT") or Path(__file__).resolve().parents[1])
WAVE = 5
SHARED = "tshared"  # conftest's shared sandbox, up while these run
HOLD_S = "20"  # the hold budget: enough for the sandbox's failover, short for a test


@dataclass(frozen=True)
class Case:
    """One run on a broken platform."""

    run: str  # a `-k` expression for the gate's experiments, or "drill"
    breakage: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    when: str = "before"
    for_s: float | None = None
    until: str = ""  # a trigger that mends it (`at_fault:...`), else it holds to the end
    delay_s: float = 0.0  # after the trigger: a fault is recorded before it acts
    hold_s: str = HOLD_S
    budgets: dict[str, float] | None = None  # a target file's `budgets` for this run
    env: dict[str, str] = field(default_factory=dict)
    custom: Callable[[Topology], None] | None = None  # a break that is no library breakage
    sandbox_options: tuple[str, ...] = ()  # `aftershock sandbox up` options


@dataclass
class Run:
    """A finished run: exit code, output, where its evidence is, and what went wrong breaking."""

    code: int
    text: str
    results: Path
    breaking: str = ""
    touched: dict[str, Any] = field(default_factory=dict)

    def journal(self, experiment: str) -> dict[str, Any]:
        [path] = self.results.glob(f"gate-*/{experiment}/journal.json")
        return json.loads(path.read_text())

    def verdicts(self, experiment: str) -> dict[str, dict[str, Any]]:
        return {v["name"]: v for v in self.journal(experiment).get("aftershock_verdicts", [])}

    def summary(self) -> dict[str, Any]:
        [path] = self.results.glob("gate-*/summary.json")
        return json.loads(path.read_text())


class Runs(dict[str, Run]):
    """The runs by case name; a case not run (not chosen) skips the test that asks for it."""

    def __missing__(self, name: str) -> Run:
        import pytest

        pytest.skip(f"case {name} not chosen in AFTERSHOCK_BREAKAGE_CASES")


def chosen(cases: dict[str, Case]) -> dict[str, Case]:
    """The cases `AFTERSHOCK_BREAKAGE_CASES` names (comma-separated); all when it is unset."""
    wanted = [c for c in os.environ.get("AFTERSHOCK_BREAKAGE_CASES", "").split(",") if c]
    return {n: c for n, c in cases.items() if not wanted or n in wanted}


def verdict_line(text: str, name: str) -> str:
    """The first line naming verdict `name` (with CI set, pytest repeats the failure text).

    When no line names it, the failure shows the verdicts that did fail and the
    run's end: a run that failed for another reason says which.
    """
    lines = text.splitlines()
    found = next((x for x in lines if x.startswith(f"verdict {name}")), None)
    if found is None:
        others = sorted({x[:300] for x in lines if x.startswith(("verdict ", "steady state "))})
        raise AssertionError(
            f"no line for verdict {name}; the run's failing lines: {others}\n{text[-2500:]}"
        )
    return found


def command(topology: Topology, case: Case, results: Path) -> list[str]:
    if case.run == "drill":
        return [
            sys.executable, "-m", "aftershock.cli.main", "drill", "--name", topology.name,
            "--reuse-sandbox", "--results", str(results), "--level-seconds", "10",
        ]  # fmt: skip
    argv = [
        sys.executable, "-m", "pytest", "experiments", "-k", case.run, "--sandbox",
        topology.name, "--reuse-sandbox", "--results", str(results), "-p", "no:cacheprovider",
    ]  # fmt: skip
    if case.budgets:
        budgets = results / "budgets.json"
        budgets.write_text(json.dumps({"aftershock_budgets": case.budgets}))
        argv += ["--target-file", str(budgets)]
    return argv


def _trigger(topology: Topology, when: str, results: Path, since: float) -> Callable[[], bool]:
    """A test for the moment `when`, counting only what happened from `since` (the case's start).

    A lane's journal holds its earlier cases' faults too: an undo from the
    case before must not mend this one's breakage the moment it takes hold.
    """
    if when == "at_start":  # the experiment began: its lag recorder writes its first line
        return lambda: any(results.glob("gate-*/*/load/replication_lag.jsonl"))
    if when == "under_load":
        return lambda: _sending(topology)
    kind, _, fault = when.partition(":")
    events = {"at_fault": ("inject",), "at_undo": ("undo", "heal")}.get(kind)
    if events is None:
        raise ValueError(f"unknown trigger {when!r}")
    return lambda: any(
        e.fault == fault and e.event in events and e.at >= since for e in ledger(topology).events()
    )


def _sending(topology: Topology) -> bool:
    """The sandbox's load runs and has recorded a request: a breakage now lands under load.

    Running alone is not enough: under CI's contention Locust may take
    seconds to import and spawn, and a freeze that early froze a load that
    had not begun (seen: "no request was recorded").
    """
    load = running(registry_path(topology.state_root, topology.name))
    if load is None:
        return False
    timeline = Path(load.run_dir) / history.TIMELINE_FILE
    return timeline.exists() and timeline.stat().st_size > 0


def _break(
    topology: Topology, case: Case, process: subprocess.Popen[str], run: Run, stop: threading.Event
) -> None:
    """Wait for the case's moment, break the platform, mend it after `for_s`; note any error."""
    since = time.time()
    try:
        if case.when != "before":
            ready = _trigger(topology, case.when, run.results, since)
            while not ready():
                if process.poll() is not None or stop.is_set():
                    run.breaking = f"the run ended before {case.when}"
                    return
                time.sleep(0.2)
            stop.wait(case.delay_s)
            _apply(topology, case, run)
        if case.for_s is not None:
            stop.wait(case.for_s)
            breaking.undo_all(topology)
        elif case.until:
            mend = _trigger(topology, case.until, run.results, since)
            while not mend() and process.poll() is None and not stop.is_set():
                time.sleep(0.1)
            breaking.undo_all(topology)
    except Exception as exc:  # noqa: BLE001 - shown by the test that needed the breakage
        run.breaking += f"{type(exc).__name__}: {exc}"


def _apply(topology: Topology, case: Case, run: Run) -> None:
    if case.custom is not None:
        case.custom(topology)
    if case.breakage:
        run.touched = breaking.apply(topology, case.breakage, **case.params).touched


def run_cases(
    cases: dict[str, Case], tmp: Callable[[str], Path], lanes: str, at_once: int = WAVE
) -> dict[str, Run]:
    """Run every case on a sandbox of its own, `at_once` at a time; the runs by case name.

    `at_once` lanes (sandboxes `<lanes>1`, `<lanes>2`, ...) each take the
    next case as one ends: a pool, so a long run holds one lane, not a wave.
    A lane boots once and is made whole between its cases (the breakage
    mended, every fault healed, taiwan leading: what the gate does between
    experiments); it boots afresh when it cannot be, or when the next case
    needs other `sandbox up` options. Booting is most of a short run.
    """
    names = _lane_names(lanes, min(at_once, len(cases)))
    waiting = list(cases.items())
    lock = threading.Lock()
    runs: dict[str, Run] = {}

    def next_case(options: tuple[str, ...] | None) -> tuple[str, Case] | None:
        with lock:
            if not waiting:
                return None
            same = [i for i, (_, c) in enumerate(waiting) if c.sandbox_options == options]
            return waiting.pop(same[0] if same else 0)

    def lane(name: str) -> None:
        topology = Topology(name)
        booted: tuple[str, ...] | None = None
        try:
            while (picked := next_case(booted)) is not None:
                case_name, case = picked
                if booted != case.sandbox_options or not _made_whole(topology):
                    _boot(topology, case.sandbox_options)
                    booted = case.sandbox_options
                runs[case_name] = _run_one(topology, case, tmp(case_name))
        finally:
            side_by_side.down([topology])

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(names)) as pool:
        for future in [pool.submit(lane, n) for n in names]:
            future.result()
    return {name: runs[name] for name in cases}


def _boot(topology: Topology, options: tuple[str, ...]) -> None:
    """Boot a lane; once more when it failed (its failed boot's logs are kept).

    Five boots at once on two cores once left a Patroni replica not ready
    after 60 s: a lane that fails to boot twice fails its cases, not once.
    """
    try:
        side_by_side.boot([topology], {topology.name: options})
    except AssertionError as exc:
        print(f"lane {topology.name} did not boot ({str(exc)[-300:]}): booting it again",
              file=sys.stderr)  # fmt: skip
        side_by_side.boot([topology], {topology.name: options})


def _lane_names(prefix: str, count: int) -> list[str]:
    """`count` sandbox names, none on the subnet of another (or of the shared sandbox)."""
    taken = {Topology(n).subnet_index for n in (SHARED, f"{SHARED}1")}  # and xdist's second
    names: list[str] = []
    suffix = 0
    while len(names) < count:
        suffix += 1
        name = f"{prefix}{suffix}"
        if Topology(name).subnet_index not in taken:  # one subnet, one set of addresses
            taken.add(Topology(name).subnet_index)
            names.append(name)
    return names


def _made_whole(topology: Topology) -> bool:
    """The lane as booted again after a case; False when it could not be (boot it afresh)."""
    from aftershock.targets.local.reset import make_whole

    try:
        stop_sandbox_loads(topology)  # a load a run left
        breaking.undo_all(topology)
        make_whole(topology)
    except Exception as exc:  # noqa: BLE001 - a lane that is not whole is booted afresh
        print(f"lane {topology.name} not whole ({type(exc).__name__}: {exc}): booting it afresh",
              file=sys.stderr)  # fmt: skip
        return False
    return True


def _run_one(topology: Topology, case: Case, results: Path) -> Run:
    """Break the lane's sandbox, run, mend it; the run."""
    run = Run(-1, "", results)
    process: subprocess.Popen[str] | None = None
    try:
        if case.when == "before":
            try:
                _apply(topology, case, run)
            except Exception as exc:  # noqa: BLE001 - the test shows it
                run.breaking = f"{type(exc).__name__}: {exc}"
        env = {**os.environ, "AFTERSHOCK_HOLD_BUDGET_S": case.hold_s, **case.env}
        process = subprocess.Popen(
            command(topology, case, results), cwd=ROOT, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip
        stop_breaking = threading.Event()
        breaker = threading.Thread(
            target=_break, args=(topology, case, process, run, stop_breaking)
        )
        if case.when != "before" or case.for_s is not None or case.until:
            breaker.start()
        output, _ = process.communicate(timeout=900)
        run.code, run.text = process.returncode, output
        stop_breaking.set()
        if breaker.ident is not None:
            breaker.join(timeout=60)
        # What the platform's own defect left on record, read before the lane is made whole.
        if case.breakage == "orders_lost":
            run.touched["deleted"] = deleted_orders(topology)
        return run
    finally:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):  # mended again (and checked) before the next case
            breaking.undo_all(topology)
