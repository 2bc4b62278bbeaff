"""The k8s driver: every request of every fault and its undo, caught at the kubernetes
client's REST layer (method, path, content type, JSON body), and each body read back
into the client's own model. No cluster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_stubs import ENTRY, EXAMPLE, fake, no_network, target
from kubernetes import client

from aftershock.config.target_file import TargetFile
from aftershock.targets import drivers
from aftershock.targets.k8s import FAULTS, UNDO
from aftershock.targets.k8s.faults import PolicyUnsafe
from aftershock.targets.plan import Refused

# The shared fixtures, imported so pytest finds them in this module.
FIXTURES = (fake, no_network, target)

TW = "arn:aws:eks:ap-northeast-3:123456789012:cluster/seed-staging-taiwan"
JP = "arn:aws:eks:ap-northeast-1:123456789012:cluster/seed-staging-tokyo"
DEPLOY = "/apis/apps/v1/namespaces/shop/deployments/shop"
POLICIES = "/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies"
CHAOSK8S_MODULES = ("chaosk8s.deployment.actions", "chaosk8s.networking.actions")


class Response:
    def __init__(self, status: int, body: Any) -> None:
        self.status, self.reason = status, "OK" if status < 300 else "Error"
        self.data = json.dumps(body).encode()
        self.headers = {"content-type": "application/json"}

    def getheaders(self) -> dict[str, str]:
        return self.headers

    def getheader(self, name: str, default: Any = None) -> Any:
        return self.headers.get(name, default)


class FakeCluster:
    """Stands in for urllib3 under every ApiClient: answers queued requests in order."""

    def __init__(self) -> None:
        self.expected: list[tuple[str, str, str, int, Any]] = []
        self.seen: list[tuple[str, str, str, Any, str]] = []

    def expect(
        self, context: str, method: str, path: str, status: int = 200, answer: Any = None
    ) -> None:
        self.expected.append((context, method, path, status, answer or {}))

    def api(self, context: str) -> client.ApiClient:
        configuration = client.Configuration()
        configuration.host = f"https://{context.rsplit('/', 1)[1]}.invalid"
        api = client.ApiClient(configuration)
        api.rest_client.pool_manager = Pool(self, context)
        return api

    def done(self) -> None:
        assert self.expected == [], f"requests never made: {self.expected}"


class Pool:
    def __init__(self, cluster: FakeCluster, context: str) -> None:
        self.cluster, self.context = cluster, context

    def request(
        self, method: str, url: str, body: Any = None, headers: Any = None, **_: Any
    ) -> Response:
        path = url.split(".invalid", 1)[1]
        assert self.cluster.expected, f"unexpected {method} {path}"
        context, want_method, want_path, status, answer = self.cluster.expected.pop(0)
        assert (context, method, path) == (self.context, want_method, want_path)
        sent = json.loads(body) if body else None
        self.cluster.seen.append(
            (method, path, (headers or {}).get("Content-Type", ""), sent, context)
        )
        return Response(status, answer)


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> FakeCluster:
    fake = FakeCluster()
    apis: dict[str, client.ApiClient] = {}

    def for_context(context: str) -> client.ApiClient:
        return apis.setdefault(context, fake.api(context))

    def chaosk8s_client(secrets: Any = None) -> client.ApiClient:
        return for_context(secrets["KUBERNETES_CONTEXT"])

    for module in CHAOSK8S_MODULES:
        monkeypatch.setattr(f"{module}.create_k8s_api_client", chaosk8s_client)
    fake.factory = for_context  # type: ignore[attr-defined]
    return fake


def context(tmp_path: Path, cluster: FakeCluster, target: TargetFile, allow: bool = True) -> Any:
    configuration = {
        "aftershock_target_file": str(EXAMPLE),
        "aftershock_allow_destructive": allow,
        "aftershock_sandbox": "tst",
        "aftershock_state_root": str(tmp_path),
    }
    ctx = drivers.build(configuration, "k8s", kube_factory=cluster.factory, target=target)
    ctx.sleep = lambda seconds: None
    return ctx


def deployment(replicas: int, ready: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "shop"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "shop"}},
            "template": {"metadata": {"labels": {"app": "shop"}}},
        },
        "status": {"replicas": replicas, "readyReplicas": ready},
    }


def read_back(body: Any, model: str) -> Any:
    """The body as the API server would read it into the client's model."""
    return client.ApiClient().deserialize(json.dumps(body), model, "application/json")


def test_kill_shop_scales_to_zero_and_start_shop_back_to_the_recorded_count(
    tmp_path: Path, cluster: FakeCluster, target: TargetFile
) -> None:
    ctx = context(tmp_path, cluster, target)
    cluster.expect(TW, "GET", DEPLOY, answer=deployment(3, 3))
    cluster.expect(TW, "PATCH", DEPLOY, answer=deployment(0, 3))
    FAULTS["kill_shop"](ctx, region="taiwan")
    assert ctx.ledger.entries()[0].params["touched"]["replicas"] == 3
    cluster.expect(TW, "PATCH", DEPLOY, answer=deployment(3, 0))
    cluster.expect(TW, "GET", DEPLOY, answer=deployment(3, 3))
    UNDO["kill_shop"](ctx, region="taiwan")
    cluster.done()
    patches = [(kind, body) for method, _, kind, body, _ in cluster.seen if method == "PATCH"]
    assert patches == [
        ("application/strategic-merge-patch+json", {"spec": {"replicas": 0}}),
        ("application/strategic-merge-patch+json", {"spec": {"replicas": 3}}),
    ]
    merged = deployment(3, 3)  # a strategic merge patch is a partial object: apply it, then read
    merged["spec"].update(patches[0][1]["spec"])
    assert read_back(merged, "V1Deployment").spec.replicas == 0
    assert ctx.ledger.entries() == []


def test_isolate_region_is_a_deny_all_policy_and_restore_deletes_it(
    tmp_path: Path, cluster: FakeCluster, target: TargetFile
) -> None:
    ctx = context(tmp_path, cluster, target)
    cluster.expect(TW, "GET", POLICIES, answer={"items": []})
    cluster.expect(TW, "POST", POLICIES, 201, {"metadata": {"name": "aftershock-isolate-taiwan"}})
    FAULTS["isolate_region"](ctx, region="taiwan")
    cluster.expect(TW, "DELETE", f"{POLICIES}/aftershock-isolate-taiwan")
    UNDO["isolate_region"](ctx, region="taiwan")
    cluster.done()
    policy = read_back(cluster.seen[1][3], "V1NetworkPolicy")
    assert policy.metadata.name == "aftershock-isolate-taiwan"
    assert policy.metadata.labels["aftershock.io/entry"] == ENTRY
    assert policy.spec.pod_selector.to_dict() == client.V1LabelSelector().to_dict()
    assert policy.spec.policy_types == ["Ingress", "Egress"]
    assert policy.spec.ingress == []
    assert policy.spec.egress == []


def test_partition_denies_each_region_the_other_regions_cidrs_and_heal_removes_both(
    tmp_path: Path, cluster: FakeCluster, target: TargetFile
) -> None:
    ctx = context(tmp_path, cluster, target)
    cluster.expect(TW, "GET", POLICIES, answer={"items": []})
    cluster.expect(JP, "GET", POLICIES, answer={"items": []})
    cluster.expect(TW, "POST", POLICIES, 201)
    cluster.expect(JP, "POST", POLICIES, 201)
    FAULTS["partition_regions"](ctx, a="taiwan", b="tokyo")
    name = "aftershock-partition-taiwan-tokyo"
    cluster.expect(TW, "DELETE", f"{POLICIES}/{name}")
    cluster.expect(JP, "DELETE", f"{POLICIES}/{name}", 404, {"kind": "Status", "code": 404})
    UNDO["partition_regions"](ctx, a="taiwan", b="tokyo")  # already gone is fine
    cluster.done()
    taiwan = read_back(cluster.seen[2][3], "V1NetworkPolicy")
    tokyo = read_back(cluster.seen[3][3], "V1NetworkPolicy")
    blocks = lambda p: [x.ip_block._except for x in p.spec.ingress[0]._from if x.ip_block]  # noqa: E731
    assert blocks(taiwan) == [["10.40.0.0/16"], None]  # taiwan refuses tokyo's VPC
    assert blocks(tokyo) == [["10.30.0.0/16"], None]
    assert taiwan.spec.egress[0].to == taiwan.spec.ingress[0]._from


def test_crash_region_sigkills_every_pod_and_recover_waits_for_the_deployments(
    tmp_path: Path, cluster: FakeCluster, target: TargetFile
) -> None:
    ctx = context(tmp_path, cluster, target)
    pods = {"items": [{"metadata": {"name": n}} for n in ("shop-a", "shop-b")]}
    cluster.expect(TW, "GET", "/api/v1/namespaces/shop/pods", answer=pods)
    cluster.expect(TW, "DELETE", "/api/v1/namespaces/shop/pods/shop-a")
    cluster.expect(TW, "DELETE", "/api/v1/namespaces/shop/pods/shop-b")
    FAULTS["crash_region"](ctx, region="taiwan")
    cluster.expect(
        TW, "GET", "/apis/apps/v1/namespaces/shop/deployments", answer={"items": [deployment(3, 1)]}
    )
    cluster.expect(
        TW, "GET", "/apis/apps/v1/namespaces/shop/deployments", answer={"items": [deployment(3, 3)]}
    )
    UNDO["crash_region"](ctx, region="taiwan")
    cluster.done()
    deletes = [
        read_back(body, "V1DeleteOptions") for m, _, _, body, _ in cluster.seen if m == "DELETE"
    ]
    assert [d.grace_period_seconds for d in deletes] == [0, 0]


def test_a_namespace_with_its_own_policies_is_refused_before_anything_is_created(
    tmp_path: Path, cluster: FakeCluster, target: TargetFile
) -> None:
    ctx = context(tmp_path, cluster, target)
    cluster.expect(TW, "GET", POLICIES, answer={"items": [{"metadata": {"name": "shop-only"}}]})
    with pytest.raises(PolicyUnsafe, match="shop-only"):
        FAULTS["isolate_region"](ctx, region="taiwan")
    cluster.done()
    assert ctx.ledger.entries() == []


def test_without_allow_destructive_nothing_is_changed(
    tmp_path: Path, cluster: FakeCluster, target: TargetFile
) -> None:
    ctx = context(tmp_path, cluster, target, allow=False)
    cluster.expect(TW, "GET", DEPLOY, answer=deployment(3, 3))
    with pytest.raises(Refused, match="--allow-destructive"):
        FAULTS["kill_shop"](ctx, region="taiwan")
    cluster.done()
    assert [s[0] for s in cluster.seen] == ["GET"]


def test_a_context_outside_the_allowlist_is_refused_without_a_request(
    tmp_path: Path, cluster: FakeCluster, target: TargetFile
) -> None:
    ctx = context(tmp_path, cluster, target)
    with pytest.raises(Refused, match=r"allowlist\.kube_contexts"):
        ctx.kube.call(
            "arn:aws:eks:us-east-1:1:cluster/other",
            "CoreV1Api.list_namespaced_pod",
            {"namespace": "shop"},
        )
    assert cluster.seen == []
