"""The target file's event path and global cache: MSK, MirrorMaker 2, Global Datastore.

events:
  topic: orders                       # each region's own order-events topic
  mirror_lag_metric:                  # the record's alarm metric (CloudWatch)
    namespace: Seed/Kafka
    name: MirrorMaker2Lag             # seconds
    dimensions: {Connector: mm2}
  regions:
    taiwan:
      msk_cluster_arn: arn:aws:kafka:ap-northeast-3:123456789012:cluster/seed-tw/<uuid>
      broker_ids: ["1"]               # kill_broker reboots these
      bootstrap: b-1.seed-events-taiwan.x.c2.kafka.ap-northeast-3.amazonaws.com:9098
      mirrormaker:                    # MM2 mirroring the other region's topic into this one
        deployment: mm2               # a Deployment on this region's EKS
        namespace: kafka
        mirrored_topic: tokyo.orders  # MM2's name for the other region's topic here
global_cache:
  global_replication_group_id: ldgnf-seed-staging-catalog
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aftershock.config.fields import Fields
from aftershock.config.topology import REGIONS
from aftershock.errors import SandboxError

MSK_ARN = re.compile(
    r"^arn:aws:kafka:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):cluster/[A-Za-z0-9-]+/[A-Za-z0-9-]+$"
)
BROKER_ID = re.compile(r"^\d{1,4}$")
BOOTSTRAP = re.compile(r"^[A-Za-z0-9.-]+:\d{2,5}(,[A-Za-z0-9.-]+:\d{2,5})*$")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")
USER = re.compile(r"^[A-Za-z0-9._@-]{1,128}$")
MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256")
TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
METRIC = re.compile(r"^[A-Za-z0-9./_#:-]{1,255}$")
GLOBAL_GROUP = re.compile(r"^[a-z0-9-]{1,255}$")


@dataclass(frozen=True)
class MirrorMaker:
    """The MirrorMaker 2 Deployment that mirrors the other region's topic into this region."""

    deployment: str
    namespace: str
    mirrored_topic: str


@dataclass(frozen=True)
class EventRegion:
    """One region's MSK cluster and the MirrorMaker 2 that feeds it."""

    name: str
    msk_cluster_arn: str
    broker_ids: tuple[str, ...]
    bootstrap: str
    mirrormaker: MirrorMaker


@dataclass(frozen=True)
class KafkaLogin:
    """SASL/SCRAM for the final reads; the password is in the variable `password_env` names."""

    mechanism: str
    username: str
    password_env: str


@dataclass(frozen=True)
class Events:
    """The order-events topic, the mirror-lag metric, and each region's cluster."""

    topic: str
    login: KafkaLogin | None
    lag_namespace: str
    lag_metric: str
    lag_dimensions: dict[str, str] = field(default_factory=dict)
    regions: dict[str, EventRegion] = field(default_factory=dict)

    def region(self, name: str) -> EventRegion:
        """The event path of region `name`, or a one-line error saying the file lacks it."""
        if name not in self.regions:
            raise SandboxError(f"events.regions.{name} is not in the target file")
        return self.regions[name]


def parse_events(fields: Fields | None, aws_regions: dict[str, str]) -> Events | None:
    """The `events:` section, or None when the file has none (its faults then refuse)."""
    if fields is None:
        return None
    fields.known("topic", "sasl", "mirror_lag_metric", "regions")
    metric = fields.section("mirror_lag_metric") or Fields({}, "mirror_lag_metric", [])
    metric.known("namespace", "name", "dimensions")
    dimensions = metric.data.get("dimensions", {})
    if not isinstance(dimensions, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in dimensions.items()
    ):
        fields.problems.append(f"{metric.name('dimensions')}: must map names to strings")
        dimensions = {}
    events = Events(
        topic=fields.text("topic", TOPIC, "a Kafka topic name", default="orders"),
        login=_login(fields.section("sasl", required=False)),
        lag_namespace=metric.text("namespace", METRIC, "a CloudWatch namespace"),
        lag_metric=metric.text("name", METRIC, "a CloudWatch metric name"),
        lag_dimensions=dict(dimensions),
    )
    regions = fields.section("regions")
    if regions is not None:
        for name in REGIONS:
            section = regions.section(name)
            if section is not None:
                events.regions[name] = _event_region(name, section, aws_regions.get(name, ""))
    return events


def _login(fields: Fields | None) -> KafkaLogin | None:
    if fields is None:
        return None
    fields.known("mechanism", "username", "password_env")
    mechanism = fields.text("mechanism", default="SCRAM-SHA-512")
    if mechanism and mechanism not in MECHANISMS:
        fields.problems.append(
            f"{fields.name('mechanism')}: {mechanism!r} is not one of {', '.join(MECHANISMS)}"
        )
    return KafkaLogin(
        mechanism=mechanism,
        username=fields.text("username", USER, "a user name"),
        password_env=fields.text("password_env", ENV_NAME, "an environment variable name"),
    )


def _event_region(name: str, fields: Fields, aws_region: str) -> EventRegion:
    fields.known("msk_cluster_arn", "broker_ids", "bootstrap", "mirrormaker")
    arn = fields.text("msk_cluster_arn", MSK_ARN, "an MSK cluster ARN")
    match = MSK_ARN.match(arn)
    if match and aws_region and match["region"] != aws_region:
        fields.problems.append(
            f"{fields.name('msk_cluster_arn')}: in {match['region']}, "
            f"but the region is {aws_region}"
        )
    mm2 = fields.section("mirrormaker") or Fields({}, fields.name("mirrormaker"), [])
    mm2.known("deployment", "namespace", "mirrored_topic")
    return EventRegion(
        name=name,
        msk_cluster_arn=arn,
        broker_ids=fields.texts("broker_ids", BROKER_ID, "a broker id (quoted digits)"),
        bootstrap=fields.text("bootstrap", BOOTSTRAP, "host:port[,host:port...]"),
        mirrormaker=MirrorMaker(
            deployment=mm2.text("deployment", DNS_LABEL, "a deployment name"),
            namespace=mm2.text("namespace", DNS_LABEL, "a namespace"),
            mirrored_topic=mm2.text("mirrored_topic", TOPIC, "a Kafka topic name"),
        ),
    )


def parse_global_cache(fields: Fields | None) -> str:
    """The Global Datastore id of `global_cache:`, or "" when the file has none."""
    if fields is None:
        return ""
    fields.known("global_replication_group_id")
    return fields.text("global_replication_group_id", GLOBAL_GROUP, "a global replication group id")
