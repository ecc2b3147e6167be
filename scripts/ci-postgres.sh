#!/usr/bin/env bash
# The read-model tests against a real PostgreSQL (`make postgres-test`; .ci/run runs it after
# `make test`).
#
# Installs PostgreSQL from the distribution when its server binaries are missing (needs root:
# apt-get), starts a throwaway cluster under a temporary directory on a free localhost port
# (as the `postgres` user when run as root: initdb refuses root), creates a database, runs the
# tests marked `all_databases` with CPPLAN_TEST_POSTGRES_URL pointing at it, then stops the
# cluster and deletes it. Nothing outside the temporary directory is touched, and the machine's
# own clusters (if any) are left alone.
#
# Usage: scripts/ci-postgres.sh [extra pytest arguments]
# PYTHON_BIN: the interpreter with the project installed (default .venv/bin/python).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON_BIN=${PYTHON_BIN:-.venv/bin/python}
# The read model's tests: the activity tests marked all_databases and the report's.
TESTS=(tests/activities tests/cli/test_report.py)

log() { printf 'postgres-test: %s\n' "$*" >&2; }

find_bindir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n "$dir" && -x "$dir/initdb" ]]; then
        echo "$dir"
    elif command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
    fi
}

install_postgresql() {
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        if sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            log "PostgreSQL server binaries not found, and installing them needs root: apt-get install postgresql"
            exit 1
        fi
    fi
    log "installing PostgreSQL from the distribution (apt-get; its output is shown only if it fails)"
    local started=$SECONDS apt_log
    apt_log=$(mktemp)
    if ! { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq update \
           && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq install -y --no-install-recommends postgresql; } \
           </dev/null >"$apt_log" 2>&1; then
        cat "$apt_log" >&2
        rm -f "$apt_log"
        log "apt-get failed"
        exit 1
    fi
    rm -f "$apt_log"
    # The package creates and may start a default cluster; these tests use their own, so stop it
    # (there was no PostgreSQL before, so every cluster here is the one apt just made).
    if command -v pg_lsclusters >/dev/null 2>&1; then
        pg_lsclusters --no-header 2>/dev/null | awk '$4 == "online" {print $1, $2}' | while read -r version cluster; do
            "${sudo[@]}" pg_ctlcluster "$version" "$cluster" stop >/dev/null 2>&1 || true
        done
    fi
    log "installed in $((SECONDS - started))s"
}

BINDIR=$(find_bindir)
if [[ -z "$BINDIR" ]]; then
    install_postgresql
    BINDIR=$(find_bindir)
    [[ -n "$BINDIR" ]] || { log "installed, but no initdb under /usr/lib/postgresql/*/bin"; exit 1; }
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cpplan-pg.XXXXXX")
DATA="$WORK/data"
chmod 755 "$WORK"
as_owner() { "$@"; }

cleanup() {
    local status=$?
    if [[ -f "$DATA/postmaster.pid" ]]; then
        as_owner "$BINDIR/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    if [[ $status -ne 0 && -f "$WORK/server.log" ]]; then
        log "server log (last lines):"
        tail -n 20 "$WORK/server.log" >&2 || true
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || { log "running as root, but there is no 'postgres' user to run the server as"; exit 1; }
    chown postgres: "$WORK"
    # From inside the work directory: the postgres user may not be allowed into the checkout.
    as_owner() { (cd "$WORK" && runuser -u postgres -- "$@"); }
fi

PORT=$("$PYTHON_BIN" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

started=$SECONDS
as_owner "$BINDIR/initdb" -D "$DATA" -U postgres --auth=trust --no-locale --encoding=UTF8 >"$WORK/initdb.log" 2>&1 \
    || { cat "$WORK/initdb.log" >&2; exit 1; }
# Throwaway data: no fsync. Unix socket in the work directory, TCP on localhost only.
as_owner "$BINDIR/pg_ctl" -D "$DATA" -l "$WORK/server.log" -w -t 60 \
    -o "-p $PORT -k $WORK -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null
as_owner "$BINDIR/createdb" -h 127.0.0.1 -p "$PORT" -U postgres cpplan_test
log "PostgreSQL $("$BINDIR/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT, ready in $((SECONDS - started))s"

export CPPLAN_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/cpplan_test"
# The PostgreSQL variants only (their SQLite twins ran in `make test`).
"$PYTHON_BIN" -m pytest -q -m all_databases -k postgresql "${TESTS[@]}" "$@"
