"""A run's metrics on CloudWatch: PutMetricData in the primary region, namespace `Aftershock`.

The metric data comes from `aftershock.report.metrics.cloudwatch_data`. It
writes metrics, not the platform, so it needs the target file's allowlist
and credentials but not --allow-destructive; a dry run records the calls.
"""

from __future__ import annotations

from typing import Any

from aftershock.targets.remote import Context

BATCH = 1000  # PutMetricData's limit of entries per request
NAMESPACE = "Aftershock"


def put_run_metrics(ctx: Context, data: list[dict[str, Any]]) -> dict[str, Any]:
    """Send `data` in batches; returns how many entries went to which region."""
    region = ctx.target.region(ctx.target.primary_region).aws_region
    for start in range(0, len(data), BATCH):
        ctx.aws.call(
            "cloudwatch",
            region,
            "put_metric_data",
            {"Namespace": NAMESPACE, "MetricData": data[start : start + BATCH]},
        )
    return {"namespace": NAMESPACE, "region": region, "metrics": len(data)}
