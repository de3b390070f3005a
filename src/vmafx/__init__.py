"""vmafx: measure and optimise video quality at scale with the real libvmaf."""

__version__ = "0.1.0"
