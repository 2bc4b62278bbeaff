"""Target files: the YAML description of an AWS / EKS environment a game day runs against.

One file names everything the `aws` and `k8s` drivers touch: the account
and regions they may act in (the allowlist), the Aurora Global Database,
each region's Route 53 health check, endpoints, ElastiCache replication
group, how the region is isolated (network ACLs, an FIS template, or a
Route 53 health-check inversion), and its EKS cluster. Nothing secret is
ever in it: credentials come from boto3's own chain (profiles, environment)
and kubeconfig contexts.

`load(path)` validates the whole file and raises `TargetFileInvalid` with
one line that names every missing or wrong field (`regions.tokyo.aws_region:
missing`), so an operator fixes them all in one go.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from aftershock.config.budgets import problems_of
from aftershock.config.fields import Fields, read_yaml
from aftershock.config.target_events import Events, parse_events, parse_global_cache
from aftershock.config.topology import REGIONS
from aftershock.errors import SandboxError

ACCOUNT = re.compile(r"^\d{12}$")
AWS_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
HEALTH_CHECK = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
CLUSTER_ARN = re.compile(
    r"^arn:aws:rds:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):cluster:(?P<id>[a-z][a-z0-9-]*)$"
)
VPC = re.compile(r"^vpc-[0-9a-f]{8,17}$")
SUBNET = re.compile(r"^subnet-[0-9a-f]{8,17}$")
FIS_TEMPLATE = re.compile(r"^EXT[0-9A-Za-z]{1,60}$")
RESOURCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,252}$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
SELECTOR = re.compile(r"^[A-Za-z0-9./_-]+=[A-Za-z0-9._-]+(,[A-Za-z0-9./_-]+=[A-Za-z0-9._-]+)*$")
ISOLATION_METHODS = ("nacl", "fis", "route53")
HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


class TargetFileInvalid(SandboxError):
    """A target file that cannot be used as written; the message names every bad field."""


@dataclass(frozen=True)
class Isolation:
    """How `isolate_region` cuts the region off: NACL blackhole, FIS template, or a drill."""

    method: str
    vpc_id: str = ""
    subnet_ids: tuple[str, ...] = ()
    experiment_template_id: str = ""


@dataclass(frozen=True)
class Eks:
    """The region's EKS cluster as kubectl reaches it, and where the shop runs."""

    cluster: str
    context: str
    namespaces: tuple[str, ...]
    shop_deployment: str
    shop_selector: str
    cidrs: tuple[str, ...]


INVENTORY_DESIGNS = ("lww", "min", "delta")
"""How ADR-037's writers keep stock (the sandbox's `--inventory`): the stock row's merge, or
per-region allotments."""


@dataclass(frozen=True)
class Sql:
    """How the final reads reach the orders database (the Aurora global writer endpoint).

    The password is never in the file: `password_env` names the environment
    variable that holds it (Chaos Toolkit's env indirection, as for secrets).
    """

    host: str
    port: int
    dbname: str
    user: str
    password_env: str
    sslmode: str


@dataclass(frozen=True)
class Region:
    """One region of the platform (`taiwan` or `tokyo`) as AWS names it."""

    name: str
    aws_region: str
    endpoint: str
    health_check_id: str
    aurora_cluster_arn: str
    cache_replication_group: str
    cache_node_group: str
    isolation: Isolation
    eks: Eks | None

    @property
    def aurora_cluster_id(self) -> str:
        """The DBClusterIdentifier inside the cluster's ARN."""
        return self.aurora_cluster_arn.rsplit(":", 1)[1]


@dataclass(frozen=True)
class TargetFile:
    """A validated target file."""

    path: Path
    name: str
    account_id: str
    allowed_accounts: tuple[str, ...]
    allowed_regions: tuple[str, ...]
    allowed_contexts: tuple[str, ...]
    aws_profile: str
    public_endpoint: str
    products: int
    global_cluster_id: str
    primary_region: str
    reboot_force_failover: bool
    regions: dict[str, Region]
    sql: Sql | None = None
    # ADR-037's multi-writer design: each region's own writer endpoint (pglogical both ways).
    writers: dict[str, Sql] = field(default_factory=dict)
    inventory: str = "lww"  # how the writers keep stock: lww, min or delta (ADR-037)
    budgets: dict[str, float] = field(default_factory=dict)  # aftershock.config.budgets
    events: Events | None = None  # MSK + MirrorMaker 2 (aftershock.config.target_events)
    global_cache_id: str = ""  # the ElastiCache Global Datastore of the catalog cache

    def region(self, name: str) -> Region:
        """The region `name`, or a one-line error naming the choices."""
        if name not in self.regions:
            raise SandboxError(f"unknown region {name!r}: choose one of {', '.join(self.regions)}")
        return self.regions[name]

    def region_of_cluster(self, arn: str) -> str | None:
        """Which region's Aurora cluster has this ARN."""
        return next((r.name for r in self.regions.values() if r.aurora_cluster_arn == arn), None)

    def configuration(self) -> dict[str, Any]:
        """What a target file contributes to an experiment's configuration."""
        return {
            "aftershock_target_file": str(self.path.resolve()),
            "aftershock_host": self.public_endpoint,
            "aftershock_products": self.products,
            **({"aftershock_budgets": dict(self.budgets)} if self.budgets else {}),
        }


def load(path: Path) -> TargetFile:
    """Read and validate the target file at `path`; raise TargetFileInvalid naming every problem."""
    raw = read_yaml(Path(path), "target file", TargetFileInvalid)
    problems: list[str] = []
    target = _parse(Path(path), raw, problems)
    if problems:
        raise TargetFileInvalid(f"target file {path}: " + "; ".join(problems))
    return target


def _parse(path: Path, raw: Any, problems: list[str]) -> TargetFile:
    top = Fields(raw, "", problems)
    top.known(
        "name",
        "account_id",
        "allowlist",
        "aws_profile",
        "public_endpoint",
        "products",
        "database",
        "regions",
        "budgets",
        "events",
        "global_cache",
    )
    budgets = top.data.get("budgets", {})
    problems.extend(problems_of(budgets))
    account = top.text("account_id", ACCOUNT, "a 12-digit AWS account id")
    allow = top.section("allowlist") or Fields({}, "allowlist", [])
    allow.known("account_ids", "regions", "kube_contexts")
    database = top.section("database") or Fields({}, "database", [])
    database.known(
        "global_cluster_id", "primary_region", "reboot_force_failover", "sql", "writers",
        "inventory",
    )  # fmt: skip
    inventory = database.text("inventory", default="lww")
    if inventory not in INVENTORY_DESIGNS:
        problems.append(
            f"database.inventory: {inventory!r} is not one of {', '.join(INVENTORY_DESIGNS)}"
        )
    primary = database.text("primary_region", default="taiwan")
    if primary and primary not in REGIONS:
        problems.append(f"database.primary_region: {primary!r} is not one of {', '.join(REGIONS)}")
    target = TargetFile(
        path=path,
        name=top.text("name", NAME, "a lowercase name (letters, digits, -)"),
        account_id=account,
        allowed_accounts=allow.texts("account_ids", ACCOUNT, "a 12-digit AWS account id"),
        allowed_regions=allow.texts("regions", AWS_REGION, "an AWS region code"),
        allowed_contexts=allow.texts(
            "kube_contexts", RESOURCE, "a kubeconfig context", required=False
        ),
        aws_profile=top.text("aws_profile", RESOURCE, "a profile name", default=""),
        public_endpoint=top.url("public_endpoint"),
        products=top.number("products", 1000),
        global_cluster_id=database.text("global_cluster_id", RESOURCE, "a global cluster id"),
        primary_region=primary,
        reboot_force_failover=database.flag("reboot_force_failover", True),
        regions={},
        sql=_sql(database.section("sql", required=False)),
        writers=_writers(database.section("writers", required=False)),
        inventory=inventory,
        budgets={k: float(v) for k, v in budgets.items()} if isinstance(budgets, dict) else {},
    )
    regions = top.section("regions")
    if regions is not None:
        for name in regions.data:
            if name not in REGIONS:
                problems.append(
                    f"regions.{name}: not a region of the platform ({', '.join(REGIONS)})"
                )
        for name in REGIONS:
            section = regions.section(name)
            if section is not None:
                target.regions[name] = _region(name, section, account)
    aws_regions = {name: r.aws_region for name, r in target.regions.items()}
    target = replace(
        target,
        events=parse_events(top.section("events", required=False), aws_regions),
        global_cache_id=parse_global_cache(top.section("global_cache", required=False)),
    )
    contexts = [r.eks.context for r in target.regions.values() if r.eks and r.eks.context]
    for context in contexts:
        if context not in target.allowed_contexts:
            problems.append(f"allowlist.kube_contexts: must list {context!r} (an eks.context)")
    return target


def _region(name: str, fields: Fields, account: str) -> Region:
    fields.known(
        "aws_region",
        "endpoint",
        "health_check_id",
        "aurora_cluster_arn",
        "cache",
        "isolation",
        "eks",
    )
    aws_region = fields.text("aws_region", AWS_REGION, "an AWS region code")
    arn = fields.text("aurora_cluster_arn", CLUSTER_ARN, "an Aurora cluster ARN")
    match = CLUSTER_ARN.match(arn)
    if match and aws_region and match["region"] != aws_region:
        fields.problems.append(
            f"{fields.name('aurora_cluster_arn')}: in {match['region']}, "
            f"but aws_region is {aws_region}"
        )
    if match and account and match["account"] != account:
        fields.problems.append(
            f"{fields.name('aurora_cluster_arn')}: in account "
            f"{match['account']}, but account_id is {account}"
        )
    cache = fields.section("cache") or Fields({}, fields.name("cache"), [])
    cache.known("replication_group_id", "node_group_id")
    return Region(
        name=name,
        aws_region=aws_region,
        endpoint=fields.url("endpoint"),
        health_check_id=fields.text("health_check_id", HEALTH_CHECK, "a Route 53 health check id"),
        aurora_cluster_arn=arn,
        cache_replication_group=cache.text(
            "replication_group_id", DNS_LABEL, "a replication group id"
        ),
        cache_node_group=cache.text(
            "node_group_id", re.compile(r"^\d{4}$"), "a node group id", default="0001"
        ),
        isolation=_isolation(fields.section("isolation")),
        eks=_eks(fields.section("eks", required=False)),
    )


def _writers(fields: Fields | None) -> dict[str, Sql]:
    """`database.writers`: one SQL endpoint per region, both regions or none."""
    if fields is None:
        return {}
    fields.known(*REGIONS)
    found = {}
    for region in REGIONS:
        sql = _sql(fields.section(region))
        if sql is not None:
            found[region] = sql
    return found


def _sql(fields: Fields | None) -> Sql | None:
    if fields is None:
        return None
    fields.known("host", "port", "dbname", "user", "password_env", "sslmode")
    sslmode = fields.text("sslmode", default="verify-full")
    if sslmode and sslmode not in SSLMODES:
        fields.problems.append(
            f"{fields.name('sslmode')}: {sslmode!r} is not one of {', '.join(SSLMODES)}"
        )
    return Sql(
        host=fields.text("host", HOST, "a host name or address"),
        port=fields.number("port", 5432),
        dbname=fields.text("dbname", RESOURCE, "a database name", default="shop"),
        user=fields.text("user", RESOURCE, "a user name"),
        password_env=fields.text("password_env", ENV_NAME, "an environment variable name"),
        sslmode=sslmode,
    )


def _isolation(fields: Fields | None) -> Isolation:
    if fields is None:
        return Isolation("route53")
    fields.known("method", "vpc_id", "subnet_ids", "experiment_template_id")
    method = fields.text("method")
    if method and method not in ISOLATION_METHODS:
        fields.problems.append(
            f"{fields.name('method')}: {method!r} is not one of {', '.join(ISOLATION_METHODS)}"
        )
    if method == "nacl":
        return Isolation(
            method,
            vpc_id=fields.text("vpc_id", VPC, "a VPC id"),
            subnet_ids=fields.texts("subnet_ids", SUBNET, "a subnet id"),
        )
    if method == "fis":
        template = fields.text("experiment_template_id", FIS_TEMPLATE, "an FIS template id")
        return Isolation(method, experiment_template_id=template)
    return Isolation(method)


def _eks(fields: Fields | None) -> Eks | None:
    if fields is None:
        return None
    fields.known("cluster", "context", "namespaces", "shop_deployment", "shop_selector", "cidrs")
    cidrs = fields.texts("cidrs", re.compile(r"^[0-9a-f.:]+/\d{1,3}$"), "a CIDR block")
    for index, cidr in enumerate(cidrs):
        try:
            ipaddress.ip_network(cidr)
        except ValueError:
            fields.problems.append(f"{fields.name('cidrs')}[{index}]: {cidr!r} is not a network")
    return Eks(
        cluster=fields.text("cluster", DNS_LABEL, "an EKS cluster name"),
        context=fields.text("context", RESOURCE, "a kubeconfig context"),
        namespaces=fields.texts("namespaces", DNS_LABEL, "a namespace"),
        shop_deployment=fields.text("shop_deployment", DNS_LABEL, "a deployment name"),
        shop_selector=fields.text("shop_selector", SELECTOR, "a label selector (app=shop)"),
        cidrs=cidrs,
    )
