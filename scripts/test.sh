#!/usr/bin/env bash
# Set up (a .venv with every extra needed by the tests) and run every check and test.
# This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON_BIN=${PYTHON_BIN:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON_BIN" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev,controller,node]"
PYTHON=.venv/bin/python PATH="$PWD/.venv/bin:$PATH" bash scripts/check.sh "$@"
