#!/usr/bin/env bash
# The main job on the embedded default: set up, then `vmafx demo` — it makes short clips with
# ffmpeg, starts a farm on this machine (controller + node, SQLite), runs an encode ladder with
# VMAF scored after each encode, prints bitrate and VMAF per rung, and stops the farm.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON_BIN=${PYTHON_BIN:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON_BIN" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[controller,node]"
.venv/bin/vmafx demo "$@"
