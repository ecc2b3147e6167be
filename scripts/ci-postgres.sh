#!/usr/bin/env bash
# The read-model tests against a real PostgreSQL (`make postgres-test`; .ci/run runs it after
# `make test`).
#
# Starts a throwaway PostgreSQL (scripts/lib/throwaway-postgres.sh: installed from the
# distribution if missing, a cluster under a temporary directory on a free localhost port),
# runs the tests marked `all_databases` with CPPLAN_TEST_POSTGRES_URL pointing at it, then stops
# the cluster and deletes it. Nothing outside the temporary directory is touched, and the
# machine's own clusters (if any) are left alone.
#
# Usage: scripts/ci-postgres.sh [extra pytest arguments]
# PYTHON_BIN: the interpreter with the project installed (default .venv/bin/python).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON_BIN=${PYTHON_BIN:-.venv/bin/python}
# The read model's tests: the activity tests marked all_databases and the report's.
TESTS=(tests/activities tests/cli/test_report.py)

LOG_PREFIX=postgres-test
# shellcheck source=lib/throwaway-postgres.sh
source scripts/lib/throwaway-postgres.sh
start_throwaway_postgres cpplan_test

export CPPLAN_TEST_POSTGRES_URL=$THROWAWAY_POSTGRES_URL
# The PostgreSQL variants only (their SQLite twins ran in `make test`).
"$PYTHON_BIN" -m pytest -q -m all_databases -k postgresql "${TESTS[@]}" "$@"
