"""Starting and stopping Locust without a sandbox: validation, the command, the registry."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aftershock.cli.load import parse_duration
from aftershock.load import task_mix
from aftershock.load.actions import stop_load, wait_until_sending
from aftershock.load.runner import LoadError, LoadSettings, registry_path, stop

AFTERSHOCK = str(Path(sys.executable).with_name("aftershock"))


def settings(tmp_path: Path, **changes: object) -> LoadSettings:
    base = {"host": "http://127.0.0.1:9", "run_dir": tmp_path / "run"}
    return LoadSettings(**{**base, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"users": 0}, "users must be between"),
        ({"spawn_rate": 0}, "spawn rate"),
        ({"shape": "tsunami"}, "shape must be one of"),
        ({"duration": 0}, "duration"),
        ({"processes": 0}, "processes"),
        ({"host": "127.0.0.1:8080"}, "http(s) URL"),
    ],
)
def test_bad_settings_are_refused_before_anything_starts(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(LoadError, match=message.replace("(", r"\(").replace(")", r"\)")):
        settings(tmp_path, **changes).validate()
    assert not (tmp_path / "run").exists()


def test_the_command_runs_our_locustfile_headless_with_the_shape_and_recording(
    tmp_path: Path,
) -> None:
    command = settings(tmp_path, shape="spike", processes=2, run_id="abc").command()
    assert command[:3] == [sys.executable, "-m", "locust"]
    assert command[command.index("-f") + 1].endswith("services/shop/locustfile.py")
    for flag, value in [("--shape", "spike"), ("--processes", "2"), ("--run-id", "abc"),
                        ("--run-dir", str(tmp_path / "run")), ("-t", "60s")]:  # fmt: skip
        assert command[command.index(flag) + 1] == value
    assert "--headless" in command
    assert "--shape" not in settings(tmp_path, shape="none").command()


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("2m", 120), ("1h", 3600)])
def test_durations_read_as_an_operator_writes_them(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_a_nonsense_duration_is_refused() -> None:
    with pytest.raises(LoadError, match="duration must look like"):
        parse_duration("soon")


def test_stop_is_harmless_when_nothing_runs(tmp_path: Path) -> None:
    registry = registry_path(tmp_path, "x")
    assert stop(registry) == {"stopped": False, "reason": "no load was running"}
    config = {"aftershock_state_root": str(tmp_path), "aftershock_sandbox": "x"}
    assert stop_load(config)["stopped"] is False
    assert stop_load(config)["stopped"] is False


def test_stop_ignores_a_registry_whose_process_is_gone(tmp_path: Path) -> None:
    registry = registry_path(tmp_path, "x")
    registry.parent.mkdir(parents=True)
    registry.write_text(
        json.dumps({"pid": 2**22 + 7, "starttime": 1, "run_dir": "r", "host": "h", "started": 0})
    )
    assert stop(registry)["stopped"] is False
    assert not registry.exists()


def test_waiting_for_a_load_that_never_started_says_so(tmp_path: Path) -> None:
    config = {"aftershock_state_root": str(tmp_path), "aftershock_sandbox": "x"}
    with pytest.raises(LoadError, match="the load is not running 0 s after"):
        wait_until_sending(timeout=0.3, configuration=config)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-u", "0", "--host", "http://127.0.0.1:9"], "users must be between"),
        (["-t", "soon", "--host", "http://127.0.0.1:9"], "duration must look like"),
        (["--shape", "tsunami", "--host", "http://127.0.0.1:9"], "shape must be one of"),
        (["--name", "nosuch"], "sandbox nosuch is not up"),
        (["--task-weights", "browse=3", "--host", "http://127.0.0.1:9"], "--task-weights"),
        (["--think-time", "3,1", "--host", "http://127.0.0.1:9"], "need 0 <= min <= max"),
    ],
)
def test_bad_load_requests_are_one_line_and_start_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    run_dir = tmp_path / "run"
    done = subprocess.run(
        [AFTERSHOCK, "load", *args, "--run-dir", str(run_dir), "--state-root", str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert not run_dir.exists()
    assert not (tmp_path / "loads").exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("list=30,product=45,cart=15,checkout=10", {"list": 30, "product": 45, "cart": 15,
                                                    "checkout": 10, "profile": 0}),
        ("checkout=1", {"list": 0, "product": 0, "cart": 0, "checkout": 1, "profile": 0}),
        ("checkout=1,profile=2", {"list": 0, "product": 0, "cart": 0, "checkout": 1,
                                  "profile": 2}),
    ],
)  # fmt: skip
def test_task_weights_read_as_written(text: str, expected: dict[str, int]) -> None:
    assert task_mix.weights(text) == expected


@pytest.mark.parametrize("text", ["browse=3", "list=x", "list=0,checkout=0", ""])
def test_bad_task_weights_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="--task-weights"):
        task_mix.weights(text)


@pytest.mark.parametrize(("text", "bounds"), [("1,3", (1.0, 3.0)), ("2", (2.0, 2.0))])
def test_think_time_reads_min_and_max(text: str, bounds: tuple[float, float]) -> None:
    assert task_mix.think_time(text) == bounds


@pytest.mark.parametrize("text", ["soon", "3,1", "-1,2"])
def test_bad_think_time_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="--think-time"):
        task_mix.think_time(text)


def test_a_stopped_locust_with_a_load_shape_ends_cleanly_and_keeps_its_records(
    tmp_path: Path,
) -> None:
    """SIGTERM would kill a shaped headless Locust outright; the harness's stop must not."""
    import time

    from aftershock.load import history
    from aftershock.load.runner import EXIT_FILE, STOP_FILE, launch, record_exit

    settings = LoadSettings(
        host="http://127.0.0.1:9", run_dir=tmp_path / "run", users=2, spawn_rate=2.0,
        duration=60, shape="steady",
    )  # fmt: skip
    registry = registry_path(tmp_path, "sb")
    _, process = launch(settings, registry)
    try:
        deadline = time.monotonic() + 30
        timeline = settings.run_dir / history.TIMELINE_FILE
        while not (timeline.exists() and timeline.stat().st_size) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert stop(registry)["sigkilled"] is False
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    record_exit(settings.run_dir, code)
    assert code == 0, (settings.run_dir / "locust.log").read_text()[-2000:]
    assert json.loads((settings.run_dir / EXIT_FILE).read_text())["stopped_by_harness"] is True
    assert (settings.run_dir / STOP_FILE).exists()
    assert "Shutting down (exit code 0)" in (settings.run_dir / "locust.log").read_text()
    assert history.read(timeline).records, "the timeline was flushed on the way out"
