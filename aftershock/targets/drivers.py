"""The `aws` and `k8s` drivers behind `aftershock.config.target`: context, safety, dispatch.

Every fault and probe builds a fresh `Context` from the experiment's
configuration (no module state): the target file
(`aftershock_target_file`), the fault ledger of the target, and callers
that refuse what the target file does not allowlist. A fault refuses
before any request unless the configuration says
`aftershock_allow_destructive: true` and boto3's chain has credentials;
its first state-changing AWS request is preceded by an STS identity check.
Probes only read: they need the allowlist and credentials, not the flag.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from aftershock.config.target_file import TargetFile, load
from aftershock.config.topology import DEFAULT_NAME, DEFAULT_STATE_ROOT, Topology
from aftershock.errors import SandboxError
from aftershock.targets import remote
from aftershock.targets.aws.calls import AwsCaller, ClientFactory, chaosaws_factory
from aftershock.targets.aws.safety import (
    check_allowlist,
    credentials_found,
    identity_guard,
    require_credentials,
    require_destructive,
)
from aftershock.targets.aws.world import World
from aftershock.targets.k8s.calls import ApiFactory, KubeCaller
from aftershock.targets.k8s.world import KubeWorld
from aftershock.targets.ledger import Ledger
from aftershock.targets.plan import CallLog

REMOTE = ("aws", "k8s")
EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def driver(kind: str) -> ModuleType:
    """The driver package of `kind` (its FAULTS, UNDO, UNSUPPORTED, OBSERVE)."""
    if kind == "aws":
        from aftershock.targets import aws

        return aws
    from aftershock.targets import k8s

    return k8s


def target_file(configuration: dict[str, Any] | None, kind: str) -> TargetFile:
    path = (configuration or {}).get("aftershock_target_file")
    if not path:
        raise SandboxError(
            f"target {kind} needs a target file: pass --target-file "
            "(e.g. experiments/targets/aws.example.yaml)"
        )
    return load(Path(str(path)))


def ledger_path(configuration: dict[str, Any] | None, kind: str) -> Path:
    """`<state root>/<aftershock_sandbox>/faults-<kind>.json`: beside the sandbox's, never it."""
    cfg = configuration or {}
    topology = Topology(
        str(cfg.get("aftershock_sandbox", DEFAULT_NAME)),
        Path(str(cfg.get("aftershock_state_root", DEFAULT_STATE_ROOT))),
    )
    return topology.state_dir / f"faults-{kind}.json"


def build(
    configuration: dict[str, Any] | None,
    kind: str,
    dry_run: bool = False,
    aws_factory: ClientFactory | None = None,
    kube_factory: ApiFactory | None = None,
    credentials: Callable[[str], bool] = credentials_found,
    target: TargetFile | None = None,
) -> remote.Context:
    """The context one fault or probe runs in; refuses (no request made) what is not allowed."""
    target = target or target_file(configuration, kind)
    check_allowlist(target)
    log = CallLog()
    # The final reads find the load run through the configuration (aftershock_sandbox).
    extra = {"configuration": dict(configuration or {})}
    if dry_run:
        aws = AwsCaller(log, target.allowed_regions, world=World(target))
        kube = KubeCaller(log, target.allowed_contexts, world=KubeWorld(target))
        return remote.Context(
            target, remote.MemoryLedger(), log, aws, kube, dry_run=True, extra=extra
        )
    if kind == "aws":
        require_credentials(target, credentials)
    factory = aws_factory or chaosaws_factory(target.aws_profile)
    home = target.regions[target.primary_region].aws_region
    aws = AwsCaller(log, target.allowed_regions, factory, profile=target.aws_profile)
    aws.guard = identity_guard(target, configuration, lambda: aws.client("sts", home))
    kube = KubeCaller(
        log,
        target.allowed_contexts,
        kube_factory,
        guard=lambda: require_destructive(configuration, kind),
    )
    book = Ledger(ledger_path(configuration, kind))
    return remote.Context(target, book, log, aws, kube, extra=extra)


def unsupported(kind: str, name: str) -> str | None:
    """Why `kind` cannot do the logical fault `name` (None when it can), naming the experiments."""
    reason = driver(kind).UNSUPPORTED.get(name)
    if reason is None:
        return None
    using = experiments_using(name)
    tail = f"; experiments {', '.join(using)} cannot run there" if using else ""
    return f"fault {name} is not supported by target {kind}: {reason}{tail}"


def experiments_using(function: str) -> list[str]:
    """The experiment files in `experiments/` whose activities call `function`."""
    names = []
    for path in sorted(EXPERIMENTS.glob("*.json")):
        try:
            text = path.read_text()
        except OSError:
            continue
        if f'"func": "{function}"' in text or f'"func":"{function}"' in text:
            names.append(path.stem)
    return names


def run_fault(
    kind: str, fault: str, configuration: dict[str, Any] | None, **params: Any
) -> dict[str, Any]:
    """Carry out `fault` on the remote target: refusals first, then the driver."""
    from aftershock.config.target import FaultNotSupported

    reason = unsupported(kind, fault)
    if reason is not None:
        raise FaultNotSupported(reason)
    require_destructive(configuration, kind)
    ctx = build(configuration, kind)
    return driver(kind).FAULTS[fault](ctx, **params)


def heal(kind: str, configuration: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Undo every fault the target's ledger holds, newest first; an empty ledger calls nothing."""
    if not Ledger(ledger_path(configuration, kind)).entries():
        return []
    require_destructive(configuration, kind)
    return remote.heal_all(build(configuration, kind), driver(kind).UNDO)


def observe(
    kind: str, probe: str, configuration: dict[str, Any] | None, **params: Any
) -> dict[str, Any]:
    """Run the read-only observation behind `probe` on the remote target."""
    from aftershock.config.target import FaultNotSupported

    found = observation(kind, probe)
    if found is None:
        raise FaultNotSupported(probe_refusal(kind, probe))
    return found(build(configuration, kind), **params)


def observation(kind: str, probe: str) -> Callable[..., dict[str, Any]] | None:
    """The function behind `probe` on `kind`, None when it has none.

    The final reads over SQL (`aws.sql_reads`: the orders and stock tables
    of `database.sql`) serve every remote target: the k8s target's shops
    write to the same Aurora database.
    """
    found = driver(kind).OBSERVE.get(probe)
    if found is None and probe in ("integrity", "no_oversell"):
        from aftershock.targets.aws import sql_reads

        found = getattr(sql_reads, probe)
    if found is None and probe in WRITER_PROBES:
        from aftershock.targets.aws import writer_reads

        found = getattr(writer_reads, probe)
    return found


WRITER_PROBES = (
    "converged", "stock_conserved", "orders_across_regions", "lost_updates",
    "replication_held_back",
)  # fmt: skip
"""ADR-037's final reads over SQL on both regional writers (`aws.writer_reads`)."""


PROBE_REASONS = {
    "primaries": "which Aurora clusters take writes is asked of the global database: "
    "use --target aws",
    "lag_seconds": "replication lag is Aurora's (CloudWatch): use --target aws",
    **{
        name: "the event path is MSK and MirrorMaker 2: use --target aws"
        for name in ("mirror_lag", "mirror_backlog", "drain", "event_copies")
    },
    "cache_primary": "the catalog cache is an ElastiCache Global Datastore: use --target aws",
    "cache_lag": "the catalog cache's lag is the ElastiCache Global Datastore's (CloudWatch): "
    "use --target aws",
    **{
        name: "it writes catalog entries into the cache, which aftershock does not do to a "
        "production cache: judge it on the sandbox"
        for name in ("stale_reads", "writes_follow_primary")
    },
}


def probe_refusal(kind: str, probe: str) -> str:
    reason = PROBE_REASONS.get(probe, "no implementation for this target")
    return f"probe {probe} is not supported by target {kind}: {reason}"
