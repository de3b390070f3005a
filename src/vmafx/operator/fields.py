"""The custom resources the operator serves, and every field name it reads or writes.

One place for the names the operator shares with the CRDs in deploy/crds/ (camelCase, as
Kubernetes writes them). A real API server prunes status fields a CRD does not declare, so
every status field written here is declared there.
"""

from __future__ import annotations

GROUP = "vmafx.dev"
VERSION = "v1"
API_VERSION = f"{GROUP}/{VERSION}"
JOBS = "vmafxjobs"
NODES = "vmafxnodes"
TRAININGS = "vmafxmodeltrainings"
#: The finalizer on VmafxJob objects: removed once the job is cancelled (or was finished).
FINALIZER = "vmafx.dev/cancel-job"

# --- VmafxJob ------------------------------------------------------------------------------
#: `.spec`: kind, job (the kind's spec as POST /v1/jobs takes it), queue, priority,
#: requirements {backend, gpuVendor, encoder, minGpuMemoryMb, labels}.
JOB_SPEC = ("kind", "job", "queue", "priority", "requirements")
JOB_REQUIREMENTS = ("backend", "gpuVendor", "encoder", "minGpuMemoryMb", "labels")
#: `.status`: phase (below), the controller's job id and state, attempts so far, the headline
#: score, where it ran, why it waits or failed (message), its times, the generation seen.
JOB_STATUS = (
    "phase", "controllerJobId", "state", "attempt", "score", "host", "gpu", "message",
    "submittedAt", "startedAt", "finishedAt", "observedGeneration",
)  # fmt: skip
#: `.status.phase` of each controller state; a spec the controller refuses is `Failed`.
JOB_PHASES = {
    "pending": "Pending",
    "running": "Running",
    "completed": "Completed",
    "failed": "Failed",
    "cancelled": "Cancelled",
}
FINAL_PHASES = ("Completed", "Failed", "Cancelled")

# --- VmafxNode -----------------------------------------------------------------------------
#: `.spec`: gpuVendor (nvidia|amd|intel|cpu), gpusPerPod, replicas, image, controller {address,
#: tokenSecretRef {name, key}, caSecretRef {name, key}}, queues, concurrency {queue: n},
#: labels {k: v}, drainTimeoutSeconds, nodeSelector, tolerations, resources.
NODE_SPEC = (
    "gpuVendor", "gpusPerPod", "replicas", "image", "controller", "queues", "concurrency",
    "labels", "drainTimeoutSeconds", "nodeSelector", "tolerations", "resources",
)  # fmt: skip
#: `.status`: phase (Pending, Progressing, Ready, Degraded), deployment, replicas,
#: readyReplicas, message, observedGeneration.
NODE_STATUS = ("phase", "deployment", "replicas", "readyReplicas", "message", "observedGeneration")
#: The device-plugin resource of each GPU vendor (cpu: none).
GPU_RESOURCES = {"nvidia": "nvidia.com/gpu", "amd": "amd.com/gpu", "intel": "gpu.intel.com/i915"}
#: The label that names a node pool on its Deployment and pods.
POOL_LABEL = "vmafx.dev/pool"

# --- VmafxModelTraining --------------------------------------------------------------------
#: `.spec`: nodePool (the VmafxNode whose pods run the trainer sidecar), algorithm, baseModel,
#: checkpoint {intervalSeconds, minSamples}, training {batchSize, replayCapacity, replayMix,
#: learningRate, emaDecay}, gate {plccDelta, minSamples}.
TRAINING_SPEC = ("nodePool", "algorithm", "baseModel", "checkpoint", "training", "gate")
#: `.status`: from the trainer's GET /status: phase (Initializing, Running, Failed),
#: samplesTrained, step, lastLoss, activeVersion, checkpointCounter, lastCheckpoint; plus
#: message and observedGeneration.
TRAINING_STATUS = (
    "phase", "samplesTrained", "step", "lastLoss", "activeVersion", "checkpointCounter",
    "lastCheckpoint", "message", "observedGeneration",
)  # fmt: skip
#: The port of the trainer's GET /status in a pool's pods (VMAFX_SIDECAR_STATUS_PORT).
TRAINER_STATUS_PORT = 9475
