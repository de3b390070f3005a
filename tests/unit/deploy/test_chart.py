"""The Helm chart deploy/helm/vmafx rendered by the real Helm engine (helm-python-sdk) for a matrix
of values files (deploy/helm/vmafx/ci: SQLite, PostgreSQL ×3, NVIDIA + AMD + Intel pools, trainer
on/off, KEDA on/off), linted strictly, every manifest validated against Kubernetes' own schemas
(kubernetes-validate), and the wiring checked: ports, probes, env, commands, the trainer's
socket volume, GPU resources, KEDA queries, alert metric names."""

from __future__ import annotations

import re
from typing import Any

import pytest
from tests.unit.deploy.chartrender import (
    NAMESPACE,
    RELEASE,
    VALUE_FILES,
    Rendered,
    container,
    env,
    mount_of,
    pod_spec,
    port_number,
    render,
    render_file,
)
from tests.unit.deploy.deploytools import (
    CHART,
    KUBE_VERSION,
    command_problems,
    known_env_names,
    require_deploy_extra,
)

FILES = [path.name for path in VALUE_FILES]
GPU_KEYS = {"nvidia": "nvidia.com/gpu", "amd": "amd.com/gpu", "intel": "gpu.intel.com/i915"}
RUNTIMES = {"nvidia": "cuda", "amd": "rocm", "intel": "intel", "cpu": "cpu"}
#: Kinds whose schemas come from other projects' CRDs, which kubernetes-validate does not know.
FOREIGN_KINDS = {"ServiceMonitor", "PrometheusRule", "ScaledObject"}
CONTROLLER = f"{RELEASE}-controller"


@pytest.fixture(autouse=True)
def _helm() -> None:
    require_deploy_extra("helm_python", "kubernetes_validate")


def workloads(r: Rendered) -> list[dict[str, Any]]:
    return r.all("Deployment") + r.all("Job")


def containers(r: Rendered) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [
        (w, c)
        for w in workloads(r)
        for c in pod_spec(w)["containers"] + pod_spec(w).get("initContainers", [])
    ]


def test_the_matrix_covers_sqlite_postgresql_every_vendor_trainer_and_keda_both_ways() -> None:
    seen: set[str] = set()
    for name in FILES:
        values = render_file(name).values
        seen.add(f"store={values['controller']['store']['backend']}")
        seen.add(f"replicas={values['controller']['replicas']}")
        for pool in values["nodePools"]:
            seen.add(f"vendor={pool['gpu']['vendor']}")
            seen.add(f"keda={bool(pool.get('keda', {}).get('enabled'))}")
            seen.add(f"trainer={pool.get('trainer', values['trainer']['enabled'])}")
    assert {
        "store=sqlite", "store=postgresql", "replicas=3", "vendor=nvidia", "vendor=amd",
        "vendor=intel", "vendor=cpu", "keda=True", "keda=False", "trainer=True", "trainer=False",
    } <= seen  # fmt: skip


@pytest.mark.parametrize("name", [*FILES, None], ids=[*FILES, "defaults"])
def test_the_chart_lints_clean_in_strict_mode(name: str | None) -> None:
    from helm_python.chart import lint
    from tests.unit.deploy.chartrender import values_of

    values = values_of(CHART / "ci" / name) if name else None
    report = lint(CHART, values, strict=True, kube_version=f"v{KUBE_VERSION}", namespace=NAMESPACE)
    assert report["errors"] == []
    # Severity 1 is information (the chart has no icon); 2 and 3 are warnings and errors.
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


@pytest.mark.parametrize("name", FILES)
def test_every_manifest_passes_the_kubernetes_schemas(name: str) -> None:
    import kubernetes_validate

    checked = 0
    for manifest in render_file(name).manifests:
        if manifest["kind"] in FOREIGN_KINDS:
            continue
        kubernetes_validate.validate(manifest, KUBE_VERSION, strict=True)
        checked += 1
    assert checked >= 5


@pytest.mark.parametrize("name", FILES)
def test_every_container_runs_a_real_vmafx_command_with_settings_vmafx_reads(name: str) -> None:
    known = known_env_names()
    for _, c in containers(render_file(name)):
        assert command_problems(c["command"] + c.get("args", [])) == [], c["name"]
        unknown = {key for key in env(c) if key.startswith("VMAFX_")} - known
        assert unknown == set(), c["name"]


@pytest.mark.parametrize("name", FILES)
def test_every_pod_runs_non_root_on_a_read_only_root_with_every_mount_backed(name: str) -> None:
    for workload, c in containers(render_file(name)):
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] != 0
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        assert c["securityContext"]["allowPrivilegeEscalation"] is False
        volumes = {v["name"] for v in spec["volumes"]}
        assert {m["name"] for m in c["volumeMounts"]} <= volumes
        assert any(m["mountPath"] == "/tmp" for m in c["volumeMounts"])


def _listen_port(value: str) -> int:
    return int(value.rpartition(":")[2])


@pytest.mark.parametrize("name", FILES)
def test_the_controller_listens_where_its_service_and_probes_point(name: str) -> None:
    r = render_file(name)
    deployment = r.one("Deployment", CONTROLLER)
    c = container(deployment, "controller")
    e = env(c)
    service = r.one("Service", CONTROLLER)
    ports = {p["name"]: p for p in service["spec"]["ports"]}
    wanted = r.values["controller"]["service"]
    assert _listen_port(e["VMAFX_CONTROLLER_GRPC_LISTEN"]) == port_number(c, "grpc")
    assert _listen_port(e["VMAFX_CONTROLLER_HTTP_LISTEN"]) == port_number(c, "http")
    assert (
        ports["grpc"]["port"] == wanted["grpcPort"] == port_number(c, ports["grpc"]["targetPort"])
    )
    assert (
        ports["http"]["port"] == wanted["httpPort"] == port_number(c, ports["http"]["targetPort"])
    )
    scheme = "HTTPS" if r.values["controller"]["tls"]["secretName"] else "HTTP"
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = c[probe]["httpGet"]
        assert (get["path"], port_number(c, get["port"]), get["scheme"]) == (
            path, wanted["httpPort"], scheme,
        )  # fmt: skip
    assert (
        service["spec"]["selector"].items()
        <= deployment["spec"]["template"]["metadata"]["labels"].items()
    )


@pytest.mark.parametrize("name", FILES)
def test_every_node_dials_the_controller_service_and_answers_probes_on_its_listener(
    name: str,
) -> None:
    r = render_file(name)
    tls = bool(r.values["controller"]["tls"]["secretName"])
    grpc_port = r.values["controller"]["service"]["grpcPort"]
    for pool, deployment in r.pools():
        c = container(deployment, "node")
        e = env(c)
        expected = f"{CONTROLLER}:{grpc_port}"
        assert e["VMAFX_NODE_CONTROLLER"] == (f"https://{expected}" if tls else expected)
        port = _listen_port(e["VMAFX_NODE_HTTP_LISTEN"])
        assert port == r.values["node"]["httpPort"] == port_number(c, "metrics")
        assert c["livenessProbe"]["httpGet"]["path"] == "/livez"
        assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert port_number(c, c[probe]["httpGet"]["port"]) == port
        assert e.get("VMAFX_NODE_QUEUES", "") == ",".join(pool.get("queues", []))
        limits = ",".join(f"{q}={n}" for q, n in sorted(pool.get("concurrency", {}).items()))
        assert e.get("VMAFX_NODE_CONCURRENCY", "") == limits
        _, token = mount_of(deployment, c, e["VMAFX_NODE_TOKEN_FILE"])
        assert token["secret"]["secretName"] == r.values["node"]["token"]["existingSecret"]
        if r.values["controller"]["tls"]["caSecretName"]:
            _, ca = mount_of(deployment, c, e["VMAFX_NODE_CA"])
            assert ca["secret"]["secretName"] == r.values["controller"]["tls"]["caSecretName"]
        assert pool["name"] in deployment["metadata"]["name"]
        grace = pod_spec(deployment)["terminationGracePeriodSeconds"]
        assert grace > float(e["VMAFX_NODE_DRAIN_TIMEOUT_S"])


@pytest.mark.parametrize("name", FILES)
def test_each_pool_asks_the_device_plugin_of_its_vendor_and_runs_that_runtime(name: str) -> None:
    for pool, deployment in render_file(name).pools():
        c = container(deployment, "node")
        vendor = pool["gpu"]["vendor"]
        limits = c.get("resources", {}).get("limits", {})
        gpu_keys = {key for key in limits if key in GPU_KEYS.values()}
        if vendor == "cpu":
            assert gpu_keys == set()
        else:
            assert gpu_keys == {GPU_KEYS[vendor]}
            assert limits[GPU_KEYS[vendor]] == pool["gpu"]["count"]
        assert c["image"].endswith(f"-{RUNTIMES[vendor]}")
        if pool["gpu"].get("pinUuid"):
            assert env(c)["VMAFX_NODE_GPU"] == pool["gpu"]["pinUuid"]
        else:
            assert "VMAFX_NODE_GPU" not in env(c)
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert labels["vmafx.dev/gpu-vendor"] == vendor
        assert pod_spec(deployment).get("nodeSelector", {}) == pool.get("nodeSelector", {})
        assert pod_spec(deployment).get("tolerations", []) == pool.get("tolerations", [])


@pytest.mark.parametrize("name", FILES)
def test_the_trainer_is_a_native_sidecar_sharing_the_socket_and_models_with_the_node(
    name: str,
) -> None:
    r = render_file(name)
    for pool, deployment in r.pools():
        spec = pod_spec(deployment)
        node = container(deployment, "node")
        wanted = pool.get("trainer", r.values["trainer"]["enabled"])
        if not wanted:
            assert "initContainers" not in spec
            assert "VMAFX_NODE_FEEDBACK_SOCKET" not in env(node)
            continue
        trainer = container(deployment, "trainer")
        assert trainer in spec["initContainers"]
        assert trainer["restartPolicy"] == "Always"
        socket = env(trainer)["VMAFX_SIDECAR_SOCKET"]
        assert env(node)["VMAFX_NODE_FEEDBACK_SOCKET"] == socket
        trainer_volume = mount_of(deployment, trainer, socket)
        assert mount_of(deployment, node, socket) == trainer_volume
        assert "emptyDir" in trainer_volume[1]
        checkpoints = env(trainer)["VMAFX_SIDECAR_CHECKPOINT_DIR"]
        assert env(node)["VMAFX_NODE_MODEL_DIR"] == checkpoints
        assert (
            mount_of(deployment, node, checkpoints)[0]
            == mount_of(deployment, trainer, checkpoints)[0]
        )
        status = int(env(trainer)["VMAFX_SIDECAR_STATUS_PORT"])
        assert env(trainer)["VMAFX_SIDECAR_STATUS_HOST"] == "0.0.0.0"
        for probe in ("startupProbe", "livenessProbe"):
            get = trainer[probe]["httpGet"]
            assert (get["path"], port_number(trainer, get["port"])) == ("/status", status)


@pytest.mark.parametrize("name", FILES)
def test_sqlite_runs_one_controller_on_a_claim_and_postgresql_several_after_a_migration(
    name: str,
) -> None:
    r = render_file(name)
    controller = r.one("Deployment", CONTROLLER)
    store_env = env(container(controller, "controller"))["VMAFX_STORE_URL"]
    jobs = r.all("Job")
    if r.values["controller"]["store"]["backend"] == "sqlite":
        assert controller["spec"]["replicas"] == 1
        assert controller["spec"]["strategy"]["type"] == "Recreate"
        _, volume = mount_of(
            controller, container(controller, "controller"), store_env.removeprefix("sqlite:///")
        )
        assert (
            volume["persistentVolumeClaim"]["claimName"]
            == r.one("PersistentVolumeClaim", f"{CONTROLLER}-store")["metadata"]["name"]
        )
        assert jobs == []
        assert r.all("PodDisruptionBudget") == [
            p for p in r.all("PodDisruptionBudget") if p["metadata"]["name"] != CONTROLLER
        ]
        return
    retention = env(container(controller, "controller"))["VMAFX_CONTROLLER_RETENTION_DAYS"]
    assert float(retention) == r.values["controller"].get("retentionDays", 30)
    secret = r.values["controller"]["store"]["postgresql"]["existingSecret"]
    assert store_env == {"secretKeyRef": {"name": secret, "key": "url"}}
    assert controller["spec"]["replicas"] == r.values["controller"]["replicas"] == 3
    assert controller["spec"]["strategy"]["type"] == "RollingUpdate"
    (job,) = jobs
    migrate = pod_spec(job)["containers"][0]
    assert migrate["command"] == ["vmafx", "controller", "migrate"]
    assert env(migrate)["VMAFX_STORE_URL"] == store_env
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert r.all("PersistentVolumeClaim") == []
    pdb = r.one("PodDisruptionBudget", CONTROLLER)
    assert (
        pdb["spec"]["selector"]["matchLabels"].items()
        <= controller["spec"]["template"]["metadata"]["labels"].items()
    )


@pytest.mark.parametrize("name", FILES)
def test_a_keda_pool_scales_its_deployment_on_the_pending_jobs_of_its_queues(name: str) -> None:
    r = render_file(name)
    scaled = {s["spec"]["scaleTargetRef"]["name"]: s for s in r.all("ScaledObject")}
    for pool, deployment in r.pools():
        keda = pool.get("keda", {}).get("enabled", False)
        assert (deployment["metadata"]["name"] in scaled) == keda
        if not keda:
            assert deployment["spec"]["replicas"] == pool["replicas"]
            continue
        assert "replicas" not in deployment["spec"]  # KEDA owns the count
        obj = scaled[deployment["metadata"]["name"]]
        assert obj["apiVersion"] == "keda.sh/v1alpha1"
        assert obj["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        (trigger,) = obj["spec"]["triggers"]
        assert trigger["type"] == "prometheus"
        assert trigger["metadata"]["serverAddress"] == r.values["keda"]["prometheusAddress"]
        query = trigger["metadata"]["query"]
        assert "vmafx_controller_jobs_pending{" in query
        assert f'namespace="{NAMESPACE}"' in query and f'service="{CONTROLLER}"' in query
        if pool.get("queues"):
            assert f'queue=~"{"|".join(pool["queues"])}"' in query
        assert int(trigger["metadata"]["threshold"]) == pool["keda"].get("pendingPerReplica", 4)
        assert obj["spec"]["maxReplicaCount"] == pool["keda"].get("maxReplicaCount", 10)


def _metric_names() -> set[str]:
    """The series the controller and a node expose, from their real registries."""
    from prometheus_client import CollectorRegistry

    from vmafx.ai.feedback import FeedbackStats
    from vmafx.controller.metrics import ControllerMetrics, MetricsExporter
    from vmafx.node.metrics import NodeMetrics

    registry = CollectorRegistry()
    ControllerMetrics(registry)
    MetricsExporter(registry, store=None, clock=None)  # type: ignore[arg-type]  # never scraped here
    node = NodeMetrics()
    node.watch_feedback(
        lambda: FeedbackStats(delivered=0, dropped=0, rejected=0, queued=0, connected=False)
    )
    names: set[str] = set()
    for reg in (registry, node.registry):
        for family in reg.collect():
            suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}
            names |= {family.name + s for s in suffixes.get(family.type, [""])}
    return names


@pytest.mark.parametrize("name", [f for f in FILES if "trainer" in f or "gpus" in f])
def test_every_alert_asks_for_series_vmafx_exports(name: str) -> None:
    r = render_file(name)
    (rule,) = r.all("PrometheusRule")
    known = _metric_names()
    alerts = {}
    for group in rule["spec"]["groups"]:
        for item in group["rules"]:
            used = set(re.findall(r"\bvmafx_[a-z_]+", item["expr"]))
            assert used and used <= known, (item["alert"], used - known)
            assert f'namespace="{NAMESPACE}"' in item["expr"]
            alerts[item["alert"]] = item["expr"]
    assert 'reason="lease_expired"' in alerts["VmafxLeasesLost"]
    assert "vmafx_controller_queue_oldest_job_age_seconds" in alerts["VmafxQueueBacklog"]
    assert "vmafx_training_feedback_dropped_total" in alerts["VmafxTrainingFeedbackDropped"]
    assert "vmafx_controller_sweeping" in alerts["VmafxNoSweeper"]
    assert "vmafx_controller_replica_feed_connected" in alerts["VmafxControllerDeaf"]
    assert "vmafx_controller_claim_seconds_bucket" in alerts["VmafxSlowClaims"]
    assert alerts["VmafxSlowClaims"].endswith("> 1")  # the default p99 bound, in seconds


@pytest.mark.parametrize("name", [f for f in FILES if "trainer" in f or "gpus" in f])
def test_each_service_monitor_scrapes_a_named_port_of_a_service_it_selects(name: str) -> None:
    r = render_file(name)
    monitors = r.all("ServiceMonitor")
    assert len(monitors) == 2
    for monitor in monitors:
        selector = monitor["spec"]["selector"]["matchLabels"]
        (service,) = [
            s for s in r.all("Service") if selector.items() <= s["metadata"]["labels"].items()
        ]
        ports = {p["name"] for p in service["spec"]["ports"]}
        for endpoint in monitor["spec"]["endpoints"]:
            assert endpoint["port"] in ports and endpoint["path"] == "/metrics"
            if endpoint["port"] == "http" and r.values["controller"]["tls"]["secretName"]:
                assert endpoint["scheme"] == "https"
                assert endpoint["tlsConfig"]["serverName"] == CONTROLLER
                ca = endpoint["tlsConfig"]["ca"]["secret"]
                assert ca == {
                    "name": r.values["controller"]["tls"]["caSecretName"],
                    "key": "ca.crt",
                }


def test_network_policies_let_the_nodes_reach_the_controller_grpc_port_and_scrapers_the_metrics() -> (
    None
):
    r = render_file("postgresql-gpus-values.yaml")
    policy = r.one("NetworkPolicy", CONTROLLER)
    controller_labels = r.one("Deployment", CONTROLLER)["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= controller_labels.items()
    from_nodes = policy["spec"]["ingress"][0]
    node_labels = r.pools()[0][1]["spec"]["template"]["metadata"]["labels"]
    assert from_nodes["from"][0]["podSelector"]["matchLabels"].items() <= node_labels.items()
    assert from_nodes["ports"] == [{"port": "grpc", "protocol": "TCP"}]
    nodes = r.one("NetworkPolicy", f"{RELEASE}-nodes")
    (scrape,) = nodes["spec"]["ingress"]
    assert {p["port"] for p in scrape["ports"]} == {"metrics", "trainer-status"}


@pytest.mark.parametrize("name", FILES)
def test_every_disruption_budget_selects_pods_of_one_workload(name: str) -> None:
    r = render_file(name)
    for pdb in r.all("PodDisruptionBudget"):
        selector = pdb["spec"]["selector"]["matchLabels"]
        matching = [
            d for d in r.all("Deployment")
            if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]  # fmt: skip
        assert len(matching) == 1, pdb["metadata"]["name"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"controller": {"replicas": 3}}, "controller.replicas must be 1 with the sqlite store"),
        (
            {"controller": {"replicas": 2, "store": {"backend": "postgresql"}}},
            "/controller/store/postgresql/existingSecret",
        ),
        (
            {"nodePools": [{"name": "x", "gpu": {"vendor": "matrox", "count": 1}, "replicas": 1}]},
            "value must be one of 'nvidia', 'amd', 'intel', 'cpu'",
        ),
        ({"nodePools": [{"name": "x", "gpu": {"vendor": "nvidia", "count": 0}, "replicas": 1}]}, "/nodePools/0/gpu/count"),
        (
            {"nodePools": [{"name": "x", "gpu": {"vendor": "cpu", "count": 0}, "replicas": 1, "keda": {"enabled": True}}]},
            "keda.prometheusAddress is required",
        ),
        (
            {"nodePools": [{"name": "x", "gpu": {"vendor": "cpu", "count": 0}, "replicas": 1}] * 2},
            'the name "x" is used twice',
        ),
        (
            {"trainer": {"enabled": True}, "nodePools": [{"name": "x", "gpu": {"vendor": "cpu", "count": 0}, "replicas": 2, "models": {"existingClaim": "m"}}]},
            "a models claim holds one trainer's checkpoints",
        ),
        ({"controller": {"oidc": {"issuer": "https://idp"}}}, "/controller/oidc"),
        ({"controler": {}}, "additional properties 'controler' not allowed"),
    ],
    ids=[
        "sqlite-3-replicas", "postgresql-no-secret", "unknown-vendor", "gpu-count-0",
        "keda-no-prometheus", "pool-twice", "trainers-sharing-a-claim", "oidc-half", "typo",
    ],
)  # fmt: skip
def test_values_that_cannot_work_are_refused_with_the_reason(
    values: dict[str, Any], message: str
) -> None:
    from helm_python.errors import HelmError

    with pytest.raises(HelmError, match=re.escape(message)):
        render(values)
