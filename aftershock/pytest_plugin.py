"""pytest plugin: Chaos Toolkit experiment files as test items, judged on a real target.

Loaded from the root `conftest.py`. Every `experiments/*.json` becomes one
item, its tags become markers (`pytest experiments -m gate`). For the local
target the session boots one sandbox at the first experiment and tears it
down at the end; between experiments it is made whole again
(`aftershock.targets.local.reset`). Each experiment runs through chaoslib with
rollbacks always played; its journal, load evidence and node logs are kept
in `<results>/<session>/<experiment>/`.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from aftershock.config.target import TARGETS
from aftershock.config.topology import DEFAULT_STATE_ROOT, Topology

if TYPE_CHECKING:
    from aftershock.report.run import Written

SESSION = pytest.StashKey["GateSession"]()
# Set when an experiment's safeguard tripped on the platform's error rate:
# pytest stops the session, but the platform failed; the gate could run.
STOPPED_BY_SAFEGUARD = pytest.StashKey[str]()
TAG_MARKERS = ("gate", "gameday", "active-active", "active-active-repeated", "drill")
PROFILES = {"default": "sync", "unsafe": "unsafe"}  # profile -> replication mode

# The gate's exit codes (aftershock gameday, make gameday): pytest's own are mapped, not leaked.
EXIT_PASSED = 0
EXIT_FAILED = 1  # a promise or the release policy failed
EXIT_USAGE = 2  # usage or configuration error
EXIT_COULD_NOT_RUN = 3  # the platform unreachable or not booted; a fault not injected or undone


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("aftershock", "aftershock experiments")
    group.addoption("--target", default="local", choices=TARGETS, help="Where faults go.")
    group.addoption(
        "--target-file",
        default=None,
        help="A YAML target file (aws, k8s: experiments/targets/*.yaml) or a JSON object "
        "of configuration values (e.g. aftershock_host).",
    )
    group.addoption(
        "--allow-destructive",
        action="store_true",
        help="Let aws / k8s faults change the environment the target file names.",
    )
    group.addoption("--sandbox", default="gameday", help="Local sandbox name (1-8 chars).")
    group.addoption(
        "--reuse-sandbox",
        action="store_true",
        help="Run against a sandbox that is already up; neither boot nor tear it down.",
    )
    group.addoption("--results", default="results", help="Where evidence is kept.")
    group.addoption(
        "--profile",
        default="default",
        choices=tuple(PROFILES),
        help="Sandbox profile: default (sync replication) or unsafe (async, failover at any lag).",
    )
    group.addoption(
        "--topology",
        default="single-writer",
        choices=("single-writer", "multi-writer"),
        help="Sandbox topology: one Patroni writer, or ADR-037's primary per region.",
    )
    group.addoption(
        "--metrics-file",
        default=None,
        help="Also write the run's metrics as a Prometheus text file (node-exporter's "
        "textfile collector), e.g. /var/lib/node_exporter/textfile/aftershock.prom.",
    )
    group.addoption(
        "--cloudwatch",
        action="store_true",
        help="aws: also put the run's metrics on CloudWatch (namespace Aftershock).",
    )
    group.addoption(
        "--notify",
        default=None,
        help="Post summary.md to this Slack-compatible webhook URL when the run ends.",
    )
    group.addoption(
        "--gate-policy",
        default=None,
        help="A release policy file (gate.yaml): required experiments, minimum score, "
        "budgets, regression against the passing runs under --results.",
    )
    group.addoption(
        "--policies",
        default="",
        help="multi-writer policies, e.g. orders=quorum,inventory=delta,keys=region "
        "(default: the ADR's own: local orders, lww stock, global keys).",
    )


def pytest_configure(config: pytest.Config) -> None:
    try:
        _check_options(config)
    except pytest.UsageError as exc:
        # The gate's exit codes: 2 is a usage or configuration error (pytest's own is 4).
        pytest.exit(f"error: {exc}", returncode=EXIT_USAGE)
    config.addinivalue_line("markers", "gate: in the pre-release resilience gate (CI)")
    config.addinivalue_line("markers", "gameday: in the full game-day suite")
    config.addinivalue_line(
        "markers", "active-active: ADR-037's partition, run per topology and policy"
    )
    config.addinivalue_line(
        "markers", "active-active-repeated: three link losses in a row, then reconciliation"
    )
    config.addinivalue_line("markers", "drill: the monthly DR drill (`aftershock drill`)")
    config.addinivalue_line("markers", "experiment: a Chaos Toolkit experiment file")


def _check_options(config: pytest.Config) -> None:
    """Every aftershock option, checked before anything boots: one line per problem."""
    # A YAML target file is checked before anything runs: one line naming every bad field.
    path = config.getoption("--target-file", None)
    if path and Path(path).suffix in (".yaml", ".yml"):
        _target_file(path)
    _gate_policy(config.getoption("--gate-policy", None))
    _check_outputs(config)
    sandbox_options(
        PROFILES[str(config.getoption("--profile", "default"))],
        str(config.getoption("--topology", "single-writer")),
        str(config.getoption("--policies", "")),
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    # experiments/*.json, and the suites in its subdirectories (experiments/drill/).
    folders = (file_path.parent.name, file_path.parent.parent.name)
    if file_path.suffix == ".json" and "experiments" in folders:
        return ExperimentFile.from_parent(parent, path=file_path)
    return None


class ExperimentFile(pytest.File):
    """One experiment file: a single item, or one clear collection error."""

    def collect(self) -> Iterator[ExperimentItem]:
        try:
            experiment = load_experiment(self.path)
        except ExperimentInvalid as exc:
            # CollectError is reported as its message alone: one line, no traceback.
            raise self.CollectError(str(exc)) from None
        item = ExperimentItem.from_parent(self, name=self.path.stem, experiment=experiment)
        item.add_marker("experiment")
        for tag in experiment.get("tags", []):
            if tag in TAG_MARKERS:
                item.add_marker(tag)
        yield item


class ExperimentInvalid(Exception):
    """An experiment file that cannot be run as written."""


def load_experiment(path: Path) -> dict[str, Any]:
    """Parse and validate an experiment file; raise ExperimentInvalid with one line."""
    from chaoslib.exceptions import ChaosException
    from chaoslib.experiment import ensure_experiment_is_valid

    try:
        experiment = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ExperimentInvalid(f"{path}: not JSON: {exc}") from None
    if not isinstance(experiment, dict):
        raise ExperimentInvalid(f"{path}: an experiment is a JSON object")
    try:
        ensure_experiment_is_valid(experiment)
    except ChaosException as exc:
        raise ExperimentInvalid(f"{path}: invalid experiment: {exc}") from None
    return experiment


class ExperimentFailed(Exception):
    """The experiment deviated, failed or was interrupted; the journal says where."""

    def __init__(self, summary: str) -> None:
        super().__init__(summary)
        self.summary = summary


OUTCOME = "aftershock_outcome"
COULD_NOT_RUN = "could-not-run"


def faults_failed(journal: dict[str, Any]) -> list[str]:
    """The fault actions (injections, undos, heals) the journal says failed.

    Such an experiment could not run as written: its verdicts judge a fault
    that was never injected, or a platform left broken, not the platform's promise.
    """
    failed = []
    for phase in ("run", "rollbacks"):
        for entry in journal.get(phase) or []:
            activity = entry.get("activity") or {}
            module = str((activity.get("provider") or {}).get("module", ""))
            if module.startswith("aftershock.faults") and entry.get("status") == "failed":
                failed.append(str(activity.get("name")))
    return failed


class ExperimentItem(pytest.Item):
    """One experiment run against the session's target; fails with what deviated."""

    def __init__(self, *, experiment: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.experiment = experiment

    def runtest(self) -> None:
        # Imported here: chaoslib is heavy, and `make test` loads this plugin too.
        from aftershock.runner.experiment import (
            harness_failure,
            run,
            verdict_summary,
            write_journal,
        )

        gate = gate_session(self.config)
        refusal = gate.refusal(self.experiment)
        if refusal:
            pytest.skip(f"{self.name}: {refusal}")
        try:
            evidence = gate.evidence_dir(self.name)
        except Exception as exc:
            # The report must know this experiment failed, as pytest will say.
            evidence = gate.root / self.name
            evidence.mkdir(parents=True, exist_ok=True)
            reason = f"the target was not ready: {type(exc).__name__}: {exc}"
            write_journal(evidence, harness_failure(self.experiment, reason))
            self.user_properties.append((OUTCOME, COULD_NOT_RUN))
            raise ExperimentFailed(f"{reason}\nevidence: {evidence}") from exc
        try:
            journal = run(self.experiment, gate.configuration(evidence), evidence)
        finally:
            gate.keep_node_logs(evidence)
        if journal.get("status") == "interrupted":
            self.session.shouldstop = f"{self.name} was interrupted (rollbacks were played)"
            if "error_rate" in (journal.get("aftershock_safeguard") or {}):
                self.config.stash[STOPPED_BY_SAFEGUARD] = self.name
        problems = verdict_summary(journal)
        if problems and faults_failed(journal):
            self.user_properties.append((OUTCOME, COULD_NOT_RUN))
        if problems:
            raise ExperimentFailed("\n".join([*problems, f"evidence: {evidence}"]))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ExperimentFailed):
            return f"experiment {self.name} failed:\n{excinfo.value.summary}"
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"experiment: {self.experiment.get('title', self.name)}"


def claim_results_dir(wanted: Path) -> Path:
    """`wanted`, or `wanted-2`, `-3`...: a run directory no other run holds.

    Named by the second a session began: two gates started together (CI's
    gate beside the rest of the game-day suite) would write into one.
    """
    wanted.parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, 100):
        path = wanted if n == 1 else wanted.with_name(f"{wanted.name}-{n}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"{wanted}: 99 run directories of that second already exist")


class GateSession:
    """What the experiments of one pytest session share: the target and the evidence root."""

    def __init__(self, config: pytest.Config) -> None:
        self.target = str(config.getoption("--target"))
        self.overrides = _target_file(
            config.getoption("--target-file"), bool(config.getoption("--allow-destructive"))
        )
        self.topology = Topology(str(config.getoption("--sandbox")), Path(DEFAULT_STATE_ROOT))
        self.reuse = bool(config.getoption("--reuse-sandbox"))
        self.replication = PROFILES[str(config.getoption("--profile"))]
        self.options = sandbox_options(
            self.replication,
            str(config.getoption("--topology", "single-writer")),
            str(config.getoption("--policies", "")),
        )
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.root = Path(str(config.getoption("--results"))).resolve() / f"gate-{stamp}"
        self.booted = False
        self.experiments = 0
        self.report: Written | None = None
        self.report_error = ""
        self.policy = _gate_policy(config.getoption("--gate-policy", None))
        self.policy_result: Any = None
        self.metrics_file = config.getoption("--metrics-file", None)
        self.cloudwatch = bool(config.getoption("--cloudwatch", False))
        self.notify = config.getoption("--notify", None)
        self.delivered: list[str] = []  # where the results went, or why they did not

    def refusal(self, experiment: dict[str, Any]) -> str | None:
        """Why this session's sandbox topology cannot run `experiment` (None: it can)."""
        if self.target != "local":
            return None
        from aftershock.sandbox.state import writers_of
        from aftershock.targets.local.topologies import experiment_refusal

        kind = writers_of(self.topology) if self.reuse else self.options.topology
        return experiment_refusal(experiment, kind)

    def configuration(self, evidence: Path) -> dict[str, Any]:
        return {
            "aftershock_target": self.target,
            "aftershock_sandbox": self.topology.name,
            "aftershock_state_root": str(self.topology.state_root),
            "aftershock_run_dir": str(evidence / "load"),
            **self.overrides,
        }

    def evidence_dir(self, name: str) -> Path:
        """Ready the target for the next experiment and give it its evidence directory.

        The directory comes first: an experiment whose target could not be
        readied still has its place in the report, saying so.
        """
        first = self.experiments == 0
        if first:
            self.root = claim_results_dir(self.root)
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        self.experiments += 1
        if self.target == "local":
            self._ready_sandbox(first)
        return path

    def _ready_sandbox(self, first: bool) -> None:
        from aftershock.load.runner import stop_sandbox_loads
        from aftershock.sandbox import lifecycle
        from aftershock.targets.local.reset import make_whole

        if not self.booted and not self.reuse:
            lifecycle.up(self.topology, self.options)
            self.booted = True
        if first:  # the report heads its promise column with the topology and policies
            from aftershock.sandbox.state import options_of

            booted = options_of(self.topology) or self.options.as_dict()
            (self.root / "sandbox.json").write_text(json.dumps(booted, indent=2))
        else:
            # A load the previous experiment left running would write into this one's evidence
            # (and a drill's added load, beside it).
            stop_sandbox_loads(self.topology)
            make_whole(self.topology)

    def keep_node_logs(self, evidence: Path) -> None:
        """The sandbox's daemon logs so far, beside the experiment's journal."""
        if self.target == "local" and self.topology.log_dir.exists():
            shutil.copytree(self.topology.log_dir, evidence / "node-logs", dirs_exist_ok=True)

    def write_report(self) -> None:
        """report.html, summary.md and summary.json for the experiments that ran.

        The CI job summary gets summary.md when the CI provides one
        (`GITHUB_STEP_SUMMARY`). A report that fails is said at the end of
        the session; it never changes the gate's verdict.
        """
        if not self.experiments or not self.root.is_dir():
            return
        from aftershock.report.run import MARKDOWN_FILE, write_report

        try:
            self.report = write_report(self.root)
        except Exception as exc:  # noqa: BLE001 - the verdict stands; the report's failure is shown
            self.report_error = f"{type(exc).__name__}: {exc}"
            return
        if self.policy is not None:
            from aftershock.report.policy import apply_policy

            self.policy_result = apply_policy(self.root, self.policy, self.root.parent)
        self.deliver()
        step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if step_summary:
            with open(step_summary, "a", encoding="utf-8") as out:
                out.write((self.root / MARKDOWN_FILE).read_text(encoding="utf-8"))

    def deliver(self) -> None:
        """The run's metrics and summary, where the options send them; a failure is said,
        and never changes the verdict."""
        from aftershock.report.run import JSON_FILE, MARKDOWN_FILE

        summary = json.loads((self.root / JSON_FILE).read_text())
        if self.metrics_file:
            from aftershock.report.metrics import write_prometheus

            try:
                path = write_prometheus(Path(self.metrics_file), summary, self.target)
                self.delivered.append(f"metrics: {path}")
            except OSError as exc:
                self.delivered.append(f"metrics NOT written to {self.metrics_file}: {exc}")
        if self.cloudwatch:
            from aftershock.report.metrics import cloudwatch_data
            from aftershock.targets.aws.metrics import put_run_metrics
            from aftershock.targets.drivers import build

            try:
                ctx = build(self.configuration(self.root), "aws")
                sent = put_run_metrics(ctx, cloudwatch_data(summary, self.target))
                self.delivered.append(f"CloudWatch: {sent['metrics']} metrics in {sent['region']}")
            except Exception as exc:  # noqa: BLE001 - said, never a changed verdict
                self.delivered.append(f"CloudWatch NOT updated: {type(exc).__name__}: {exc}")
        if self.notify:
            from aftershock.report.notify import NotifyFailed, post

            try:
                status = post(self.notify, (self.root / MARKDOWN_FILE).read_text(encoding="utf-8"))
                self.delivered.append(f"webhook: answered {status}")
            except NotifyFailed as exc:
                self.delivered.append(f"webhook NOT notified: {exc}")

    def finish(self) -> None:
        if self.booted:
            from aftershock.sandbox import lifecycle

            lifecycle.down(self.topology)


def sandbox_options(replication: str, topology: str, policies: str) -> Any:
    """The sandbox this session boots; a bad `--topology` or `--policies` is a usage error."""
    from aftershock.errors import SandboxError
    from aftershock.sandbox.options import with_policies

    try:
        return with_policies(replication, topology, policies)
    except SandboxError as exc:
        raise pytest.UsageError(str(exc)) from None


def gate_session(config: pytest.Config) -> GateSession:
    if SESSION not in config.stash:
        config.stash[SESSION] = GateSession(config)
    return config.stash[SESSION]


def pytest_sessionfinish(session: pytest.Session) -> None:
    gate = session.config.stash.get(SESSION, None)
    if gate is not None:
        try:
            gate.finish()
        finally:
            gate.write_report()
        broken = gate.policy_result is not None and gate.policy_result.valid is not True
        if broken and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = EXIT_FAILED  # the release policy failed
    if gate is not None or _experiments_selected(session):
        session.exitstatus = gate_exit_code(session)


def _experiments_selected(session: pytest.Session) -> bool:
    return any(Path(str(arg).split("::")[0]).name == "experiments" for arg in session.config.args)


def gate_exit_code(session: pytest.Session) -> int:
    """pytest's exit status as the gate's: 0 passed, 1 failed, 2 usage, 3 could not run."""
    status = session.exitstatus
    failed_items = [
        item for item in session.items
        if dict(getattr(item, "user_properties", [])).get(OUTCOME) == COULD_NOT_RUN
    ]  # fmt: skip
    if failed_items:
        return EXIT_COULD_NOT_RUN
    if status == pytest.ExitCode.INTERRUPTED and STOPPED_BY_SAFEGUARD in session.config.stash:
        return EXIT_FAILED  # the platform's errors tripped the safeguard: it failed
    if status in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR):
        return EXIT_COULD_NOT_RUN
    if status in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.NO_TESTS_COLLECTED):
        return EXIT_USAGE
    if status == pytest.ExitCode.TESTS_FAILED:
        return EXIT_FAILED
    return int(status)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    gate = terminalreporter.config.stash.get(SESSION, None)
    if gate is None or not (gate.report or gate.report_error):
        return
    if gate.report_error:
        terminalreporter.write_line(f"report NOT written: {gate.report_error}", red=True)
        return
    from aftershock.report.text import score

    written = gate.report
    terminalreporter.write_sep("-", f"game-day report: resilience score {score(written.score)}")
    # The verdict table in the log too: not every CI has a job-summary page.
    terminalreporter.write_line(written.markdown.read_text(encoding="utf-8"))
    for path in (written.html, written.markdown, written.json):
        terminalreporter.write_line(str(path))
    for line in gate.delivered:
        terminalreporter.write_line(line, red=" NOT " in line)


def _check_outputs(config: pytest.Config) -> None:
    """--notify and --cloudwatch, refused in one line before anything runs."""
    from aftershock.errors import SandboxError
    from aftershock.report.notify import check_url

    url = config.getoption("--notify", None)
    if url:
        try:
            check_url(url)
        except SandboxError as exc:
            raise pytest.UsageError(str(exc)) from None
    if config.getoption("--cloudwatch", False) and config.getoption("--target", "") != "aws":
        raise pytest.UsageError("--cloudwatch puts metrics on the aws target: add --target aws")


def _gate_policy(path: str | None) -> Any:
    """The --gate-policy file, validated; a bad one is a usage error in one line."""
    if not path:
        return None
    from aftershock.config.gate_policy import GatePolicyInvalid, load

    try:
        return load(Path(path))
    except GatePolicyInvalid as exc:
        raise pytest.UsageError(str(exc)) from None


def _target_file(path: str | None, allow_destructive: bool = False) -> dict[str, Any]:
    """The configuration a --target-file adds: a YAML target file's, or a JSON object's values."""
    if not path:
        return {}
    if Path(path).suffix in (".yaml", ".yml"):
        from aftershock.config.target_file import load
        from aftershock.errors import SandboxError
        from aftershock.targets.aws.safety import ALLOW_KEY, check_allowlist

        try:
            target = load(Path(path))
            check_allowlist(target)
        except SandboxError as exc:
            raise pytest.UsageError(str(exc)) from None
        return {**target.configuration(), ALLOW_KEY: allow_destructive}
    try:
        values = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise pytest.UsageError(f"--target-file {path}: {exc}") from None
    if not isinstance(values, dict):
        raise pytest.UsageError(f"--target-file {path}: expected a JSON object")
    return values
