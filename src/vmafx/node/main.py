"""The node's composition root: settings in, a node working for the controller out.

`run(settings)` is what `vmafx node` calls: it reads the token, inspects the machine (ffmpeg
with libvmaf, GPUs, verified encoders), builds the handlers, the gRPC controller client, the
metrics and the HTTP listener, and runs the agent until SIGTERM/SIGINT (drain, exit 0) or, in
burst mode, until the queue is empty. A refused token ends it with the error's exit code; a
background task or thread that dies (heartbeat, pull loop, model watcher, feedback sender) ends
it with exit 1 after a CRITICAL log line naming it (`vmafx.supervision`).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Sequence

from vmafx import __version__
from vmafx.ai.feedback import FeedbackClient
from vmafx.client.grpc_client import GrpcControllerClient
from vmafx.config import ffmpeg_settings
from vmafx.core.scores import DEFAULT_MODEL, ScoreReport
from vmafx.media.runner import SubprocessRunner
from vmafx.node.agent import AgentSettings, NodeAgent
from vmafx.node.capabilities import build_capabilities
from vmafx.node.gpuload import GpuLoadSampler
from vmafx.node.handlers.registry import build_handlers, served_queues
from vmafx.node.handlers.score import OnScored
from vmafx.node.handlers.uploads import sweep_stale_scratch
from vmafx.node.httpstatus import StatusServer
from vmafx.node.metrics import NodeMetrics
from vmafx.node.models import NodeModels, start_models
from vmafx.node.placement import GpuPool
from vmafx.node.settings import NodeSettings, read_token
from vmafx.node.startup import Machine, inspect_machine

log = logging.getLogger(__name__)


def feedback_sender(feedback: FeedbackClient) -> OnScored:
    """Send each scored input's feature vector and the default model's VMAF to the trainer
    (never blocks); an input scored without the default model sends nothing."""

    def send(job_id: str, report: ScoreReport) -> None:
        for index, result in enumerate(report.results):
            score = result.model_score(DEFAULT_MODEL)
            if result.features is None or score is None:
                continue
            key = job_id if index == 0 else f"{job_id}#{index}"
            feedback.send(key, result.features.values, score)

    return send


def _announce(name: str, settings: NodeSettings, machine: Machine, queues: Sequence[str],
              http: StatusServer | None) -> None:  # fmt: skip
    gpus = ", ".join(f"{gpu.name} ({gpu.uuid})" for gpu in machine.gpus) or "none"
    print(
        f"vmafx node {name}: controller {settings.controller}; "
        f"http {http.address if http else 'off'}; slots {settings.slot_count}; "
        f"queues {','.join(queues)}; GPUs {gpus}; encoders {','.join(sorted(machine.encoders))}",
        flush=True,
    )


def build_agent(
    settings: NodeSettings,
    machine: Machine,
    client: GrpcControllerClient,
    metrics: NodeMetrics,
    *,
    timeout_s: float | None = None,
    feedback: FeedbackClient | None = None,
    models: NodeModels | None = None,
) -> NodeAgent:
    name = settings.name or socket.gethostname()
    handlers = build_handlers(
        ffmpeg=machine.ffmpeg,
        runner=SubprocessRunner(),
        verified=machine.encoders,
        results_dir=settings.results_folder,
        devices=machine.devices,
        timeout_s=timeout_s,
        on_scored=feedback_sender(feedback) if feedback else None,
        models=models,
        decode=settings.decode,
        nvidia_gpu=any(gpu.vendor == "nvidia" for gpu in machine.gpus),
    )
    queues = settings.queues or served_queues(handlers)
    capabilities = build_capabilities(
        host=socket.gethostname(),
        gpus=[gpu.info() for gpu in machine.gpus],
        encoders=machine.encoders,
        queues=queues,
        slots=settings.slot_count,
        concurrency=settings.concurrency,
        labels=settings.labels,
    )
    metrics.describe_node(name, __version__, capabilities.gpu_vendor, capabilities.backends)
    agent_settings = AgentSettings(
        name=name,
        queues=tuple(queues),
        slots=settings.slot_count,
        poll_wait_s=settings.poll_wait_s,
        drain_timeout_s=settings.drain_timeout_s,
        burst=settings.burst,
    )
    gpus = GpuPool(capabilities.gpus)
    nvidia = [gpu.uuid for gpu in capabilities.gpus if gpu.vendor == "nvidia" and gpu.uuid]
    sampler = GpuLoadSampler(nvidia) if nvidia else None
    return NodeAgent(
        client, capabilities, handlers, agent_settings,
        gpus=gpus, metrics=metrics, sampler=sampler,
    )  # fmt: skip


async def serve(settings: NodeSettings) -> None:
    token = read_token(settings.token_file)
    ffmpeg = ffmpeg_settings()
    machine = await asyncio.to_thread(inspect_machine, settings, ffmpeg.path)
    await asyncio.to_thread(sweep_stale_scratch)  # whole encodes a killed node left in $TMPDIR
    feedback = None
    if settings.feedback_socket is not None:
        feedback = FeedbackClient(settings.feedback_socket).start()
    models = start_models(settings)
    metrics = NodeMetrics()
    if feedback is not None:
        metrics.watch_feedback(feedback.stats)
    if models is not None:
        metrics.watch_models(models.engine)
    client = GrpcControllerClient(
        settings.controller, token=token, ca=settings.ca, timeout_s=settings.rpc_timeout_s
    )
    agent = build_agent(
        settings, machine, client, metrics,
        timeout_s=ffmpeg.timeout_s, feedback=feedback, models=models,
    )  # fmt: skip
    http = None
    if settings.http_listen:
        http = StatusServer(settings.http_listen, metrics.registry, agent.readiness).start()
    _announce(agent.settings.name, settings, machine, agent.settings.queues, http)
    try:
        with agent.supervisor.catching_threads():
            await _run_until_signalled(agent)
    finally:
        await client.close()
        if http is not None:
            http.stop()
        if feedback is not None:
            feedback.close()
        if models is not None:
            models.stop()


async def _run_until_signalled(agent: NodeAgent) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, agent.request_stop)
    try:
        await agent.run()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


def run(settings: NodeSettings) -> int:
    """Work until SIGTERM/SIGINT (drained) or, in burst mode, an empty queue; then 0."""
    asyncio.run(serve(settings))
    return 0
