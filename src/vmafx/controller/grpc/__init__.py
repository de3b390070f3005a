"""The controller's gRPC transport: `vmafx.controller.v1.VmafxController` over grpc.aio."""

from vmafx.controller.grpc.server import GrpcServer, start_grpc_server
from vmafx.controller.grpc.servicer import ControllerServicer

__all__ = ["ControllerServicer", "GrpcServer", "start_grpc_server"]
