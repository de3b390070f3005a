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
WAIT_S = 60.0  # per condition: generous for a loaded 2-core CI machine
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
            "deployments": "/apis/apps/v1", "configmaps": "/api/v1", "pods": "/api/v1"}[plural]  # fmt: skip
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
        await self.post(plural, body)
        return uid

    async def post(self, plural: str, body: dict[str, Any]) -> None:
        async with self.http.post(self.url + self.path(plural), json=body) as answer:
            assert answer.status < 300, await answer.text()

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
async def operator(
    client_factory: Callable[[], Any], trainer_port: int = 9475
) -> AsyncIterator[Kube]:
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
        emulator.resources["v1/pods"] = resource("Pod")
        url = str(server.url).rstrip("/")
        config = OperatorConfig(
            trainer_status_port=trainer_port,
            namespaces=(NAMESPACE,),
            poll_s=0.3,
            kube_server=url,
            post_events=False,
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
    job = {"reference": str(media / reference), "distorted": [str(media / distorted)]}
    return {"kind": "score", "job": job}


async def test_a_vmafx_job_runs_its_status_mirrors_the_job_and_recreating_it_finds_the_same_job(
    farm: Farm,
) -> None:
    _needs_operator_extra()
    farm.start_controller()
    farm.start_node("op-node", queues="score")
    await farm.node_live("op-node")
    from vmafx.client.grpc_client import GrpcControllerClient

    async with operator(lambda: GrpcControllerClient(farm.target, timeout_s=10)) as kube:
        spec = score_spec(farm, "ref.y4m", "dis.mp4")
        uid = await kube.create("vmafxjobs", "VmafxJob", "clip-1", spec)
        status = await kube.status_where("vmafxjobs", "clip-1", phase="Completed")
        assert status["state"] == "completed" and status["attempt"] == 1
        assert status["host"] and "message" not in status  # null fields are removed by the patch
        assert 0 < status["score"] <= 100 and status["finishedAt"] >= status["startedAt"]
        assert status["observedGeneration"] == 1
        job_id = status["controllerJobId"]
        assert (await farm.client.get_job(job_id)).job.idempotency_key == uid

        await kube.delete("vmafxjobs", "clip-1")  # a finished job: nothing to cancel
        await kube.gone("vmafxjobs", "clip-1")
        assert (await farm.client.get_job(job_id)).job.state.value == "completed"

        await kube.create("vmafxjobs", "VmafxJob", "clip-1", spec, uid)  # the same uid again
        again = await kube.status_where("vmafxjobs", "clip-1", phase="Completed")
        assert again["controllerJobId"] == job_id
        assert again["message"] == f"already submitted as job {job_id} (same uid)"
        assert len((await farm.client.list_jobs()).jobs) == 1


async def test_failed_and_cancelled_jobs_are_mirrored_and_deleting_a_running_one_cancels_it(
    farm: Farm,
) -> None:
    _needs_operator_extra()
    farm.start_controller()
    farm.start_node("op-node", queues="score")
    await farm.node_live("op-node")
    from vmafx.client.grpc_client import GrpcControllerClient

    long_pair = ("long_ref.mp4", "long_dis.mp4")
    async with operator(lambda: GrpcControllerClient(farm.target, timeout_s=10)) as kube:
        # Frames of different sizes and counts: the node fails the job.
        bad = score_spec(farm, "ref.y4m", "long_dis.mp4")
        await kube.create("vmafxjobs", "VmafxJob", "bad", bad)
        failed = await kube.status_where("vmafxjobs", "bad", phase="Failed", state="failed")
        assert failed["message"] and "score" not in failed

        await kube.create("vmafxjobs", "VmafxJob", "long", score_spec(farm, *long_pair))
        running = await kube.status_where("vmafxjobs", "long", phase="Running")
        assert running["host"] and running["attempt"] == 1
        await kube.delete("vmafxjobs", "long")
        await kube.gone("vmafxjobs", "long")  # the finalizer was released after the cancel
        job = (await farm.client.get_job(running["controllerJobId"])).job
        assert job.state.value == "cancelled" and "VmafxJob long was deleted" in (job.error or "")

        await kube.create("vmafxjobs", "VmafxJob", "other", score_spec(farm, *long_pair))
        other = await kube.status_where("vmafxjobs", "other", phase="Running")
        await farm.client.cancel_job(other["controllerJobId"], reason="a user changed their mind")
        await kube.status_where("vmafxjobs", "other", phase="Cancelled", state="cancelled")


async def test_a_vmafx_job_the_controller_refuses_says_why_in_its_status(farm: Farm) -> None:
    _needs_operator_extra()
    farm.start_controller()
    from vmafx.client.grpc_client import GrpcControllerClient

    async with operator(lambda: GrpcControllerClient(farm.target, timeout_s=10)) as kube:
        spec = {"kind": "score", "job": {"reference": "/etc/passwd", "distorted": ["/etc/hosts"]}}
        await kube.create("vmafxjobs", "VmafxJob", "outside", spec)
        status = await kube.status_where("vmafxjobs", "outside", phase="Failed")
        assert "scoring root" in status["message"] and "controllerJobId" not in status
        await kube.delete("vmafxjobs", "outside")
        await kube.gone("vmafxjobs", "outside")


async def test_a_vmafx_node_becomes_a_deployment_of_vmafx_node_with_its_gpus_queues_and_token() -> (
    None
):
    _needs_operator_extra()
    from vmafx.testing import FakeControllerClient

    async with operator(FakeControllerClient.in_memory) as kube:
        spec = {
            "gpuVendor": "amd",
            "gpusPerPod": 2,
            "image": "registry.example/vmafx-node:1.0-rocm",
            "replicas": 3,
            "controller": {
                "address": "vmafx-controller:9090",
                "tokenSecretRef": {"name": "vmafx-node-token", "key": "token"},
            },
            "queues": ["encode", "score"],
            "concurrency": {"encode": 2, "score": 1},
            "labels": {"tier": "heavy"},
        }
        await kube.create("vmafxnodes", "VmafxNode", "mi300", spec)
        status = await kube.status_where("vmafxnodes", "mi300", deployment="vmafx-node-mi300")
        assert (status["phase"], status["replicas"], status["readyReplicas"]) == (
            "Progressing",
            3,
            0,
        )
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

        change = {"replicas": 5, "gpuVendor": "nvidia", "gpusPerPod": 1}
        await kube.patch("vmafxnodes", "mi300", {"metadata": {"generation": 2}, "spec": change})
        await kube.status_where("vmafxnodes", "mi300", replicas=5, observedGeneration=2)
        patched = await kube.get("deployments", "vmafx-node-mi300")
        assert patched is not None and patched["spec"]["replicas"] == 5
        limits = patched["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
        assert limits["nvidia.com/gpu"] == 1


async def test_a_model_training_writes_the_trainer_settings_and_mirrors_its_status() -> None:
    _needs_operator_extra()
    from vmafx.ai.trainer.status import StatusServer
    from vmafx.testing import FakeControllerClient

    trainer = {"phase": "Running", "step_count": 120, "samples_trained": 3840,
               "active_version": 4, "checkpoint_counter": 5, "last_loss": 0.25}  # fmt: skip
    server = StatusServer("127.0.0.1", 0, lambda: trainer)  # the trainer's own /status listener
    server.start()
    try:
        host, port = server.address
        async with operator(FakeControllerClient.in_memory, trainer_port=port) as kube:
            spec = {"nodePool": "nvidia-l4", "training": {"learningRate": 0.0002, "batchSize": 64},
                    "checkpoint": {"intervalSeconds": 300}}  # fmt: skip
            await kube.create("vmafxmodeltrainings", "VmafxModelTraining", "online", spec)
            waiting = await kube.status_where("vmafxmodeltrainings", "online", phase="Initializing")
            assert waiting["message"] == "no running pod in pool nvidia-l4"
            # The create handler and the mirroring timer run independently: wait for the map.
            config = await kube.wait(
                "the trainer's ConfigMap", lambda: kube.get("configmaps", "vmafx-trainer-nvidia-l4")
            )
            assert config["data"] == {
                "VMAFX_SIDECAR_LR": "0.0002",
                "VMAFX_SIDECAR_BATCH_SIZE": "64",
                "VMAFX_SIDECAR_CKPT_INTERVAL_S": "300",
            }
            # A pod of the pool comes up (kmock runs no kubelet: the test writes its status).
            pod = {"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": "vmafx-node-nvidia-l4-0", "namespace": NAMESPACE,
                                "labels": {"vmafx.dev/pool": "nvidia-l4"}, "resourceVersion": "1"},
                   "status": {"phase": "Running", "podIP": host}}  # fmt: skip
            await kube.post("pods", pod)
            status = await kube.status_where("vmafxmodeltrainings", "online", step=120)
            assert (status["phase"], status["activeVersion"], status["samplesTrained"]) == (
                "Running", 4, 3840)  # fmt: skip
            assert status["checkpointCounter"] == 5 and "message" not in status
            trainer["step_count"] = 200
            await kube.status_where("vmafxmodeltrainings", "online", step=200)
    finally:
        server.stop()
