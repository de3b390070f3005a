"""The custom resources the operator serves, and every field name it reads or writes.

One place for the names, so the CRDs (deploy/crds/) and the operator agree. Spec fields are
camelCase as Kubernetes writes them; status fields are what the operator mirrors.
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
#: `.spec`: kind (score, encode, …), queue, priority, spec (the job's own spec, free-form),
#: requirements {backend, gpuVendor, encoder, minGpuMemoryMb, labels}.
JOB_SPEC = ("kind", "queue", "priority", "spec", "requirements")
JOB_REQUIREMENTS = ("backend", "gpuVendor", "encoder", "minGpuMemoryMb", "labels")
#: `.status`: the controller's job id and what it says about the job.
JOB_STATUS = (
    "jobId", "state", "score", "host", "gpu", "attempts", "pendingReason", "error", "progress",
    "deduplicated", "message",
)  # fmt: skip

# --- VmafxNode -----------------------------------------------------------------------------
#: `.spec`: image, replicas, controller (gRPC address), queues [..], concurrency {queue: n},
#: slots, labels {k: v}, gpu {vendor: nvidia|amd|intel|none, count, pin}, tokenSecret
#: {name, key}, nodeSelector, tolerations, resources (extra requests/limits), env [..].
NODE_SPEC = (
    "image", "replicas", "controller", "queues", "concurrency", "slots", "labels", "gpu",
    "tokenSecret", "nodeSelector", "tolerations", "resources", "env",
)  # fmt: skip
#: `.status`: deployment (its name), gpuResource (the device-plugin key asked for), replicas,
#: observedGeneration, message.
NODE_STATUS = ("deployment", "gpuResource", "replicas", "observedGeneration", "message")
#: The device-plugin resource of each GPU vendor.
GPU_RESOURCES = {"nvidia": "nvidia.com/gpu", "amd": "amd.com/gpu", "intel": "gpu.intel.com/i915"}

# --- VmafxModelTraining --------------------------------------------------------------------
#: `.spec`: settings {trainer setting in camelCase: value, e.g. lr, batchSize, ckptIntervalS,
#: minSamplesCkpt, gateMinSamples, gatePlccDelta} → VMAFX_SIDECAR_* keys of a ConfigMap the
#: trainer sidecar loads with envFrom; configMap (its name; default `<name>-trainer`);
#: statusUrl (the trainer's GET /status, e.g. http://vmafx-controller:9475/status).
TRAINING_SPEC = ("settings", "configMap", "statusUrl")
#: `.status`: the trainer's /status, camelCased, plus configMap, reachable, message.
TRAINING_STATUS = (
    "configMap", "reachable", "message", "phase", "stepCount", "samplesTrained", "lastLoss",
    "bufferSize", "checkpointsWritten", "activeVersion", "samplesRejected", "uptimeS",
)  # fmt: skip
