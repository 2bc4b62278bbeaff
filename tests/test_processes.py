"""Process supervision: own process groups, SIGTERM then SIGKILL, exact identity."""

from __future__ import annotations

import os
import sys
import time

from aftershock.sandbox.processes import (
    DaemonSpec,
    Registry,
    Running,
    is_alive,
    log_tail,
    pids_with_argument,
    spawn,
    stop,
)

IGNORE_TERM = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"


def _python(tmp_path, name: str, code: str) -> DaemonSpec:
    return DaemonSpec(name=name, argv=[sys.executable, "-c", code], log=tmp_path / f"{name}.log")


def test_daemon_leads_its_own_process_group_and_logs_to_file(tmp_path) -> None:
    spec = _python(tmp_path, "hello", "print('hello from the daemon', flush=True)")
    proc, running = spawn(spec)
    assert os.getpgid(proc.pid) == proc.pid != os.getpgrp()
    proc.wait(10)
    assert "hello from the daemon" in log_tail(running.log)


def test_stop_terminates_gracefully_when_sigterm_is_honoured(tmp_path) -> None:
    _, running = spawn(_python(tmp_path, "sleeper", "import time; time.sleep(60)"))
    assert stop([running], timeout=5) == []
    assert not is_alive(running.pid, running.starttime)


def test_stop_kills_what_ignores_sigterm(tmp_path) -> None:
    _, running = spawn(_python(tmp_path, "stubborn", IGNORE_TERM))
    time.sleep(0.3)  # let it install the handler
    began = time.monotonic()
    assert stop([running], timeout=0.5) == ["stubborn"]
    assert time.monotonic() - began < 3
    assert not is_alive(running.pid, running.starttime)


def test_stop_kills_the_whole_group(tmp_path) -> None:
    code = "import subprocess, time; subprocess.Popen(['sleep', '60']); time.sleep(60)"
    proc, running = spawn(_python(tmp_path, "parent", code))
    time.sleep(0.3)
    children = [int(p) for p in os.listdir("/proc") if p.isdigit() and _pgid(int(p)) == proc.pid]
    assert len(children) == 2
    stop([running], timeout=5)
    time.sleep(0.1)
    assert not any(is_alive(pid) for pid in children)


def test_a_recycled_pid_is_not_mistaken_for_the_daemon(tmp_path) -> None:
    _, running = spawn(_python(tmp_path, "sleeper", "import time; time.sleep(60)"))
    impostor = Running(running.name, running.pid, running.starttime + 1, running.log)
    assert not is_alive(impostor.pid, impostor.starttime)
    assert stop([impostor]) == []
    assert is_alive(running.pid, running.starttime)  # the real one was left alone
    stop([running])


def test_stop_is_safe_on_daemons_that_are_gone(tmp_path) -> None:
    proc, running = spawn(_python(tmp_path, "brief", "pass"))
    proc.wait(10)
    assert stop([running, running]) == []


def test_pids_with_argument_matches_whole_arguments_only(tmp_path) -> None:
    marker = str(tmp_path / "exact.cfg")
    code = "import time; time.sleep(60)"
    proc, running = spawn(DaemonSpec("m", [sys.executable, "-c", code, marker], tmp_path / "m"))
    try:
        deadline = time.monotonic() + 5  # under load /proc may lag the exec briefly
        while pids_with_argument([marker]) != [proc.pid] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pids_with_argument([marker]) == [proc.pid]
        assert pids_with_argument([marker[:-1]]) == []  # a prefix is not a match
    finally:
        stop([running])


def test_registry_round_trips(tmp_path) -> None:
    reg = Registry(tmp_path / "processes.json")
    entry = Running("etcd-taiwan", 123, 456, "/x.log")
    reg.add(entry)
    assert reg.load() == {"etcd-taiwan": entry}
    reg.remove(["etcd-taiwan"])
    assert reg.load() == {}


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None
