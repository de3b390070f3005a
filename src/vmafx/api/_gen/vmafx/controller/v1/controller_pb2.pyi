from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PENDING: _ClassVar[JobStatus]
    RUNNING: _ClassVar[JobStatus]
    COMPLETED: _ClassVar[JobStatus]
    FAILED: _ClassVar[JobStatus]
    CANCELLED: _ClassVar[JobStatus]

class NodeState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NODE_STATE_UNSPECIFIED: _ClassVar[NodeState]
    NODE_STATE_LIVE: _ClassVar[NodeState]
    NODE_STATE_DRAINING: _ClassVar[NodeState]
    NODE_STATE_OFFLINE: _ClassVar[NodeState]
PENDING: JobStatus
RUNNING: JobStatus
COMPLETED: JobStatus
FAILED: JobStatus
CANCELLED: JobStatus
NODE_STATE_UNSPECIFIED: NodeState
NODE_STATE_LIVE: NodeState
NODE_STATE_DRAINING: NodeState
NODE_STATE_OFFLINE: NodeState

class ScoringParams(_message.Message):
    __slots__ = ("reference", "distorted", "model", "backend")
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    DISTORTED_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    reference: str
    distorted: str
    model: str
    backend: str
    def __init__(self, reference: _Optional[str] = ..., distorted: _Optional[str] = ..., model: _Optional[str] = ..., backend: _Optional[str] = ...) -> None: ...

class JobRequirements(_message.Message):
    __slots__ = ("backend", "gpu_vendor", "encoder", "min_gpu_memory_mb", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    GPU_VENDOR_FIELD_NUMBER: _ClassVar[int]
    ENCODER_FIELD_NUMBER: _ClassVar[int]
    MIN_GPU_MEMORY_MB_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    backend: str
    gpu_vendor: str
    encoder: str
    min_gpu_memory_mb: int
    labels: _containers.ScalarMap[str, str]
    def __init__(self, backend: _Optional[str] = ..., gpu_vendor: _Optional[str] = ..., encoder: _Optional[str] = ..., min_gpu_memory_mb: _Optional[int] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class JobProgress(_message.Message):
    __slots__ = ("frames", "fps", "percent", "eta_s", "phase", "encoder")
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    PERCENT_FIELD_NUMBER: _ClassVar[int]
    ETA_S_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    ENCODER_FIELD_NUMBER: _ClassVar[int]
    frames: int
    fps: float
    percent: float
    eta_s: float
    phase: str
    encoder: str
    def __init__(self, frames: _Optional[int] = ..., fps: _Optional[float] = ..., percent: _Optional[float] = ..., eta_s: _Optional[float] = ..., phase: _Optional[str] = ..., encoder: _Optional[str] = ...) -> None: ...

class Attribution(_message.Message):
    __slots__ = ("node_id", "node_name", "host", "gpu_vendor", "gpu_model", "gpu_uuid", "gpu_index", "encoder", "fallback_from", "fallback_to", "fallback_reason", "labels", "gpu_memory_mb", "gpu_driver")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    GPU_VENDOR_FIELD_NUMBER: _ClassVar[int]
    GPU_MODEL_FIELD_NUMBER: _ClassVar[int]
    GPU_UUID_FIELD_NUMBER: _ClassVar[int]
    GPU_INDEX_FIELD_NUMBER: _ClassVar[int]
    ENCODER_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_FROM_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_TO_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_REASON_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    GPU_MEMORY_MB_FIELD_NUMBER: _ClassVar[int]
    GPU_DRIVER_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    node_name: str
    host: str
    gpu_vendor: str
    gpu_model: str
    gpu_uuid: str
    gpu_index: int
    encoder: str
    fallback_from: str
    fallback_to: str
    fallback_reason: str
    labels: _containers.ScalarMap[str, str]
    gpu_memory_mb: int
    gpu_driver: str
    def __init__(self, node_id: _Optional[str] = ..., node_name: _Optional[str] = ..., host: _Optional[str] = ..., gpu_vendor: _Optional[str] = ..., gpu_model: _Optional[str] = ..., gpu_uuid: _Optional[str] = ..., gpu_index: _Optional[int] = ..., encoder: _Optional[str] = ..., fallback_from: _Optional[str] = ..., fallback_to: _Optional[str] = ..., fallback_reason: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., gpu_memory_mb: _Optional[int] = ..., gpu_driver: _Optional[str] = ...) -> None: ...

class JobAttempt(_message.Message):
    __slots__ = ("attempt", "attribution", "started_at_ms", "finished_at_ms", "outcome", "error")
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    attempt: int
    attribution: Attribution
    started_at_ms: int
    finished_at_ms: int
    outcome: str
    error: str
    def __init__(self, attempt: _Optional[int] = ..., attribution: _Optional[_Union[Attribution, _Mapping]] = ..., started_at_ms: _Optional[int] = ..., finished_at_ms: _Optional[int] = ..., outcome: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("id", "status", "scoring", "partial_results", "assigned_node", "error", "created_at", "updated_at", "final_score", "kind", "queue", "priority", "spec_json", "requirements", "tenant", "attempt", "progress", "result_json", "attribution", "pending_reason", "parent_id", "batch_id", "idempotency_key", "started_at_ms", "finished_at_ms", "scoring_roots", "lease_ms", "attempts", "created_at_ms", "updated_at_ms", "available_at_ms", "lease_expires_at_ms", "lost_leases", "signed_inputs", "signed_outputs")
    class SignedInputsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class SignedOutputsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SCORING_FIELD_NUMBER: _ClassVar[int]
    PARTIAL_RESULTS_FIELD_NUMBER: _ClassVar[int]
    ASSIGNED_NODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    FINAL_SCORE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    SPEC_JSON_FIELD_NUMBER: _ClassVar[int]
    REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    RESULT_JSON_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    PENDING_REASON_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    SCORING_ROOTS_FIELD_NUMBER: _ClassVar[int]
    LEASE_MS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_AT_MS_FIELD_NUMBER: _ClassVar[int]
    LEASE_EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    LOST_LEASES_FIELD_NUMBER: _ClassVar[int]
    SIGNED_INPUTS_FIELD_NUMBER: _ClassVar[int]
    SIGNED_OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    status: JobStatus
    scoring: ScoringParams
    partial_results: _containers.RepeatedScalarFieldContainer[float]
    assigned_node: str
    error: str
    created_at: int
    updated_at: int
    final_score: float
    kind: str
    queue: str
    priority: int
    spec_json: str
    requirements: JobRequirements
    tenant: str
    attempt: int
    progress: JobProgress
    result_json: str
    attribution: Attribution
    pending_reason: str
    parent_id: str
    batch_id: str
    idempotency_key: str
    started_at_ms: int
    finished_at_ms: int
    scoring_roots: _containers.RepeatedScalarFieldContainer[str]
    lease_ms: int
    attempts: _containers.RepeatedCompositeFieldContainer[JobAttempt]
    created_at_ms: int
    updated_at_ms: int
    available_at_ms: int
    lease_expires_at_ms: int
    lost_leases: int
    signed_inputs: _containers.ScalarMap[str, str]
    signed_outputs: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[str] = ..., status: _Optional[_Union[JobStatus, str]] = ..., scoring: _Optional[_Union[ScoringParams, _Mapping]] = ..., partial_results: _Optional[_Iterable[float]] = ..., assigned_node: _Optional[str] = ..., error: _Optional[str] = ..., created_at: _Optional[int] = ..., updated_at: _Optional[int] = ..., final_score: _Optional[float] = ..., kind: _Optional[str] = ..., queue: _Optional[str] = ..., priority: _Optional[int] = ..., spec_json: _Optional[str] = ..., requirements: _Optional[_Union[JobRequirements, _Mapping]] = ..., tenant: _Optional[str] = ..., attempt: _Optional[int] = ..., progress: _Optional[_Union[JobProgress, _Mapping]] = ..., result_json: _Optional[str] = ..., attribution: _Optional[_Union[Attribution, _Mapping]] = ..., pending_reason: _Optional[str] = ..., parent_id: _Optional[str] = ..., batch_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., started_at_ms: _Optional[int] = ..., finished_at_ms: _Optional[int] = ..., scoring_roots: _Optional[_Iterable[str]] = ..., lease_ms: _Optional[int] = ..., attempts: _Optional[_Iterable[_Union[JobAttempt, _Mapping]]] = ..., created_at_ms: _Optional[int] = ..., updated_at_ms: _Optional[int] = ..., available_at_ms: _Optional[int] = ..., lease_expires_at_ms: _Optional[int] = ..., lost_leases: _Optional[int] = ..., signed_inputs: _Optional[_Mapping[str, str]] = ..., signed_outputs: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Gpu(_message.Message):
    __slots__ = ("vendor", "name", "uuid", "index", "memory_mb", "driver", "compute_capability")
    VENDOR_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MB_FIELD_NUMBER: _ClassVar[int]
    DRIVER_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    vendor: str
    name: str
    uuid: str
    index: int
    memory_mb: int
    driver: str
    compute_capability: str
    def __init__(self, vendor: _Optional[str] = ..., name: _Optional[str] = ..., uuid: _Optional[str] = ..., index: _Optional[int] = ..., memory_mb: _Optional[int] = ..., driver: _Optional[str] = ..., compute_capability: _Optional[str] = ...) -> None: ...

class NodeCapability(_message.Message):
    __slots__ = ("gpu_vendor", "backends", "concurrency", "gpus", "encoders", "queues", "queue_concurrency", "labels", "host", "version")
    class QueueConcurrencyEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    GPU_VENDOR_FIELD_NUMBER: _ClassVar[int]
    BACKENDS_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    GPUS_FIELD_NUMBER: _ClassVar[int]
    ENCODERS_FIELD_NUMBER: _ClassVar[int]
    QUEUES_FIELD_NUMBER: _ClassVar[int]
    QUEUE_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    gpu_vendor: str
    backends: _containers.RepeatedScalarFieldContainer[str]
    concurrency: int
    gpus: _containers.RepeatedCompositeFieldContainer[Gpu]
    encoders: _containers.RepeatedScalarFieldContainer[str]
    queues: _containers.RepeatedScalarFieldContainer[str]
    queue_concurrency: _containers.ScalarMap[str, int]
    labels: _containers.ScalarMap[str, str]
    host: str
    version: str
    def __init__(self, gpu_vendor: _Optional[str] = ..., backends: _Optional[_Iterable[str]] = ..., concurrency: _Optional[int] = ..., gpus: _Optional[_Iterable[_Union[Gpu, _Mapping]]] = ..., encoders: _Optional[_Iterable[str]] = ..., queues: _Optional[_Iterable[str]] = ..., queue_concurrency: _Optional[_Mapping[str, int]] = ..., labels: _Optional[_Mapping[str, str]] = ..., host: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class SubmitJobRequest(_message.Message):
    __slots__ = ("scoring", "kind", "queue", "priority", "spec_json", "requirements", "parent_id", "batch_id", "idempotency_key")
    SCORING_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    SPEC_JSON_FIELD_NUMBER: _ClassVar[int]
    REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    scoring: ScoringParams
    kind: str
    queue: str
    priority: int
    spec_json: str
    requirements: JobRequirements
    parent_id: str
    batch_id: str
    idempotency_key: str
    def __init__(self, scoring: _Optional[_Union[ScoringParams, _Mapping]] = ..., kind: _Optional[str] = ..., queue: _Optional[str] = ..., priority: _Optional[int] = ..., spec_json: _Optional[str] = ..., requirements: _Optional[_Union[JobRequirements, _Mapping]] = ..., parent_id: _Optional[str] = ..., batch_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class SubmitJobResponse(_message.Message):
    __slots__ = ("job_id", "deduplicated", "job")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    DEDUPLICATED_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    deduplicated: bool
    job: Job
    def __init__(self, job_id: _Optional[str] = ..., deduplicated: _Optional[bool] = ..., job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...

class SubmitJobsRequest(_message.Message):
    __slots__ = ("jobs", "batch_id")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[SubmitJobRequest]
    batch_id: str
    def __init__(self, jobs: _Optional[_Iterable[_Union[SubmitJobRequest, _Mapping]]] = ..., batch_id: _Optional[str] = ...) -> None: ...

class SubmitJobsResponse(_message.Message):
    __slots__ = ("jobs", "batch_id")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[SubmitJobResponse]
    batch_id: str
    def __init__(self, jobs: _Optional[_Iterable[_Union[SubmitJobResponse, _Mapping]]] = ..., batch_id: _Optional[str] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("job_id", "reason")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    reason: str
    def __init__(self, job_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CancelJobResponse(_message.Message):
    __slots__ = ("ok", "message")
    OK_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    message: str
    def __init__(self, ok: _Optional[bool] = ..., message: _Optional[str] = ...) -> None: ...

class StreamJobsRequest(_message.Message):
    __slots__ = ("status_filter", "kinds", "queues", "job_ids", "batch_id", "parent_id", "snapshot_only", "search")
    STATUS_FILTER_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    QUEUES_FIELD_NUMBER: _ClassVar[int]
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_ONLY_FIELD_NUMBER: _ClassVar[int]
    SEARCH_FIELD_NUMBER: _ClassVar[int]
    status_filter: _containers.RepeatedScalarFieldContainer[JobStatus]
    kinds: _containers.RepeatedScalarFieldContainer[str]
    queues: _containers.RepeatedScalarFieldContainer[str]
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    batch_id: str
    parent_id: str
    snapshot_only: bool
    search: str
    def __init__(self, status_filter: _Optional[_Iterable[_Union[JobStatus, str]]] = ..., kinds: _Optional[_Iterable[str]] = ..., queues: _Optional[_Iterable[str]] = ..., job_ids: _Optional[_Iterable[str]] = ..., batch_id: _Optional[str] = ..., parent_id: _Optional[str] = ..., snapshot_only: _Optional[bool] = ..., search: _Optional[str] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("statuses", "kinds", "queues", "node_id", "batch_id", "parent_id", "created_after_ms", "created_before_ms", "page_size", "page_token", "search")
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    QUEUES_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    CREATED_BEFORE_MS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SEARCH_FIELD_NUMBER: _ClassVar[int]
    statuses: _containers.RepeatedScalarFieldContainer[JobStatus]
    kinds: _containers.RepeatedScalarFieldContainer[str]
    queues: _containers.RepeatedScalarFieldContainer[str]
    node_id: str
    batch_id: str
    parent_id: str
    created_after_ms: int
    created_before_ms: int
    page_size: int
    page_token: str
    search: str
    def __init__(self, statuses: _Optional[_Iterable[_Union[JobStatus, str]]] = ..., kinds: _Optional[_Iterable[str]] = ..., queues: _Optional[_Iterable[str]] = ..., node_id: _Optional[str] = ..., batch_id: _Optional[str] = ..., parent_id: _Optional[str] = ..., created_after_ms: _Optional[int] = ..., created_before_ms: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., search: _Optional[str] = ...) -> None: ...

class BulkJobsRequest(_message.Message):
    __slots__ = ("job_ids", "all_matching", "filter", "reason")
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    ALL_MATCHING_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    all_matching: bool
    filter: ListJobsRequest
    reason: str
    def __init__(self, job_ids: _Optional[_Iterable[str]] = ..., all_matching: _Optional[bool] = ..., filter: _Optional[_Union[ListJobsRequest, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class BulkJobsResponse(_message.Message):
    __slots__ = ("matched", "changed", "job_ids", "skipped")
    MATCHED_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    matched: int
    changed: int
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    skipped: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, matched: _Optional[int] = ..., changed: _Optional[int] = ..., job_ids: _Optional[_Iterable[str]] = ..., skipped: _Optional[_Iterable[str]] = ...) -> None: ...

class JobFramesResponse(_message.Message):
    __slots__ = ("frames_json",)
    FRAMES_JSON_FIELD_NUMBER: _ClassVar[int]
    frames_json: str
    def __init__(self, frames_json: _Optional[str] = ...) -> None: ...

class RetryJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "next_page_token")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    next_page_token: str
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Node(_message.Message):
    __slots__ = ("node_id", "name", "capability", "state", "tenant", "registered_at_ms", "last_heartbeat_ms", "running_job_ids", "slots_in_use", "gpu_usage", "gpu_usage_at_ms", "drain_requested")
    class SlotsInUseEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_MS_FIELD_NUMBER: _ClassVar[int]
    RUNNING_JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    SLOTS_IN_USE_FIELD_NUMBER: _ClassVar[int]
    GPU_USAGE_FIELD_NUMBER: _ClassVar[int]
    GPU_USAGE_AT_MS_FIELD_NUMBER: _ClassVar[int]
    DRAIN_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    name: str
    capability: NodeCapability
    state: NodeState
    tenant: str
    registered_at_ms: int
    last_heartbeat_ms: int
    running_job_ids: _containers.RepeatedScalarFieldContainer[str]
    slots_in_use: _containers.ScalarMap[str, int]
    gpu_usage: _containers.RepeatedCompositeFieldContainer[GpuUsage]
    gpu_usage_at_ms: int
    drain_requested: bool
    def __init__(self, node_id: _Optional[str] = ..., name: _Optional[str] = ..., capability: _Optional[_Union[NodeCapability, _Mapping]] = ..., state: _Optional[_Union[NodeState, str]] = ..., tenant: _Optional[str] = ..., registered_at_ms: _Optional[int] = ..., last_heartbeat_ms: _Optional[int] = ..., running_job_ids: _Optional[_Iterable[str]] = ..., slots_in_use: _Optional[_Mapping[str, int]] = ..., gpu_usage: _Optional[_Iterable[_Union[GpuUsage, _Mapping]]] = ..., gpu_usage_at_ms: _Optional[int] = ..., drain_requested: _Optional[bool] = ...) -> None: ...

class ListNodesRequest(_message.Message):
    __slots__ = ("include_offline",)
    INCLUDE_OFFLINE_FIELD_NUMBER: _ClassVar[int]
    include_offline: bool
    def __init__(self, include_offline: _Optional[bool] = ...) -> None: ...

class ListNodesResponse(_message.Message):
    __slots__ = ("nodes",)
    NODES_FIELD_NUMBER: _ClassVar[int]
    nodes: _containers.RepeatedCompositeFieldContainer[Node]
    def __init__(self, nodes: _Optional[_Iterable[_Union[Node, _Mapping]]] = ...) -> None: ...

class DrainNodeRequest(_message.Message):
    __slots__ = ("node_id", "release_jobs")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    RELEASE_JOBS_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    release_jobs: bool
    def __init__(self, node_id: _Optional[str] = ..., release_jobs: _Optional[bool] = ...) -> None: ...

class DrainNodeResponse(_message.Message):
    __slots__ = ("ok", "released_job_ids")
    OK_FIELD_NUMBER: _ClassVar[int]
    RELEASED_JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    released_job_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ok: _Optional[bool] = ..., released_job_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ResumeNodeRequest(_message.Message):
    __slots__ = ("node_id",)
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    def __init__(self, node_id: _Optional[str] = ...) -> None: ...

class ResumeNodeResponse(_message.Message):
    __slots__ = ("ok", "was_drained")
    OK_FIELD_NUMBER: _ClassVar[int]
    WAS_DRAINED_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    was_drained: bool
    def __init__(self, ok: _Optional[bool] = ..., was_drained: _Optional[bool] = ...) -> None: ...

class SetNodeConcurrencyRequest(_message.Message):
    __slots__ = ("node_id", "concurrency")
    class ConcurrencyEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    concurrency: _containers.ScalarMap[str, int]
    def __init__(self, node_id: _Optional[str] = ..., concurrency: _Optional[_Mapping[str, int]] = ...) -> None: ...

class SetNodeConcurrencyResponse(_message.Message):
    __slots__ = ("concurrency", "slots")
    class ConcurrencyEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    concurrency: _containers.ScalarMap[str, int]
    slots: int
    def __init__(self, concurrency: _Optional[_Mapping[str, int]] = ..., slots: _Optional[int] = ...) -> None: ...

class RegisterNodeRequest(_message.Message):
    __slots__ = ("name", "capability")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    name: str
    capability: NodeCapability
    def __init__(self, name: _Optional[str] = ..., capability: _Optional[_Union[NodeCapability, _Mapping]] = ...) -> None: ...

class RegisterNodeResponse(_message.Message):
    __slots__ = ("node_id", "session_token", "heartbeat_interval_ms", "lease_ms")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    LEASE_MS_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    session_token: str
    heartbeat_interval_ms: int
    lease_ms: int
    def __init__(self, node_id: _Optional[str] = ..., session_token: _Optional[str] = ..., heartbeat_interval_ms: _Optional[int] = ..., lease_ms: _Optional[int] = ...) -> None: ...

class RunningJob(_message.Message):
    __slots__ = ("job_id", "attempt", "progress")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    attempt: int
    progress: JobProgress
    def __init__(self, job_id: _Optional[str] = ..., attempt: _Optional[int] = ..., progress: _Optional[_Union[JobProgress, _Mapping]] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("node_id", "session_token", "jobs_running", "running", "draining", "gpu_usage")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    JOBS_RUNNING_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    DRAINING_FIELD_NUMBER: _ClassVar[int]
    GPU_USAGE_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    session_token: str
    jobs_running: int
    running: _containers.RepeatedCompositeFieldContainer[RunningJob]
    draining: bool
    gpu_usage: _containers.RepeatedCompositeFieldContainer[GpuUsage]
    def __init__(self, node_id: _Optional[str] = ..., session_token: _Optional[str] = ..., jobs_running: _Optional[int] = ..., running: _Optional[_Iterable[_Union[RunningJob, _Mapping]]] = ..., draining: _Optional[bool] = ..., gpu_usage: _Optional[_Iterable[_Union[GpuUsage, _Mapping]]] = ...) -> None: ...

class GpuUsage(_message.Message):
    __slots__ = ("uuid", "index", "utilization_pct", "encoder_utilization_pct", "encoder_sessions", "memory_used_mb", "memory_total_mb")
    UUID_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    UTILIZATION_PCT_FIELD_NUMBER: _ClassVar[int]
    ENCODER_UTILIZATION_PCT_FIELD_NUMBER: _ClassVar[int]
    ENCODER_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_USED_MB_FIELD_NUMBER: _ClassVar[int]
    MEMORY_TOTAL_MB_FIELD_NUMBER: _ClassVar[int]
    uuid: str
    index: int
    utilization_pct: float
    encoder_utilization_pct: float
    encoder_sessions: int
    memory_used_mb: int
    memory_total_mb: int
    def __init__(self, uuid: _Optional[str] = ..., index: _Optional[int] = ..., utilization_pct: _Optional[float] = ..., encoder_utilization_pct: _Optional[float] = ..., encoder_sessions: _Optional[int] = ..., memory_used_mb: _Optional[int] = ..., memory_total_mb: _Optional[int] = ...) -> None: ...

class QueueConcurrency(_message.Message):
    __slots__ = ("limits",)
    class LimitsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    limits: _containers.ScalarMap[str, int]
    def __init__(self, limits: _Optional[_Mapping[str, int]] = ...) -> None: ...

class HeartbeatResponse(_message.Message):
    __slots__ = ("ok", "cancel_job_ids", "session_unknown", "drain", "heartbeat_interval_ms", "concurrency")
    OK_FIELD_NUMBER: _ClassVar[int]
    CANCEL_JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    SESSION_UNKNOWN_FIELD_NUMBER: _ClassVar[int]
    DRAIN_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    cancel_job_ids: _containers.RepeatedScalarFieldContainer[str]
    session_unknown: bool
    drain: bool
    heartbeat_interval_ms: int
    concurrency: QueueConcurrency
    def __init__(self, ok: _Optional[bool] = ..., cancel_job_ids: _Optional[_Iterable[str]] = ..., session_unknown: _Optional[bool] = ..., drain: _Optional[bool] = ..., heartbeat_interval_ms: _Optional[int] = ..., concurrency: _Optional[_Union[QueueConcurrency, _Mapping]] = ...) -> None: ...

class PullWorkRequest(_message.Message):
    __slots__ = ("node_id", "session_token", "capability", "queues", "wait_ms")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    QUEUES_FIELD_NUMBER: _ClassVar[int]
    WAIT_MS_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    session_token: str
    capability: NodeCapability
    queues: _containers.RepeatedScalarFieldContainer[str]
    wait_ms: int
    def __init__(self, node_id: _Optional[str] = ..., session_token: _Optional[str] = ..., capability: _Optional[_Union[NodeCapability, _Mapping]] = ..., queues: _Optional[_Iterable[str]] = ..., wait_ms: _Optional[int] = ...) -> None: ...

class PullWorkResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: Job
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...

class ReportResultRequest(_message.Message):
    __slots__ = ("node_id", "session_token", "job_id", "final", "score", "features", "partial_scores", "error", "attempt", "result_json", "attribution")
    class FeaturesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    PARTIAL_SCORES_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    RESULT_JSON_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    session_token: str
    job_id: str
    final: bool
    score: float
    features: _containers.ScalarMap[str, float]
    partial_scores: _containers.RepeatedScalarFieldContainer[float]
    error: str
    attempt: int
    result_json: str
    attribution: Attribution
    def __init__(self, node_id: _Optional[str] = ..., session_token: _Optional[str] = ..., job_id: _Optional[str] = ..., final: _Optional[bool] = ..., score: _Optional[float] = ..., features: _Optional[_Mapping[str, float]] = ..., partial_scores: _Optional[_Iterable[float]] = ..., error: _Optional[str] = ..., attempt: _Optional[int] = ..., result_json: _Optional[str] = ..., attribution: _Optional[_Union[Attribution, _Mapping]] = ...) -> None: ...

class ReportResultResponse(_message.Message):
    __slots__ = ("ok", "message")
    OK_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    message: str
    def __init__(self, ok: _Optional[bool] = ..., message: _Optional[str] = ...) -> None: ...

class JobRef(_message.Message):
    __slots__ = ("job_id", "attempt")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    attempt: int
    def __init__(self, job_id: _Optional[str] = ..., attempt: _Optional[int] = ...) -> None: ...

class ReleaseJobsRequest(_message.Message):
    __slots__ = ("node_id", "session_token", "jobs", "reason", "end_session")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    JOBS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    END_SESSION_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    session_token: str
    jobs: _containers.RepeatedCompositeFieldContainer[JobRef]
    reason: str
    end_session: bool
    def __init__(self, node_id: _Optional[str] = ..., session_token: _Optional[str] = ..., jobs: _Optional[_Iterable[_Union[JobRef, _Mapping]]] = ..., reason: _Optional[str] = ..., end_session: _Optional[bool] = ...) -> None: ...

class ReleaseJobsResponse(_message.Message):
    __slots__ = ("ok", "released_job_ids")
    OK_FIELD_NUMBER: _ClassVar[int]
    RELEASED_JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    released_job_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ok: _Optional[bool] = ..., released_job_ids: _Optional[_Iterable[str]] = ...) -> None: ...
