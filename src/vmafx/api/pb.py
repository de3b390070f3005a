"""The generated protobuf and gRPC modules, imported from one place.

    from vmafx.api.pb import controller_pb2, controller_pb2_grpc

    job = controller_pb2.Job(id=job_id, status=controller_pb2.RUNNING, kind="score")
    stub = controller_pb2_grpc.VmafxControllerStub(channel)

The code lives in `vmafx.api._gen`, generated from `vmafx/api/proto/vmafx/controller/v1/
controller.proto` by `python scripts/gen_proto.py` (never edited by hand; CI checks that it is
current). Wire compatibility with the original Go platform is described in that .proto file.
"""

from __future__ import annotations

_EXTRA_MODULES = {"grpc", "google", "google.protobuf"}

try:
    from vmafx.api._gen.vmafx.controller.v1 import controller_pb2, controller_pb2_grpc
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the installed extras
    if exc.name not in _EXTRA_MODULES:
        raise
    raise ModuleNotFoundError(
        f"vmafx's gRPC API needs the {exc.name!r} package, which is not installed: "
        "pip install 'vmafx[controller]' (or 'vmafx[node]' on a worker node)",
        name=exc.name,
    ) from exc

__all__ = ["controller_pb2", "controller_pb2_grpc"]
