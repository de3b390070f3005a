"""Wire formats: the gRPC/protobuf API (`vmafx.api.pb`, generated code in `_gen/`) and its
conversion to and from `vmafx.core` types.

Importing this package imports nothing heavy; `vmafx.api.pb` needs the `protobuf` and `grpcio`
packages (the `controller` or `node` extra).
"""
