"""A run's results as metrics, named as the architecture record's Grafana overview names them.

One set per run, labelled with the experiment and the target:

- `failover.duration_seconds`: Prometheus `aftershock_failover_duration_seconds`;
- `failover.last_event`: `aftershock_failover_last_event_timestamp_seconds`;
- `replication.postgres.lag_seconds` (p99 under load):
  `aftershock_replication_postgres_lag_seconds`;
- RPO, score, verdict: `aftershock_rpo_seconds`, `aftershock_resilience_score`,
  `aftershock_experiment_passed` (1 or 0);
- traffic per region: `aftershock_requests{region}`.

CloudWatch (namespace `Aftershock`) takes the record's dotted names as they
are (`rpo.seconds`, `resilience.score`, `experiment.passed`,
`traffic.requests`), with Experiment, Target (and Region) dimensions.

The Prometheus file is for node-exporter's textfile collector: written
whole and renamed into place, so the collector never reads half of it.
A figure a run did not measure is left out, never written as 0.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

NAMESPACE = "Aftershock"
LABELS = ("experiment", "target")


def figures(summary: dict[str, Any]) -> Iterator[tuple[str, str, float, dict[str, str]]]:
    """(record's name, unit, value, extra labels) of every figure the run measured, per experiment.

    Each experiment's figures come with `experiment` among the labels.
    """
    for e in summary.get("experiments", []):
        base = {"experiment": str(e["name"])}
        rto = (e.get("rto") or {}).get("seconds")
        if rto is not None:
            yield "failover.duration_seconds", "Seconds", float(rto), base
            fault_start = (e.get("rto") or {}).get("fault_start")
            if fault_start is not None:
                yield "failover.last_event", "Seconds", float(fault_start), base
        rpo = ((e.get("orders") or {}).get("rpo") or {}).get("seconds")
        if rpo is not None:
            yield "rpo.seconds", "Seconds", float(rpo), base
        p99 = ((e.get("replication_lag") or {}).get("under_load") or {}).get("p99_s")
        if p99 is not None:
            yield "replication.postgres.lag_seconds", "Seconds", float(p99), base
        if e.get("score") is not None:
            yield "resilience.score", "None", float(e["score"]), base
        yield "experiment.passed", "None", 1.0 if e.get("verdict") == "passed" else 0.0, base
        for region, requests in ((e.get("traffic") or {}).get("by_region") or {}).items():
            yield "traffic.requests", "Count", float(requests), base | {"region": str(region)}


PROMETHEUS = {
    "failover.duration_seconds": ("aftershock_failover_duration_seconds",
                                  "Customer-side failover time (RTO) of the experiment's fault"),
    "failover.last_event": ("aftershock_failover_last_event_timestamp_seconds",
                            "When the experiment's fault began (Unix time)"),
    "rpo.seconds": ("aftershock_rpo_seconds", "Span of acknowledged orders lost (RPO)"),
    "replication.postgres.lag_seconds": ("aftershock_replication_postgres_lag_seconds",
                                         "Replication lag p99 under load, outside faults"),
    "resilience.score": ("aftershock_resilience_score", "Weighted share of promises kept, 0-100"),
    "experiment.passed": ("aftershock_experiment_passed", "1 if every verdict held, else 0"),
    "traffic.requests": ("aftershock_requests", "Requests the load made, per serving region"),
}  # fmt: skip


def write_prometheus(path: Path, summary: dict[str, Any], target: str) -> Path:
    """Write the run's metrics as a Prometheus text file at `path` (atomically)."""
    registry = CollectorRegistry()
    gauges: dict[str, Gauge] = {}
    for name, _, value, labels in figures(summary):
        metric, help_text = PROMETHEUS[name]
        names = (*LABELS, *sorted(k for k in labels if k not in LABELS))
        if metric not in gauges:
            gauges[metric] = Gauge(metric, help_text, names, registry=registry)
        gauges[metric].labels(**{"target": target, **labels}).set(value)
    run = Gauge("aftershock_run_passed", "1 if the whole run passed", ["target"], registry=registry)
    run.labels(target=target).set(1.0 if summary.get("verdict") == "passed" else 0.0)
    if summary.get("score") is not None:
        score = Gauge("aftershock_run_score", "The run's resilience score", ["target"],
                      registry=registry)  # fmt: skip
        score.labels(target=target).set(float(summary["score"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry)
    return path


def cloudwatch_data(summary: dict[str, Any], target: str) -> list[dict[str, Any]]:
    """PutMetricData's MetricData for the run: the record's names, experiment and target."""
    at = _ended(summary)
    data = []
    for name, unit, value, labels in figures(summary):
        dimensions = [{"Name": "Experiment", "Value": labels["experiment"]},
                      {"Name": "Target", "Value": target}]  # fmt: skip
        if "region" in labels:
            dimensions.append({"Name": "Region", "Value": labels["region"]})
        entry: dict[str, Any] = {"MetricName": name, "Dimensions": dimensions, "Value": value,
                                 "Unit": unit}  # fmt: skip
        if at is not None:
            entry["Timestamp"] = at
        data.append(entry)
    return data


def _ended(summary: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(summary.get("ended")))
    except ValueError:
        return None
