"""Everything that touches ffmpeg: the runner (the only subprocess call site), probing,
the libvmaf graph builder and log parser, and the scorer that ties them together."""
