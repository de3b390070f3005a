"""The kopf handlers of `vmafx operator`, registered on a registry of their own.

    VmafxJob            create/resume → submit (uid = idempotency key); every `poll_s` → mirror
                        the job into .status until it finishes; delete → cancel, then the
                        finalizer is released
    VmafxNode           create/update/resume → create or patch the pool's Deployment (owned)
    VmafxModelTraining  create/update/resume → the trainer's ConfigMap; every `poll_s` → the
                        trainer's /status into .status

A refusal by the controller (a bad spec, an input outside the scoring roots) is written into
`.status` (`phase: Failed` and the reason in `message`) and not retried; a controller that does not
answer is retried (kopf.TemporaryError), and a VmafxJob keeps its finalizer until its job is
cancelled.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from typing import Any

import kopf

from vmafx.client.port import ControllerClient
from vmafx.errors import UnavailableError, VmafxError
from vmafx.operator import jobs, nodes, training
from vmafx.operator.fields import (
    FINAL_PHASES,
    FINALIZER,
    GROUP,
    JOBS,
    NODES,
    POOL_LABEL,
    TRAINER_STATUS_PORT,
    TRAININGS,
    VERSION,
)
from vmafx.operator.kube import KubeApi, get_json

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class OperatorConfig:
    """What the operator is told: which namespaces (none: the whole cluster), how often it
    polls jobs and trainers, and the API server (None: in-cluster, else ~/.kube/config)."""

    namespaces: tuple[str, ...] = ()
    poll_s: float = 5.0
    kube_server: str | None = None
    post_events: bool = True
    trainer_status_port: int = TRAINER_STATUS_PORT


def settings_of(config: OperatorConfig) -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    settings.persistence.finalizer = FINALIZER
    # The operator watches only its own three resources, in the namespaces it is told.
    settings.scanning.disabled = True
    settings.posting.enabled = config.post_events
    settings.watching.server_timeout = 60
    return settings


@dataclasses.dataclass
class _State:
    connection: kopf.ConnectionInfo | None = None
    client: ControllerClient | None = None
    kube: KubeApi | None = None

    def controller(self) -> ControllerClient:
        if self.client is None:
            raise kopf.TemporaryError("the controller client is not started yet", delay=1)
        return self.client

    def api(self) -> KubeApi:
        if self.kube is None:
            if self.connection is None:
                raise kopf.TemporaryError("not logged in to the API server yet", delay=1)
            self.kube = KubeApi(self.connection)
        return self.kube


def _changed(status: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if status.get(key) != value}


def _retry(error: UnavailableError, delay: float) -> kopf.TemporaryError:
    return kopf.TemporaryError(str(error), delay=delay)


def build_registry(
    client_factory: Callable[[], ControllerClient], config: OperatorConfig
) -> kopf.OperatorRegistry:
    """A registry holding every handler; `client_factory` is called once the loop runs."""
    registry = kopf.OperatorRegistry()
    state = _State()
    _lifecycle(registry, state, client_factory, config)
    _job_handlers(registry, state, config)
    _node_handlers(registry, state)
    _training_handlers(registry, state, config)
    return registry


def _lifecycle(
    registry: kopf.OperatorRegistry,
    state: _State,
    client_factory: Callable[[], ControllerClient],
    config: OperatorConfig,
) -> None:
    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        if config.kube_server:
            info: kopf.ConnectionInfo | None = kopf.ConnectionInfo(server=config.kube_server)
        else:
            info = kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)
        state.connection = info
        return info

    @kopf.on.startup(registry=registry)
    async def startup(**_: Any) -> None:
        state.client = client_factory()

    @kopf.on.cleanup(registry=registry)
    async def cleanup(**_: Any) -> None:
        if state.client is not None:
            await state.client.close()
        if state.kube is not None:
            await state.kube.close()


def _job_handlers(registry: kopf.OperatorRegistry, state: _State, config: OperatorConfig) -> None:
    @kopf.on.resume(GROUP, VERSION, JOBS, registry=registry)
    @kopf.on.create(GROUP, VERSION, JOBS, registry=registry)
    async def job_submit(
        spec: kopf.Spec,
        uid: str,
        name: str,
        meta: kopf.Meta,
        status: kopf.Status,
        patch: kopf.Patch,
        **_: Any,
    ) -> None:
        if status.get("controllerJobId"):
            return
        try:
            fields = await jobs.submit(state.controller(), spec, uid)
        except UnavailableError as error:
            raise _retry(error, config.poll_s) from None
        except VmafxError as error:  # the controller refused it: a spec change is needed
            log.warning("VmafxJob %s refused: %s", name, error)
            patch.status.update({"phase": "Failed", "message": str(error)})
            return
        patch.status.update({**fields, "observedGeneration": meta.get("generation")})

    @kopf.timer(GROUP, VERSION, JOBS, interval=config.poll_s, registry=registry)
    async def job_mirror(status: kopf.Status, patch: kopf.Patch, **_: Any) -> None:
        job_id = status.get("controllerJobId")
        if not job_id or status.get("phase") in FINAL_PHASES:
            return
        try:
            fields = await jobs.refresh(state.controller(), job_id)
        except UnavailableError as error:
            log.warning("job %s: the controller did not answer: %s", job_id, error)
            return
        patch.status.update(_changed(status, fields))

    @kopf.on.delete(GROUP, VERSION, JOBS, registry=registry)
    async def job_cancel(name: str, status: kopf.Status, **_: Any) -> None:
        try:  # until the controller answers, the finalizer stays
            said = await jobs.cancel(state.controller(), status, name)
        except UnavailableError as error:
            raise _retry(error, config.poll_s) from None
        if said:
            log.info("VmafxJob %s deleted: job %s: %s", name, status.get("controllerJobId"), said)


def _node_handlers(registry: kopf.OperatorRegistry, state: _State) -> None:
    @kopf.on.resume(GROUP, VERSION, NODES, registry=registry)
    @kopf.on.update(GROUP, VERSION, NODES, registry=registry)
    @kopf.on.create(GROUP, VERSION, NODES, registry=registry)
    async def node_reconcile(
        name: str, namespace: str | None, spec: kopf.Spec, body: kopf.Body, meta: kopf.Meta,
        patch: kopf.Patch, **_: Any,
    ) -> None:  # fmt: skip
        try:
            manifest = nodes.deployment_of(name, namespace or "default", spec)
        except VmafxError as error:
            patch.status.update({"phase": "Degraded", "message": str(error)})
            return
        kopf.append_owner_reference(manifest, owner=body)
        try:
            applied = await state.api().apply(manifest)
        except UnavailableError as error:
            raise _retry(error, 5) from None
        phase, ready = nodes.phase_of(applied)
        patch.status.update(
            {
                "phase": phase,
                "deployment": manifest["metadata"]["name"],
                "replicas": manifest["spec"]["replicas"],
                "readyReplicas": ready,
                "observedGeneration": meta.get("generation"),
                "message": None,
            }
        )


def _training_handlers(
    registry: kopf.OperatorRegistry, state: _State, config: OperatorConfig
) -> None:
    @kopf.on.resume(GROUP, VERSION, TRAININGS, registry=registry)
    @kopf.on.update(GROUP, VERSION, TRAININGS, registry=registry)
    @kopf.on.create(GROUP, VERSION, TRAININGS, registry=registry)
    async def training_configure(
        name: str,
        namespace: str | None,
        spec: kopf.Spec,
        body: kopf.Body,
        meta: kopf.Meta,
        patch: kopf.Patch,
        **_: Any,
    ) -> None:
        try:
            manifest = training.config_map_of(name, namespace or "default", spec)
        except VmafxError as error:
            patch.status.update({"phase": "Failed", "message": str(error)})
            return
        kopf.append_owner_reference(manifest, owner=body)
        try:
            await state.api().apply(manifest)
        except UnavailableError as error:
            raise _retry(error, 5) from None
        patch.status.update({"observedGeneration": meta.get("generation")})

    @kopf.timer(GROUP, VERSION, TRAININGS, interval=config.poll_s, registry=registry)
    async def training_mirror(
        namespace: str | None, spec: kopf.Spec, status: kopf.Status, patch: kopf.Patch, **_: Any
    ) -> None:
        pool = spec.get("nodePool")
        if not pool:
            return
        try:
            pods = await state.api().pods(namespace or "default", {POOL_LABEL: pool})
            url = training.status_url(pods, config.trainer_status_port)
            fields: dict[str, Any]
            if url is None:
                fields = {"phase": "Initializing", "message": f"no running pod in pool {pool}"}
            else:
                fields = {**training.status_of(await get_json(url)), "message": None}
        except UnavailableError as error:
            fields = {"phase": "Initializing", "message": str(error)}
        patch.status.update(_changed(status, fields))
