"""`vmafx operator` end to end: the real kopf engine against kmock (an emulated Kubernetes API
on loopback), with a real `vmafx controller` and `vmafx node` started through the CLI.

kmock stores objects and streams watch events like an API server, but it does not assign uids
or resourceVersions (the tests do), validate against the CRDs, or run controllers: a
Deployment is only a stored object. See docs/operator.md for what was never run against a
real API server.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from tests.conftest import require
from tests.e2e.conftest import Farm

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
NAMESPACE = "default"
WAIT_S = 20.0
VERBS = {"get", "list", "watch", "create", "update", "patch", "delete"}


def _needs_operator_extra() -> None:
    for module in ("kopf", "kmock"):
        require(importlib.util.find_spec(module) is not None, f"{module} (vmafx[operator])")


class Kube:
    """kmock's Kubernetes emulator on loopback, with the resources the operator uses."""

    def __init__(self, emulator: Any, url: str, http: aiohttp.ClientSession) -> None:
        self.emulator, self.url, self.http = emulator, url, http

    @staticmethod
    def path(plural: str, name: str = "") -> str:
        group = "/apis/vmafx.dev/v1" if plural.startswith("vmafx") else {
            "deployments": "/apis/apps/v1", "configmaps": "/api/v1"}[plural]  # fmt: skip
        return f"{group}/namespaces/{NAMESPACE}/{plural}" + (f"/{name}" if name else "")

    async def create(self, plural: str, kind: str, name: str, spec: dict[str, Any],
                     uid: str | None = None) -> str:  # fmt: skip
        uid = uid or str(uuid.uuid4())
        body = {
            "apiVersion": "vmafx.dev/v1",
            "kind": kind,
            "metadata": {
                "name": name,
                "namespace": NAMESPACE,
                "uid": uid,
                "resourceVersion": "1",
                "generation": 1,
            },
            "spec": spec,
        }
        async with self.http.post(self.url + self.path(plural), json=body) as answer:
            assert answer.status < 300, await answer.text()
        return uid

    async def get(self, plural: str, name: str) -> dict[str, Any] | None:
        async with self.http.get(self.url + self.path(plural, name)) as answer:
            if answer.status == 404:
                return None
            assert answer.status == 200, await answer.text()
            body: dict[str, Any] = await answer.json()
            return body

    async def patch(self, plural: str, name: str, body: dict[str, Any]) -> None:
        headers = {"Content-Type": "application/merge-patch+json"}
        url = self.url + self.path(plural, name)
        async with self.http.patch(url, json=body, headers=headers) as answer:
            assert answer.status < 300, await answer.text()

    async def delete(self, plural: str, name: str) -> None:
        async with self.http.delete(self.url + self.path(plural, name)) as answer:
            assert answer.status < 300, await answer.text()

    async def wait(self, what: str, probe: Callable[[], Any]) -> Any:
        deadline = time.monotonic() + WAIT_S
        last = None
        while time.monotonic() < deadline:
            last = await probe()
            if last:
                return last
            await asyncio.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; last seen: {last!r}")

    async def status_where(self, plural: str, name: str, **want: Any) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            body = await self.get(plural, name)
            status = (body or {}).get("status") or {}
            return status if all(status.get(k) == v for k, v in want.items()) else None

        result: dict[str, Any] = await self.wait(f"{plural}/{name} status {want}", probe)
        return result

    async def gone(self, plural: str, name: str) -> None:
        async def probe() -> bool:
            return await self.get(plural, name) is None

        await self.wait(f"{plural}/{name} to be deleted", probe)


@contextlib.asynccontextmanager
async def operator(client_factory: Callable[[], Any]) -> AsyncIterator[Kube]:
    """kmock on loopback and the real kopf operator in this event loop, watching NAMESPACE."""
    import kmock
    import kopf

    from vmafx.operator.handlers import OperatorConfig, build_registry, settings_of

    def resource(kind: str, *, namespaced: bool = True) -> Any:
        return kmock.ResourceInfo(kind=kind, namespaced=namespaced, verbs=VERBS)

    async with kmock.KubernetesEmulator() as emulator, kmock.Server(emulator) as server:
        # kopf starts its watches only once it sees these two (its gotchas, ../shared/TOOLS.md).
        emulator.resources["v1/namespaces"] = resource("Namespace", namespaced=False)
        emulator.resources["apiextensions.k8s.io/v1/customresourcedefinitions"] = resource(
            "CustomResourceDefinition", namespaced=False
        )
        for plural, kind in (("vmafxjobs", "VmafxJob"), ("vmafxnodes", "VmafxNode"),
                             ("vmafxmodeltrainings", "VmafxModelTraining")):  # fmt: skip
            emulator.resources[f"vmafx.dev/v1/{plural}"] = resource(kind)
        emulator.resources["apps/v1/deployments"] = resource("Deployment")
        emulator.resources["v1/configmaps"] = resource("ConfigMap")
        url = str(server.url).rstrip("/")
        config = OperatorConfig(
            namespaces=(NAMESPACE,), poll_s=0.3, kube_server=url, post_events=False
        )
        stop, ready = asyncio.Event(), asyncio.Event()
        running = asyncio.create_task(
            kopf.operator(
                registry=build_registry(client_factory, config),
                settings=settings_of(config),
                standalone=True,
                namespaces=[NAMESPACE],
                stop_flag=stop,
                ready_flag=ready,
            )
        )
        try:
            await asyncio.wait_for(ready.wait(), WAIT_S)
            async with aiohttp.ClientSession() as http:
                yield Kube(emulator, url, http)
        finally:
            stop.set()
            await asyncio.wait_for(running, WAIT_S)


def score_spec(farm: Farm, reference: str, distorted: str) -> dict[str, Any]:
    media = farm.media
    return {"kind": "score", "spec": {"reference": str(media / reference),
                                      "distorted": [str(media / distorted)]}}  # fmt: skip


async def test_a_vmafx_job_runs_its_status_mirrors_the_job_and_recreating_it_finds_the_same_job(
    farm: Farm,
) -> None:
    _needs_operator_extra()
    farm.start_controller()
    farm.start_node("op-node", queues="score")
    await farm.node_live("op-node")
    from vmafx.client.grpc_client import GrpcControllerClient

    async with operator(lambda: GrpcControllerClient(farm.target, timeout_s=10)) as kube:
        uid = await kube.create(
            "vmafxjobs", "VmafxJob", "clip-1", score_spec(farm, "ref.y4m", "dis.mp4")
        )
        status = await kube.status_where("vmafxjobs", "clip-1", state="completed")
        assert status["attempts"] == 1 and status["host"] and status.get("error") is None
        assert 0 < status["score"] <= 100
        job_id = status["jobId"]
        assert (await farm.client.get_job(job_id)).job.idempotency_key == uid

        await kube.delete("vmafxjobs", "clip-1")  # a finished job: nothing to cancel
        await kube.gone("vmafxjobs", "clip-1")
        assert (await farm.client.get_job(job_id)).job.state.value == "completed"

        await kube.create(
            "vmafxjobs", "VmafxJob", "clip-1", score_spec(farm, "ref.y4m", "dis.mp4"), uid
        )
        again = await kube.status_where("vmafxjobs", "clip-1", state="completed")
        assert again["jobId"] == job_id and again["deduplicated"] is True


async def test_failed_and_cancelled_jobs_are_mirrored_and_deleting_a_running_one_cancels_it(
    farm: Farm,
) -> None:
    _needs_operator_extra()
    farm.start_controller()
    farm.start_node("op-node", queues="score")
    await farm.node_live("op-node")
    from vmafx.client.grpc_client import GrpcControllerClient

    async with operator(lambda: GrpcControllerClient(farm.target, timeout_s=10)) as kube:
        # Frames of different sizes and counts: the node fails the job.
        await kube.create(
            "vmafxjobs", "VmafxJob", "bad", score_spec(farm, "ref.y4m", "long_dis.mp4")
        )
        failed = await kube.status_where("vmafxjobs", "bad", state="failed")
        assert failed["error"] and failed.get("score") is None

        await kube.create(
            "vmafxjobs", "VmafxJob", "long", score_spec(farm, "long_ref.mp4", "long_dis.mp4")
        )
        running = await kube.status_where("vmafxjobs", "long", state="running")
        await kube.delete("vmafxjobs", "long")
        await kube.gone("vmafxjobs", "long")  # the finalizer was released after the cancel
        assert (await farm.client.get_job(running["jobId"])).job.state.value == "cancelled"

        await kube.create(
            "vmafxjobs", "VmafxJob", "other", score_spec(farm, "long_ref.mp4", "long_dis.mp4")
        )
        submitted = await kube.status_where("vmafxjobs", "other", state="running")
        await farm.client.cancel_job(submitted["jobId"], reason="a user changed their mind")
        await kube.status_where("vmafxjobs", "other", state="cancelled")


async def test_a_vmafx_job_the_controller_refuses_says_why_in_its_status(farm: Farm) -> None:
    _needs_operator_extra()
    farm.start_controller()
    from vmafx.client.grpc_client import GrpcControllerClient

    async with operator(lambda: GrpcControllerClient(farm.target, timeout_s=10)) as kube:
        spec = {"kind": "score", "spec": {"reference": "/etc/passwd", "distorted": ["/etc/hosts"]}}
        await kube.create("vmafxjobs", "VmafxJob", "outside", spec)
        status = await kube.status_where("vmafxjobs", "outside", state="invalid")
        assert "scoring root" in status["message"]
        await kube.delete("vmafxjobs", "outside")
        await kube.gone("vmafxjobs", "outside")


async def test_a_vmafx_node_becomes_a_deployment_of_vmafx_node_with_its_gpus_queues_and_token() -> (
    None
):
    _needs_operator_extra()
    from vmafx.testing import FakeControllerClient

    async with operator(FakeControllerClient.in_memory) as kube:
        spec = {
            "image": "registry.example/vmafx-node:1.0",
            "replicas": 3,
            "controller": "vmafx-controller:9090",
            "queues": ["encode", "score"],
            "concurrency": {"encode": 2, "score": 1},
            "labels": {"tier": "heavy"},
            "gpu": {"vendor": "amd", "count": 2},
            "tokenSecret": {"name": "vmafx-node-token", "key": "token"},
        }
        await kube.create("vmafxnodes", "VmafxNode", "mi300", spec)
        status = await kube.status_where("vmafxnodes", "mi300", deployment="vmafx-node-mi300")
        assert status["gpuResource"] == "amd.com/gpu" and status["replicas"] == 3
        deployment = await kube.get("deployments", "vmafx-node-mi300")
        assert deployment is not None
        assert deployment["metadata"]["ownerReferences"][0]["kind"] == "VmafxNode"
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        env = {item["name"]: item.get("value") for item in container["env"]}
        assert container["args"] == ["node"] and container["image"] == spec["image"]
        assert container["resources"]["limits"] == {"amd.com/gpu": 2}
        assert env["VMAFX_NODE_QUEUES"] == "encode,score"
        assert env["VMAFX_NODE_CONCURRENCY"] == "encode=2,score=1"
        assert env["VMAFX_NODE_LABELS"] == "tier=heavy"
        assert env["VMAFX_CONTROLLER_ADDR"] == "vmafx-controller:9090"
        assert pod["volumes"][0]["secret"]["secretName"] == "vmafx-node-token"

        change = {"replicas": 5, "gpu": {"vendor": "nvidia", "count": 1}}
        await kube.patch("vmafxnodes", "mi300", {"metadata": {"generation": 2}, "spec": change})
        await kube.status_where("vmafxnodes", "mi300", replicas=5, gpuResource="nvidia.com/gpu")
        patched = await kube.get("deployments", "vmafx-node-mi300")
        assert patched is not None and patched["spec"]["replicas"] == 5
        limits = patched["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
        assert limits["nvidia.com/gpu"] == 1


async def test_a_model_training_writes_the_trainer_settings_and_mirrors_its_status() -> None:
    _needs_operator_extra()
    from vmafx.ai.trainer.status import StatusServer
    from vmafx.testing import FakeControllerClient

    trainer = {"phase": "Running", "step_count": 120, "samples_trained": 3840,
               "active_version": 4, "checkpoints_written": 2, "last_loss": 0.25}  # fmt: skip
    server = StatusServer("127.0.0.1", 0, lambda: trainer)  # the trainer's own /status listener
    server.start()
    try:
        host, port = server.address
        async with operator(FakeControllerClient.in_memory) as kube:
            spec = {"settings": {"lr": 0.0002, "batchSize": 64, "ckptIntervalS": 300},
                    "statusUrl": f"http://{host}:{port}/status"}  # fmt: skip
            await kube.create("vmafxmodeltrainings", "VmafxModelTraining", "online", spec)
            status = await kube.status_where(
                "vmafxmodeltrainings", "online", stepCount=120, configMap="online-trainer"
            )
            assert status["activeVersion"] == 4 and status["reachable"] is True
            assert status["configMap"] == "online-trainer"
            config = await kube.get("configmaps", "online-trainer")
            assert config is not None and config["data"] == {
                "VMAFX_SIDECAR_LR": "0.0002",
                "VMAFX_SIDECAR_BATCH_SIZE": "64",
                "VMAFX_SIDECAR_CKPT_INTERVAL_S": "300",
            }
            trainer["step_count"] = 200
            await kube.status_where("vmafxmodeltrainings", "online", stepCount=200)
    finally:
        server.stop()
