"""`aftershock gameday --dry-run`: every experiment's plan on a remote target, with no request.

For each experiment file, in the order Chaos Toolkit runs it (steady
state, method, verdicts, steady state again, rollbacks), each activity is
shown with what the target would do: for a fault, the exact AWS and
Kubernetes calls the driver makes (service, operation, parameters, region
or context), run against a simulation of the platform the target file
describes (`aws.world`, `k8s.world`), so undos plan against the state their
fault left; for a probe, its calls, or why the target cannot run it. An
activity the target cannot do says so, and the experiment is marked as
one that cannot run there: a plan never pretends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaoslib import substitute
from chaoslib.configuration import load_configuration

from aftershock import FAULT_MODULES
from aftershock.config.target_file import TargetFile
from aftershock.controls.lag_recorder import sampling_interval
from aftershock.targets import drivers, remote

LOCAL_EVIDENCE = {
    ("probes.traffic", "error_rate"),
    ("probes.traffic", "latency_percentile"),
    ("probes.traffic", "split"),
    ("probes.recovery", "rto_seconds"),
    ("probes.recovery", "failover"),
    ("probes.recovery", "hold_until_recovered"),
    ("probes.traffic", "coverage"),
    ("probes.replication", "lag_under_load"),
    ("probes.events", "mirror_lag_under_load"),
    ("probes.active_active", "available_during"),
    ("probes.drill", "hold_until_moved"),
    ("probes.drill", "hold_until_returned"),
}
OBSERVED_AS = {("probes.drill", "region_kept_running"): "region_ready"}
"""Probes that ask the target the same question as another observation does."""
REMOTE_PROBES = {
    "probes.health": ("region_ready",),
    "probes.replication": ("lag_seconds", "primaries", "leader_changed"),
    "probes.orders": ("integrity",),
    "probes.inventory": ("no_oversell",),
    "probes.events": ("mirror_lag", "backlog_grows", "drain", "total_queue"),
    "probes.cache": ("cache_primary", "cache_lag", "stale_reads", "writes_follow_primary"),
    "probes.active_active": (
        "converged",
        "stock_conserved",
        "orders_across_regions",
        "lost_updates",
        "replication_held_back",
    ),
}


@dataclass
class ExperimentPlan:
    """One experiment's plan: printable lines and what the target cannot do."""

    name: str
    title: str
    lines: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)

    @property
    def runnable(self) -> bool:
        return not self.unsupported


def plan_all(paths: list[Path], kind: str, target: TargetFile) -> list[ExperimentPlan]:
    """The plan of every experiment file in `paths`, in order."""
    return [plan_experiment(path, kind, target) for path in paths]


def plan_experiment(path: Path, kind: str, target: TargetFile) -> ExperimentPlan:
    """Walk one experiment against a fresh simulation of the target; no request is made."""
    experiment = json.loads(path.read_text())
    # The plan shows the values a run would use: `${aftershock_...}` from the env or defaults.
    configuration = load_configuration(experiment.get("configuration") or {})
    experiment = substitute(experiment, configuration, {})
    plan = ExperimentPlan(path.stem, str(experiment.get("title", path.stem)))
    ctx = drivers.build({}, kind, dry_run=True, target=target)
    steady = (experiment.get("steady-state-hypothesis") or {}).get("probes", [])
    for control in experiment.get("controls", []):
        _control(plan, ctx, kind, control)
    plan.lines.append("steady state (before and after the method):")
    for probe in steady:
        _activity(plan, ctx, kind, probe)
    plan.lines.append("method:")
    for activity in experiment.get("method", []):
        _activity(plan, ctx, kind, activity)
    for extension in experiment.get("extensions", []):
        if extension.get("name") == "aftershock" and extension.get("verdicts"):
            plan.lines.append("verdicts (when the method ends):")
            for verdict in extension["verdicts"]:
                if "of" in verdict:
                    plan.lines.append(f"  {verdict['name']}: judges method probe {verdict['of']}")
                else:
                    _activity(plan, ctx, kind, verdict)
    plan.lines.append("rollbacks (always played):")
    for activity in experiment.get("rollbacks", []):
        _activity(plan, ctx, kind, activity)
    return plan


def _activity(
    plan: ExperimentPlan, ctx: remote.Context, kind: str, activity: dict[str, Any]
) -> None:
    provider = activity.get("provider", {})
    module, func = provider.get("module", ""), provider.get("func", "")
    args = provider.get("arguments") or {}
    shown = ", ".join(f"{k}={json.dumps(v)}" for k, v in args.items())
    plan.lines.append(f"  {activity.get('type')} {activity.get('name')}: {module}.{func}({shown})")
    for line in _details(plan, ctx, kind, module, func, args, str(activity.get("name"))):
        plan.lines.append(f"      {line}")


def _details(
    plan: ExperimentPlan,
    ctx: remote.Context,
    kind: str,
    module: str,
    func: str,
    args: dict[str, Any],
    name: str,
) -> Iterator[str]:
    if module == "aftershock.load.actions":
        if func == "start_load":
            yield (
                f"Locust subprocess: {args.get('users', 20)} users for "
                f"{args.get('duration', 60)} s against {ctx.target.public_endpoint} (no AWS call)"
            )
        else:
            yield "stops the Locust subprocess (no AWS call)"
        return
    if module in FAULT_MODULES:
        yield from _fault(plan, ctx, kind, func, args, name)
        return
    if (module, func) in LOCAL_EVIDENCE:
        yield "reads the load's timeline and the fault journal on local disk (no AWS call)"
        return
    if module == "probes.drill" and func in ("capacity", "journeys", "capacity_orders"):
        yield _drill_client(ctx, func, args)
        return
    if (module, func) in OBSERVED_AS:
        observed = drivers.observation(kind, OBSERVED_AS[module, func])
        if observed is not None:
            yield from _run(ctx, lambda: observed(ctx, **args), plan, name)
            return
    observe = drivers.observation(kind, func) if func in REMOTE_PROBES.get(module, ()) else None
    if observe is not None:
        yield from _run(ctx, lambda: observe(ctx, **args), plan, name)
        return
    reason = drivers.probe_refusal(kind, func)
    plan.unsupported.append(f"{name}: {reason}")
    yield f"NOT SUPPORTED: {reason}"


def _drill_client(ctx: remote.Context, func: str, args: dict[str, Any]) -> str:
    """What the drill's client-side steps send: load and HTTP journeys, no AWS call."""
    endpoint = ctx.target.public_endpoint
    if func == "capacity":
        return (
            f"measures the drill's load on {args.get('region', 'tokyo')} for "
            f"{args.get('seconds', 15)} s, then a second Locust subprocess adds "
            f"({args.get('multiple', 2)} - 1) x its users against {endpoint} (no AWS call)"
        )
    if func == "capacity_orders":
        return (
            "the added load's orders against the database: the final read probes.orders."
            "integrity makes (database.sql of the target file)"
        )
    geos = ", ".join(args.get("geos") or ["TW", "JP"])
    return (
        f"HTTP journeys against {endpoint} as {geos}: GET /products, GET /products/<id>, "
        "POST /carts/<id>/items, POST /orders, GET /orders/<id>, POST /orders same key "
        "(no AWS call)"
    )


def _fault(
    plan: ExperimentPlan, ctx: remote.Context, kind: str, func: str, args: dict[str, Any], name: str
) -> Iterator[str]:
    if func == "heal_all":
        if not ctx.ledger.entries():
            yield "nothing recorded in the ledger by now: no call"
            return
        yield from _run(ctx, lambda: remote.heal_all(ctx, drivers.driver(kind).UNDO), plan, name)
        return
    reason = drivers.unsupported(kind, func)
    if reason is not None:
        plan.unsupported.append(f"{name}: {reason}")
        yield f"NOT SUPPORTED: {reason}"
        return
    yield from _run(ctx, lambda: drivers.driver(kind).FAULTS[func](ctx, **args), plan, name)


def _run(
    ctx: remote.Context, action: Any, plan: ExperimentPlan | None = None, name: str = ""
) -> Iterator[str]:
    """The calls `action` makes; a failure is shown and, with `plan`, makes it unrunnable."""
    mark = len(ctx.log.calls)
    try:
        action()
    except Exception as exc:  # noqa: BLE001 - a plan shows a refusal instead of stopping
        failure: str | None = f"would fail: {exc}"
        if plan is not None:
            plan.unsupported.append(f"{name}: {exc}")
    else:
        failure = None
    calls = ctx.log.since(mark)
    yield from (call.line() for call in calls)
    if not calls and failure is None:
        yield "no call"
    if failure:
        yield failure


def _control(plan: ExperimentPlan, ctx: remote.Context, kind: str, control: dict[str, Any]) -> None:
    module = control.get("provider", {}).get("module", "")
    arguments = control.get("provider", {}).get("arguments") or {}
    if module == "aftershock.controls.lag_recorder":
        every = sampling_interval({"aftershock_target": kind}, arguments.get("every_s", 1.0))
        plan.lines.append(
            f"control {control.get('name')}: samples probes.replication.lag_seconds "
            f"every {every} s for the whole experiment, each sample:"
        )
        observe = drivers.observation(kind, "lag_seconds")
        if observe is None:  # the control writes each refusal down; it never fails the run
            refusal = drivers.probe_refusal(kind, "lag_seconds")
            plan.lines.append(f"      records the refusal in each sample: {refusal}")
        else:
            plan.lines.extend(f"      {line}" for line in _run(ctx, lambda: observe(ctx)))
    elif module == "aftershock.controls.safeguard":
        plan.lines.append(
            f"control {control.get('name')}: watches the load's error rate "
            f"({json.dumps(arguments)}) on local disk (no AWS call)"
        )
    else:
        plan.lines.append(f"control {control.get('name')}: {module} (judges; no AWS call)")


def render(plans: list[ExperimentPlan], kind: str, target: TargetFile) -> str:
    """The whole dry run as text: a header, each experiment's plan, and a summary."""
    lines = [
        f"dry run: target {kind}, {target.path} ({target.name}, account {target.account_id})",
        "no request is sent; reads are answered from the state the target file describes,",
        "<placeholders> stand for what only the platform knows. A real run first checks",
        f"sts.get_caller_identity() names account {target.account_id}, and needs --allow-destructive.",  # noqa: E501
        "",
    ]
    for plan in plans:
        lines.append(f"== {plan.name}: {plan.title}")
        lines.extend(plan.lines)
        state = "can run" if plan.runnable else "CANNOT run"
        lines.append(f"-> {plan.name} {state} on {kind}")
        lines.extend(f"   - {u}" for u in plan.unsupported)
        lines.append("")
    ok = [p.name for p in plans if p.runnable]
    faults_ok = [p.name for p in plans if not any("fault " in u for u in p.unsupported)]
    lines.append(
        f"{len(plans)} experiment(s): {len(ok)} can run on {kind} as written "
        f"({', '.join(ok) or 'none'}); the faults of {len(faults_ok)} can "
        f"({', '.join(faults_ok) or 'none'})"
    )
    return "\n".join(lines)
