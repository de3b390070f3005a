"""vmafx: measure and optimise video quality at scale with the real libvmaf."""

import os

# vmafx starts ffmpeg and its own parts with a preexec_fn (a parent-death signal), so through
# fork(): gRPC's fork handlers would then run in a child while other threads use gRPC and can
# crash it (signal 11). No child vmafx starts uses gRPC; set before gRPC is first imported.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")
# gRPC's C core logs a failed TLS handshake at INFO on stderr; vmafx says what failed and the
# fix itself (vmafx.client.tls), so only the core's errors are let through.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

__version__ = "0.1.0"
