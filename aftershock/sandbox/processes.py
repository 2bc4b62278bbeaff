"""Starting and stopping the sandbox's daemons.

Each daemon runs in its own process group, inside its site's namespace, as
its own system user, with its output in a log file (never an unread pipe).
Stopping is SIGTERM to the group, a wait, then SIGKILL. Identity is the pair
(pid, kernel start time), so a recycled PID is never signalled by mistake.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class DaemonSpec:
    """How to start one daemon."""

    name: str
    argv: Sequence[str]
    log: Path
    netns: str | None = None
    user: str | None = None
    group: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    def command(self) -> list[str]:
        """The full command line: enter the namespace, drop privileges, exec."""
        cmd: list[str] = []
        if self.netns:
            cmd += ["ip", "netns", "exec", self.netns]
        if self.user:
            # setpriv execs in place (unlike su/runuser, which fork and may
            # setsid), so the PID we record is the daemon's own.
            group = self.group or self.user
            cmd += ["setpriv", f"--reuid={self.user}", f"--regid={group}", "--init-groups"]
            cmd += ["--"]
        return cmd + list(self.argv)


@dataclass(frozen=True)
class Running:
    """A started daemon, as recorded in the process registry (enough to start it again)."""

    name: str
    pid: int
    starttime: int
    log: str
    command: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def log_path(self) -> Path:
        return Path(self.log)


def start_time(pid: int) -> int | None:
    """The kernel start time of `pid` (clock ticks since boot), or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def is_alive(pid: int, starttime: int | None = None) -> bool:
    """True if `pid` runs and, when given, started at `starttime`."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap our own zombie so it reads as dead
    now = start_time(pid)
    return now is not None and (starttime is None or now == starttime)


def spawn(spec: DaemonSpec) -> tuple[subprocess.Popen[bytes], Running]:
    """Start `spec` in a new process group; output goes to its log file."""
    spec.log.parent.mkdir(parents=True, exist_ok=True)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", **spec.env}
    command = spec.command()
    with spec.log.open("ab") as log:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            process_group=0,
            env=env,
            cwd="/",
        )
    started = start_time(proc.pid) or 0
    return proc, Running(spec.name, proc.pid, started, str(spec.log), command, env)


def respawn(previous: Running) -> tuple[subprocess.Popen[bytes], Running]:
    """Start a recorded daemon again with the very command and environment it had."""
    if not previous.command:
        raise ValueError(f"{previous.name}: the registry holds no command to start it again")
    spec = DaemonSpec(previous.name, previous.command, Path(previous.log), env=previous.env)
    return spawn(spec)


def stop(daemons: Iterable[Running], timeout: float = 5.0) -> list[str]:
    """SIGTERM every daemon's group, wait up to `timeout`, SIGKILL what is left.

    Returns the names of daemons that needed SIGKILL. Safe on daemons that
    are already gone.
    """
    pending = [d for d in daemons if is_alive(d.pid, d.starttime)]
    for daemon in pending:
        _signal_group(daemon.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        time.sleep(0.05)
        pending = [d for d in pending if is_alive(d.pid, d.starttime)]
    for daemon in pending:
        _signal_group(daemon.pid, signal.SIGKILL)
    kill_deadline = time.monotonic() + 2.0
    while any(is_alive(d.pid, d.starttime) for d in pending):
        if time.monotonic() > kill_deadline:
            break
        time.sleep(0.02)
    return [d.name for d in pending]


def kill_pids(pids: Iterable[int], timeout: float = 3.0) -> None:
    """SIGKILL each PID and its group, and wait until all are gone."""
    pids = list(pids)
    for pid in pids:
        _signal_group(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while any(is_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.02)


def _signal_group(pid: int, signum: int) -> None:
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return
    # Never signal our own group: a daemon always leads its own.
    if pgid == os.getpgrp():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def pids_with_argument(arguments: Iterable[str]) -> list[int]:
    """PIDs whose command line holds one of `arguments` as an exact element.

    Used to find a root-namespace daemon by the config path it was started
    with: an exact argument, never a substring of a process name.
    """
    wanted = set(arguments)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(arg.decode(errors="replace") in wanted for arg in argv):
            found.append(int(entry.name))
    return found


def log_tail(path: Path | str, lines: int = 20) -> str:
    """The last `lines` lines of a log file, or a note that there is none."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:]) or f"(log {path} is empty)"


class Registry:
    """The sandbox's record of what it started, in a JSON file.

    Written after every start so a killed CLI leaves a usable record; the
    reaper does not depend on it (it also sweeps namespaces), but `down`
    uses it to stop daemons in order and gracefully.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, Running]:
        try:
            raw = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return {name: Running(**entry) for name, entry in raw.items()}

    def add(self, running: Running) -> None:
        entries = self.load()
        entries[running.name] = running
        self._write(entries)

    def remove(self, names: Iterable[str]) -> None:
        entries = self.load()
        for name in names:
            entries.pop(name, None)
        self._write(entries)

    def _write(self, entries: dict[str, Running]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({n: asdict(r) for n, r in entries.items()}, indent=2))
        tmp.replace(self.path)
