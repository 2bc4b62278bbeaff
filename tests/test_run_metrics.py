"""A run's results as metrics and a message: Prometheus text, CloudWatch, a webhook."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from aws_stubs import OSAKA, FakeAws, context, fake, no_network, target
from prometheus_client.parser import text_string_to_metric_families

from aftershock.config.target_file import TargetFile
from aftershock.report.metrics import cloudwatch_data, write_prometheus
from aftershock.report.notify import NotifyFailed, post
from aftershock.targets.aws.metrics import put_run_metrics

FIXTURES = (fake, no_network, target)

SUMMARY: dict[str, Any] = {
    "run": "gate-20261130T010000Z",
    "ended": "2026-11-30T01:05:00+00:00",
    "verdict": "failed",
    "score": 87.5,
    "experiments": [
        {"name": "region-outage", "verdict": "passed", "score": 100.0,
         "rto": {"seconds": 10.4, "fault_start": 1796000000.0},
         "orders": {"rpo": {"seconds": 0.0}},
         "replication_lag": {"under_load": {"p99_s": 0.012}},
         "traffic": {"by_region": {"taiwan": 700, "tokyo": 500}}},
        {"name": "baseline", "verdict": "failed", "score": 75.0, "rto": None, "orders": None,
         "replication_lag": {"under_load": {"p99_s": None}}, "traffic": {}},
    ],
}  # fmt: skip


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_the_textfile_parses_and_holds_the_records_names_per_experiment(tmp_path: Path) -> None:
    path = write_prometheus(tmp_path / "textfile" / "aftershock.prom", SUMMARY, "local")
    found = samples(path.read_text())
    outage = (("experiment", "region-outage"), ("target", "local"))
    assert found[("aftershock_failover_duration_seconds", outage)] == 10.4
    assert found[("aftershock_failover_last_event_timestamp_seconds", outage)] == 1796000000.0
    assert found[("aftershock_replication_postgres_lag_seconds", outage)] == 0.012
    assert found[("aftershock_rpo_seconds", outage)] == 0.0
    assert found[("aftershock_experiment_passed", outage)] == 1.0
    baseline = (("experiment", "baseline"), ("target", "local"))
    assert found[("aftershock_experiment_passed", baseline)] == 0.0
    assert found[("aftershock_requests", (("experiment", "region-outage"), ("region", "tokyo"),
                                          ("target", "local")))] == 500.0  # fmt: skip
    assert found[("aftershock_run_passed", (("target", "local"),))] == 0.0
    # A figure the run did not measure is left out, never a 0 a dashboard would believe.
    assert ("aftershock_failover_duration_seconds", baseline) not in found
    assert not list(path.parent.glob("*.tmp*"))  # written whole, then renamed


def test_cloudwatch_gets_the_same_figures_under_the_records_dotted_names(
    tmp_path: Path, fake: FakeAws, target: TargetFile
) -> None:
    data = cloudwatch_data(SUMMARY, "aws")
    names = {(d["MetricName"], d["Dimensions"][0]["Value"]) for d in data}
    assert ("failover.duration_seconds", "region-outage") in names
    assert ("replication.postgres.lag_seconds", "region-outage") in names
    assert ("failover.duration_seconds", "baseline") not in names
    fake.expect("cloudwatch", OSAKA, "put_metric_data",
                {"Namespace": "Aftershock", "MetricData": data})  # fmt: skip
    sent = put_run_metrics(context(tmp_path, fake, target), data)
    assert sent == {"namespace": "Aftershock", "region": OSAKA, "metrics": len(data)}
    fake.done()  # the request matched botocore's model and the expected parameters


class Webhook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []  # noqa: RUF012 - one test's server, read after it stops
    status = 200

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).received.append(
            {"type": self.headers["Content-Type"], "body": json.loads(self.rfile.read(length))}
        )
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def webhook() -> Any:
    Webhook.received, Webhook.status = [], 200
    server = HTTPServer(("127.0.0.1", 0), Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/gate", Webhook
    server.shutdown()


def test_the_webhook_receives_the_summary_as_a_slack_message(webhook: Any) -> None:
    url, handler = webhook
    markdown = "## aftershock gate FAILED: 3 of 4 experiments passed\n\n| experiment |\n"
    assert post(url, markdown) == 200
    assert handler.received == [{"type": "application/json", "body": {"text": markdown}}]


def test_a_webhook_that_refuses_says_so_in_one_line(webhook: Any) -> None:
    url, handler = webhook
    handler.status = 500
    with pytest.raises(NotifyFailed, match="the webhook answered 500"):
        post(url, "x")
    with pytest.raises(NotifyFailed, match="could not be reached"):
        post("http://127.0.0.1:9/nothing", "x", timeout=2)
