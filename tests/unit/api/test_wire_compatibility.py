"""vmafx's controller.proto stays wire-compatible with the original Go platform's.

The original's API (tests/fixtures/original_controller.proto, written from ORIGINAL.md §2.1) is
compiled at test time into its own descriptor pool, so that messages built with the original
types can be serialized and parsed with vmafx's generated ones, and the other way round.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import FieldDescriptor, ServiceDescriptor
from google.protobuf.message import Message
from grpc_tools import protoc

from vmafx.api.pb import controller_pb2, controller_pb2_grpc

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PACKAGE = "vmafx.controller.v1"
ORIGINAL_MESSAGES = [
    "ScoringParams",
    "Job",
    "NodeCapability",
    "SubmitJobRequest",
    "SubmitJobResponse",
    "GetJobRequest",
    "CancelJobRequest",
    "CancelJobResponse",
    "StreamJobsRequest",
    "RegisterNodeRequest",
    "RegisterNodeResponse",
    "HeartbeatRequest",
    "HeartbeatResponse",
    "PullWorkRequest",
    "PullWorkResponse",
    "ReportResultRequest",
    "ReportResultResponse",
]


@dataclass(frozen=True)
class OriginalApi:
    pool: descriptor_pool.DescriptorPool

    def message(self, name: str) -> type[Message]:
        return message_factory.GetMessageClass(self.pool.FindMessageTypeByName(f"{PACKAGE}.{name}"))

    @property
    def service(self) -> ServiceDescriptor:
        return self.pool.FindServiceByName(f"{PACKAGE}.VmafxController")


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> OriginalApi:
    out = tmp_path_factory.mktemp("original") / "original.pb"
    include = importlib.resources.files("grpc_tools") / "_proto"
    exit_code = protoc.main(
        [
            "grpc_tools.protoc",
            f"-I{FIXTURES}",
            f"-I{include}",
            f"--descriptor_set_out={out}",
            "original_controller.proto",
        ]
    )
    assert exit_code == 0
    pool = descriptor_pool.DescriptorPool()
    for file in descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file:
        pool.Add(file)
    return OriginalApi(pool)


def ours(name: str) -> type[Message]:
    cls: type[Message] = getattr(controller_pb2, name)
    return cls


def convert(message: Message, into: type[Message]) -> Any:
    """What a peer using the `into` type reads from `message`'s bytes."""
    return into.FromString(message.SerializeToString())


def as_dict(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def filled(cls: type[Message]) -> Message:
    """A message of `cls` with every field set to a distinct non-default value."""
    message = cls()
    _fill(message)
    return message


def _scalar(field: Any, salt: int) -> Any:
    kinds: dict[int, Callable[[], Any]] = {
        FieldDescriptor.CPPTYPE_STRING: lambda: f"{field.name}-{salt}",
        FieldDescriptor.CPPTYPE_BOOL: lambda: True,
        FieldDescriptor.CPPTYPE_DOUBLE: lambda: field.number + salt + 0.25,
        FieldDescriptor.CPPTYPE_FLOAT: lambda: field.number + salt + 0.5,
        FieldDescriptor.CPPTYPE_ENUM: lambda: field.enum_type.values[-1 - salt % 2].number,
    }
    return kinds.get(field.cpp_type, lambda: field.number * 1_000_003 + salt)()


def _fill(message: Message) -> None:
    descriptor: Any = message.DESCRIPTOR
    for field in descriptor.fields:
        value_field = field.message_type.fields_by_name["value"] if _is_map(field) else None
        if value_field is not None:
            entry = getattr(message, field.name)
            for salt in (1, 2):
                if value_field.message_type is not None:
                    _fill(entry[f"key-{salt}"])
                else:
                    entry[f"key-{salt}"] = _scalar(value_field, salt)
        elif field.message_type is not None and field.is_repeated:
            for _ in (1, 2):
                _fill(getattr(message, field.name).add())
        elif field.message_type is not None:
            _fill(getattr(message, field.name))
        elif field.is_repeated:
            getattr(message, field.name).extend([_scalar(field, 1), _scalar(field, 2)])
        else:
            setattr(message, field.name, _scalar(field, 1))


def _is_map(field: Any) -> bool:
    return field.message_type is not None and bool(field.message_type.GetOptions().map_entry)


def _field_shape(field: Any) -> tuple[Any, ...]:
    nested = field.message_type.full_name if field.message_type else None
    enum = field.enum_type.full_name if field.enum_type else None
    return (field.name, field.type, field.is_repeated, field.has_presence, nested, enum)


def _messages_with_nested(descriptor: Any) -> list[Any]:
    found = [descriptor]
    for nested in descriptor.nested_types:
        found += _messages_with_nested(nested)
    return found


def test_every_original_message_exists_with_the_original_name(original: OriginalApi) -> None:
    names = set(original.pool.FindFileByName("original_controller.proto").message_types_by_name)

    assert names == set(ORIGINAL_MESSAGES)
    assert names <= set(controller_pb2.DESCRIPTOR.message_types_by_name)


@pytest.mark.parametrize("name", ORIGINAL_MESSAGES)
def test_every_original_field_keeps_its_name_number_and_type(
    original: OriginalApi, name: str
) -> None:
    for theirs in _messages_with_nested(original.message(name).DESCRIPTOR):
        mine = controller_pb2.DESCRIPTOR.pool.FindMessageTypeByName(theirs.full_name)
        for field in theirs.fields:
            assert field.number in mine.fields_by_number, f"{theirs.full_name}.{field.name}"
            assert _field_shape(mine.fields_by_number[field.number]) == _field_shape(field)


@pytest.mark.parametrize("name", ORIGINAL_MESSAGES)
def test_fields_vmafx_adds_to_original_messages_are_numbered_from_100(
    original: OriginalApi, name: str
) -> None:
    original_numbers = {f.number for f in original.message(name).DESCRIPTOR.fields}
    added = {
        f.name: f.number for f in ours(name).DESCRIPTOR.fields if f.number not in original_numbers
    }

    assert all(number >= 100 for number in added.values()), added


def test_job_status_keeps_the_original_values_at_the_top_level(original: OriginalApi) -> None:
    theirs = original.pool.FindEnumTypeByName(f"{PACKAGE}.JobStatus")

    assert {v.name: v.number for v in theirs.values} == {
        "PENDING": 0,
        "RUNNING": 1,
        "COMPLETED": 2,
        "FAILED": 3,
        "CANCELLED": 4,
    }
    assert {v.name: v.number for v in controller_pb2.JobStatus.DESCRIPTOR.values} == {
        v.name: v.number for v in theirs.values
    }
    assert controller_pb2.COMPLETED == 2


@pytest.mark.parametrize("name", ORIGINAL_MESSAGES)
def test_every_original_message_reads_the_same_in_vmafx_and_back(
    original: OriginalApi, name: str
) -> None:
    sent = filled(original.message(name))

    received = convert(sent, ours(name))
    returned = convert(received, original.message(name))

    assert as_dict(received) == as_dict(sent)
    assert returned == sent


def test_a_completed_original_job_keeps_its_final_score_in_vmafx(original: OriginalApi) -> None:
    job = original.message("Job")(
        id="5f0b6d1e-2a47-4b1c-9d6e-1f2a3b4c5d6e",
        status=2,
        scoring={
            "reference": "/clips/ref.y4m",
            "distorted": "/clips/dis.y4m",
            "model": "vmaf_v0.6.1",
        },
        assigned_node="node-a",
        created_at=1_700_000_000,
        updated_at=1_700_000_042,
        final_score=93.417,
    )

    read = convert(job, controller_pb2.Job)

    assert read.status == controller_pb2.COMPLETED
    assert read.final_score == 93.417
    assert read.scoring.distorted == "/clips/dis.y4m"
    assert read.assigned_node == "node-a"
    assert read.updated_at == 1_700_000_042


def test_an_original_client_reads_a_vmafx_job_and_relays_it_without_losing_additions(
    original: OriginalApi,
) -> None:
    job = controller_pb2.Job(
        id="job-1",
        status=controller_pb2.COMPLETED,
        scoring=controller_pb2.ScoringParams(reference="r.mp4", distorted="d.mp4"),
        assigned_node="node-7",
        final_score=88.5,
        kind="score",
        queue="score",
        attempt=2,
        result_json='{"vmaf": {"mean": 88.5}}',
        attribution=controller_pb2.Attribution(host="zampp2", gpu_model="NVIDIA L4", gpu_index=0),
    )

    seen = convert(job, original.message("Job"))
    relayed = convert(seen, controller_pb2.Job)

    assert as_dict(seen) == {
        "id": "job-1",
        "status": "COMPLETED",
        "scoring": {"reference": "r.mp4", "distorted": "d.mp4"},
        "assigned_node": "node-7",
        "final_score": 88.5,
    }
    assert relayed == job
    assert relayed.attribution.HasField("gpu_index")


def test_scoring_params_read_the_same_both_ways(original: OriginalApi) -> None:
    fields = {"reference": "s3://b/ref.mp4", "distorted": "d.mp4", "model": "m", "backend": "cuda"}

    from_original = convert(
        original.message("ScoringParams")(**fields), controller_pb2.ScoringParams
    )
    from_vmafx = convert(controller_pb2.ScoringParams(**fields), original.message("ScoringParams"))

    assert as_dict(from_original) == fields
    assert as_dict(from_vmafx) == fields


def test_node_capability_of_an_original_node_reads_in_vmafx(original: OriginalApi) -> None:
    capability = original.message("NodeCapability")(
        gpu_vendor="nvidia", backends=["cuda", "cpu"], concurrency=3
    )

    read = convert(capability, controller_pb2.NodeCapability)

    assert (read.gpu_vendor, list(read.backends), read.concurrency) == (
        "nvidia",
        ["cuda", "cpu"],
        3,
    )
    assert len(read.gpus) == 0
    assert len(read.queues) == 0


def test_node_capability_with_gpus_reads_as_the_original_summary(original: OriginalApi) -> None:
    capability = controller_pb2.NodeCapability(
        gpu_vendor="nvidia",
        backends=["cuda"],
        concurrency=2,
        gpus=[controller_pb2.Gpu(vendor="nvidia", name="NVIDIA L4", uuid="GPU-1", memory_mb=23034)],
        encoders=["h264_nvenc", "libx264"],
        queue_concurrency={"encode": 1, "score": 1},
        labels={"tier": "heavy"},
    )

    read = convert(capability, original.message("NodeCapability"))

    assert as_dict(read) == {"gpu_vendor": "nvidia", "backends": ["cuda"], "concurrency": 2}


def test_report_result_features_map_reads_the_same_both_ways(original: OriginalApi) -> None:
    fields: dict[str, Any] = {
        "node_id": "n1",
        "session_token": "tok",
        "job_id": "j1",
        "final": True,
        "score": 91.25,
        "features": {"adm2": 0.97, "vif_scale0": 0.61, "motion2": 3.5},
        "partial_scores": [90.5, 92.0],
    }

    from_original = convert(
        original.message("ReportResultRequest")(**fields), controller_pb2.ReportResultRequest
    )
    from_vmafx = convert(
        controller_pb2.ReportResultRequest(**fields, attempt=3, result_json="{}"),
        original.message("ReportResultRequest"),
    )

    assert dict(from_original.features) == fields["features"]
    assert from_original.attempt == 0
    assert as_dict(from_vmafx) == fields


def test_heartbeat_answer_with_cancellations_still_says_ok_to_an_original_node(
    original: OriginalApi,
) -> None:
    answer = controller_pb2.HeartbeatResponse(ok=True, cancel_job_ids=["j1", "j2"])

    assert convert(answer, original.message("HeartbeatResponse")).ok is True


class RecordingChannel:
    """Stands in for a grpc.Channel and records the methods a stub registers."""

    def __init__(self) -> None:
        self.methods: dict[str, str] = {}

    def _recorder(self, shape: str) -> Callable[..., object]:
        def register(path: str, *args: object, **kwargs: object) -> object:
            self.methods[path] = shape
            return object()

        return register

    def __getattr__(self, shape: str) -> Callable[..., object]:
        if shape not in {"unary_unary", "unary_stream", "stream_unary", "stream_stream"}:
            raise AttributeError(shape)
        return self._recorder(shape)


def test_service_keeps_the_original_full_method_names_and_shapes(original: OriginalApi) -> None:
    channel = RecordingChannel()
    controller_pb2_grpc.VmafxControllerStub(channel)
    theirs = {
        f"/{original.service.full_name}/{m.name}": (
            ("stream" if m.client_streaming else "unary")
            + "_"
            + ("stream" if m.server_streaming else "unary")
        )
        for m in original.service.methods
    }

    assert len(theirs) == 8
    assert "/vmafx.controller.v1.VmafxController/SubmitJob" in theirs
    assert {path: channel.methods.get(path) for path in theirs} == theirs


def test_service_methods_keep_the_original_request_and_response_types(
    original: OriginalApi,
) -> None:
    mine = controller_pb2.DESCRIPTOR.services_by_name["VmafxController"]

    for method in original.service.methods:
        counterpart = mine.methods_by_name[method.name]
        assert counterpart.input_type.full_name == method.input_type.full_name
        assert counterpart.output_type.full_name == method.output_type.full_name
