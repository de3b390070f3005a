#!/usr/bin/env bash
# The GPU device check (issue 19, docs/gpu.md): run on the lent GPU machine from the repo root,
#   bash scripts/gpu-check.sh "$OUT" [--budget-s 420] [--dry-run] ...
# with `.gpu-carry` carried (scripts/gpu-carry.sh makes it: the bundled ffmpeg, xz-compressed,
# and the vmaf-torch/yuvio wheels). Installs nothing from a network. Writes env.json,
# probe.json, summary.json, summary.md and log.txt into the folder given.
set -uo pipefail
out="${1:?usage: scripts/gpu-check.sh OUT [benchmarks/gpu.py options]}"
shift
root="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$out"
python="${PYTHON:-$(command -v python3 || command -v python)}"
export PYTHONPATH="$root/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
"$python" "$root/benchmarks/gpu.py" "$out" "$@" 2>&1 | tee "$out/log.txt"
exit "${PIPESTATUS[0]}"
