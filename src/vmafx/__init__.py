"""vmafx: measure and optimise video quality at scale with the real libvmaf."""

import os

# vmafx starts ffmpeg and its own parts with a preexec_fn (a parent-death signal), so through
# fork(): gRPC's fork handlers would then run in a child while other threads use gRPC and can
# crash it (signal 11). No child vmafx starts uses gRPC; set before gRPC is first imported.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")

__version__ = "0.1.0"
