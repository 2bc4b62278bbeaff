"""A service contract: how the sandbox runs a service, reads its database and loads it.

One YAML file per service (the shop's ships in the package,
`aftershock/services/shop/service.yaml`). Four sections:

- `sandbox`: the service's process in each region (argv, working
  directory, user, stop signal and grace, environment, readiness) and its
  sidecars, declared the same way; values are templates over
  `config.placeholders.PLACEHOLDERS`;
- `schema`: the database, the SQL applied at boot, and the final reads
  (`config.service_reads.READS`: fixed names and result shapes);
- `load`: the service's locustfile, written on the recording API;
- `events` (optional): where its events carry the order's key.

`load_contract` names every bad field at once, in one line, and raises
`ContractInvalid` (exit 2): a contract is checked before anything boots.
"""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aftershock.config.fields import Fields, read_yaml
from aftershock.config.placeholders import problems_of
from aftershock.config.service_reads import READS
from aftershock.errors import SandboxError

CONTRACT_VERSION = 1
NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
HTTP_PATH = re.compile(r"^/[^\s]*$")
DEFAULT_USER = "nobody"  # the sandbox's daemons never run as root
SHOP_CONTRACT = Path(__file__).resolve().parents[1] / "services" / "shop" / "service.yaml"
"""The default service: the shop's own contract."""


class ContractInvalid(SandboxError):
    """A contract that cannot be used as written; the message names every bad field. Exit 2."""

    exit_code = 2


@dataclass(frozen=True)
class Readiness:
    """The answer that means an instance is ready: GET `path` answers one of `statuses`."""

    path: str
    statuses: tuple[int, ...]
    timeout_s: float


@dataclass(frozen=True)
class Process:
    """One process per region: the service itself, or a sidecar."""

    name: str
    command: tuple[str, ...]
    workdir: str
    user: str
    stop_signal: signal.Signals
    stop_grace_s: float
    env: dict[str, str]


@dataclass(frozen=True)
class Events:
    """Where the service's events carry the order's key (`field` of a JSON message body)."""

    subject: str
    key_field: str


@dataclass(frozen=True)
class ServiceContract:
    """A loaded, validated contract. `path` is the file; relative paths are against its folder."""

    path: Path
    name: str
    service: Process
    readiness: Readiness
    sidecars: tuple[Process, ...]
    database: str
    schema_files: tuple[Path, ...]
    reads: dict[str, str]
    locustfile: Path
    events: Events | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.path.parent

    def declares(self, read: str) -> bool:
        """True when the service declares the final read `read` (a name of READS)."""
        return read in self.reads


def load_contract(path: Path | str | None = None) -> ServiceContract:
    """Read and validate the contract at `path` (the shop's when None)."""
    path = Path(path) if path is not None else SHOP_CONTRACT
    raw = read_yaml(path, "service contract", ContractInvalid)
    problems: list[str] = []
    contract = _parse(path.resolve(), raw, problems)
    if problems:
        raise ContractInvalid(f"service contract {path}: " + "; ".join(problems))
    return contract


def _parse(path: Path, raw: Any, problems: list[str]) -> ServiceContract:
    top = Fields(raw, "", problems)
    top.known("contract", "name", "sandbox", "schema", "load", "events")
    version = top.data.get("contract")
    if version != CONTRACT_VERSION:
        problems.append(f"contract: must be {CONTRACT_VERSION} (this harness's contract version)")
    name = top.text("name", NAME, "a lowercase name (letters, digits, -; 32 at most)")
    sandbox = top.section("sandbox") or Fields({}, "sandbox", [])
    sandbox.known(
        "command", "workdir", "user", "stop_signal", "stop_grace_s", "env", "readiness",
        "sidecars",
    )  # fmt: skip
    service = _process(name or "service", sandbox)
    readiness = _readiness(sandbox.section("readiness") or Fields({}, "", []))
    sidecars = []
    listed = sandbox.data.get("sidecars", [])
    if not isinstance(listed, list):
        problems.append("sandbox.sidecars: must be a list")
        listed = []
    for index, item in enumerate(listed):
        fields = Fields(item, f"sandbox.sidecars[{index}]", problems)
        fields.known("name", "command", "workdir", "user", "stop_signal", "stop_grace_s", "env")
        sidecars.append(_process(fields.text("name", NAME, "a lowercase name"), fields))
    schema = top.section("schema") or Fields({}, "schema", [])
    schema.known("database", "apply", "reads")
    reads = _reads(schema.section("reads") or Fields({}, "schema.reads", []))
    load = top.section("load") or Fields({}, "load", [])
    load.known("locustfile")
    locustfile = _file(path.parent, load, "locustfile", problems)
    return ServiceContract(
        path=path,
        name=name,
        service=service,
        readiness=readiness,
        sidecars=tuple(sidecars),
        database=schema.text("database", NAME, "a database name (lowercase, digits, -)"),
        schema_files=_files(path.parent, schema, "apply", problems),
        reads=reads,
        locustfile=locustfile or path.parent,
        events=_events(top.section("events", required=False)),
    )


def _process(name: str, fields: Fields) -> Process:
    """A process section: argv and the rest, every template checked for its placeholders."""
    command = fields.data.get("command")
    argv: tuple[str, ...] = ()
    if not isinstance(command, list) or not command:
        state = "missing" if command is None else "must be a non-empty list of strings (argv)"
        fields.problems.append(f"{fields.name('command')}: {state}")
    elif not all(isinstance(a, str) and a for a in command):
        fields.problems.append(f"{fields.name('command')}: every item must be a non-empty string")
    else:
        argv = tuple(command)
        for index, arg in enumerate(argv):
            fields.problems.extend(problems_of(arg, f"{fields.name('command')}[{index}]"))
    workdir = fields.text("workdir", default="{service_dir}")
    fields.problems.extend(problems_of(workdir, fields.name("workdir")))
    env_fields = fields.section("env", required=False) or Fields({}, fields.name("env"), [])
    env: dict[str, str] = {}
    for key, value in env_fields.data.items():
        where = env_fields.name(str(key))
        if not isinstance(key, str) or not ENV_NAME.match(key):
            fields.problems.append(f"{where}: not an environment variable name")
        elif not isinstance(value, str | int) or isinstance(value, bool):
            fields.problems.append(f"{where}: must be a string")
        else:
            env[key] = str(value)
            fields.problems.extend(problems_of(str(value), where))
    return Process(
        name=name,
        command=argv,
        workdir=workdir,
        user=fields.text("user", USER, "a user name", default=DEFAULT_USER),
        stop_signal=_signal(fields),
        stop_grace_s=_seconds(fields, "stop_grace_s", 10.0),
        env=env,
    )


def _signal(fields: Fields) -> signal.Signals:
    text = fields.text("stop_signal", default="SIGTERM")
    try:
        return signal.Signals[text if text.startswith("SIG") else f"SIG{text}"]
    except KeyError:
        fields.problems.append(f"{fields.name('stop_signal')}: {text!r} is not a signal name")
        return signal.SIGTERM


def _seconds(fields: Fields, key: str, default: float) -> float:
    value = fields.data.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value <= 600:
        fields.problems.append(f"{fields.name(key)}: must be seconds, above 0 and at most 600")
        return default
    return float(value)


def _readiness(fields: Fields) -> Readiness:
    if not fields.where:  # the section is missing: already said
        return Readiness("/", (200,), 60.0)
    fields.known("path", "status", "timeout_s")
    status = fields.data.get("status", 200)
    statuses = tuple(status) if isinstance(status, list) else (status,)
    if not statuses or not all(
        isinstance(s, int) and not isinstance(s, bool) and 100 <= s <= 599 for s in statuses
    ):
        fields.problems.append(f"{fields.name('status')}: must be an HTTP status or a list of them")
        statuses = (200,)
    return Readiness(
        path=fields.text("path", HTTP_PATH, "an HTTP path starting with /"),
        statuses=statuses,
        timeout_s=_seconds(fields, "timeout_s", 60.0),
    )


def _reads(fields: Fields) -> dict[str, str]:
    reads: dict[str, str] = {}
    for name, query in fields.data.items():
        where = fields.name(str(name))
        if name not in READS:
            fields.problems.append(f"{where}: unknown read; known: {', '.join(READS)}")
        elif not isinstance(query, str) or not query.strip():
            fields.problems.append(f"{where}: must be an SQL query")
        else:
            for parameter in READS[name].parameters:
                if f"%({parameter})s" not in query:
                    fields.problems.append(f"{where}: must use its parameter %({parameter})s")
            reads[str(name)] = query.strip()
    return reads


def _file(folder: Path, fields: Fields, key: str, problems: list[str]) -> Path | None:
    text = fields.text(key)
    if not text:
        return None
    path = (folder / text).resolve()
    if not path.is_file():
        problems.append(f"{fields.name(key)}: {path} is not a file")
    return path


def _files(folder: Path, fields: Fields, key: str, problems: list[str]) -> tuple[Path, ...]:
    listed = fields.data.get(key, [])
    if not isinstance(listed, list) or not all(isinstance(x, str) and x for x in listed):
        problems.append(f"{fields.name(key)}: must be a list of SQL files")
        return ()
    paths = tuple((folder / x).resolve() for x in listed)
    for index, path in enumerate(paths):
        if not path.is_file():
            problems.append(f"{fields.name(key)}[{index}]: {path} is not a file")
    return paths


def _events(fields: Fields | None) -> Events | None:
    if fields is None:
        return None
    fields.known("subject", "key_field")
    return Events(fields.text("subject"), fields.text("key_field", ENV_NAME, "a field name"))
