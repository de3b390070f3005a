#!/usr/bin/env bash
# Set up (a .venv with every extra needed by the tests) and run every check and test.
# This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON_BIN=${PYTHON_BIN:-python3}
# The web UI's browser tests need Debian's Chromium and its driver (no browser download).
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "installing chromium and chromium-driver for the browser tests"
        export DEBIAN_FRONTEND=noninteractive
        { apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; } ||
            echo "could not install chromium: browser tests skip locally and fail in CI" >&2
    else
        echo "chromium/chromedriver missing and apt-get unavailable: browser tests will skip" >&2
    fi
fi
if [ ! -x .venv/bin/python ]; then
    "$PYTHON_BIN" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# torch first, pinned, so pip takes the CPU build beside it rather than resolving a CUDA one.
.venv/bin/python -m pip install --quiet torch==2.13.0
.venv/bin/python -m pip install --quiet -e ".[dev,controller,node,corpus,ai,train,mcp,operator,deploy,s3,storage-test,gpu]"
PYTHON=.venv/bin/python PATH="$PWD/.venv/bin:$PATH" bash scripts/check.sh "$@"
