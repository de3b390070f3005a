"""Talking to a controller: the `ControllerClient` port and its gRPC implementation
(`vmafx.client.grpc.GrpcControllerClient`; imports grpcio). The in-process fake is
`vmafx.testing.FakeControllerClient`."""

from vmafx.client.port import ControllerClient

__all__ = ["ControllerClient"]
