#!/usr/bin/env bash
# Every check, in the order a failure is cheapest to see: format, lint, types, layers,
# generated code, tests. CI runs exactly this (through scripts/test.sh).
# Usage: scripts/check.sh [extra pytest args...]
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
failed=()
step() {
    local name=$1
    shift
    echo "==> $name"
    if ! "$@"; then failed+=("$name"); fi
}
step "ruff format" "$PY" -m ruff format --check src tests benchmarks scripts
step "ruff lint" "$PY" -m ruff check src tests benchmarks scripts
step "mypy (strict)" "$PY" -m mypy
step "import layers" lint-imports
if [ -f scripts/gen_proto.py ]; then
    step "generated code is current" "$PY" scripts/gen_proto.py --check
fi
echo "==> pytest"
"$PY" -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure" >&2
    failed+=("pytest (no tests)")
elif [ "$rc" -ne 0 ]; then
    failed+=("pytest")
fi
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "all checks passed"
