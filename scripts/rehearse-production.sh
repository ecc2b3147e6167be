#!/usr/bin/env bash
# The production rehearsal (.ci/run runs it last): the product as deploy/ runs it, on one machine.
#
# A throwaway PostgreSQL for the read model (scripts/lib/throwaway-postgres.sh, as
# `make postgres-test` starts it), then tests/rehearsal/rehearse.py: the Temporal dev server
# standing in for the cluster, a local OpenID Connect issuer serving its JWKS over HTTP, the
# migration and watchdog jobs, two `cpplan worker` processes and two `cpplan serve` instances on
# the one database, and the codec server, all with CPPLAN_ENV=production. A case system starts a
# plan over HTTP, a worker records a visit while the worker process holding the plan is killed,
# a manager authorises an early review; then every record is checked to be there once,
# development tokens refused and every /healthz and /readyz answering. Free ports only; every
# process and file it makes is gone when it ends. About two minutes.
#
# Usage: scripts/rehearse-production.sh
# PYTHON_BIN: the interpreter with the project installed (default .venv/bin/python).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON_BIN=${PYTHON_BIN:-.venv/bin/python}
LOG_PREFIX=rehearsal
# shellcheck source=lib/throwaway-postgres.sh
source scripts/lib/throwaway-postgres.sh
start_throwaway_postgres cpplan_rehearsal

CPPLAN_REHEARSAL_DATABASE_URL=$THROWAWAY_POSTGRES_URL "$PYTHON_BIN" -m tests.rehearsal.rehearse
