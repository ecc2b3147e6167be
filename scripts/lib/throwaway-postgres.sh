# A throwaway PostgreSQL for CI and the production rehearsal, sourced by scripts/ci-postgres.sh and
# scripts/rehearse-production.sh (not run on its own).
#
# `start_throwaway_postgres NAME` installs PostgreSQL from the distribution when its server
# binaries are missing (needs root: apt-get), starts a cluster under a temporary directory on a
# free localhost port (as the `postgres` user when run as root: initdb refuses root), creates the
# database NAME, and sets THROWAWAY_POSTGRES_URL (postgresql+psycopg://postgres@127.0.0.1:PORT/NAME).
# An EXIT trap stops the cluster and deletes it. Nothing outside the temporary directory is
# touched, and the machine's own clusters (if any) are left alone.
#
# The caller sets PYTHON_BIN (used to find a free port) and LOG_PREFIX.

log() { printf '%s: %s\n' "${LOG_PREFIX:-postgres}" "$*" >&2; }

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

as_owner() { "$@"; }

cleanup_throwaway_postgres() {
    local status=$?
    if [[ -n "${PG_DATA:-}" && -f "$PG_DATA/postmaster.pid" ]]; then
        as_owner "$BINDIR/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    if [[ $status -ne 0 && -f "${PG_WORK:-}/server.log" ]]; then
        log "server log (last lines):"
        tail -n 20 "$PG_WORK/server.log" >&2 || true
    fi
    [[ -n "${PG_WORK:-}" ]] && rm -rf "$PG_WORK"
    exit "$status"
}

start_throwaway_postgres() {
    local name=$1 port started
    BINDIR=$(find_bindir)
    if [[ -z "$BINDIR" ]]; then
        install_postgresql
        BINDIR=$(find_bindir)
        [[ -n "$BINDIR" ]] || { log "installed, but no initdb under /usr/lib/postgresql/*/bin"; exit 1; }
    fi

    PG_WORK=$(mktemp -d "${TMPDIR:-/tmp}/cpplan-pg.XXXXXX")
    PG_DATA="$PG_WORK/data"
    chmod 755 "$PG_WORK"
    trap cleanup_throwaway_postgres EXIT
    trap 'exit 130' INT TERM

    if [[ $(id -u) -eq 0 ]]; then
        id postgres >/dev/null 2>&1 || { log "running as root, but there is no 'postgres' user to run the server as"; exit 1; }
        chown postgres: "$PG_WORK"
        # From inside the work directory: the postgres user may not be allowed into the checkout.
        as_owner() { (cd "$PG_WORK" && runuser -u postgres -- "$@"); }
    fi

    port=$("$PYTHON_BIN" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

    started=$SECONDS
    as_owner "$BINDIR/initdb" -D "$PG_DATA" -U postgres --auth=trust --no-locale --encoding=UTF8 >"$PG_WORK/initdb.log" 2>&1 \
        || { cat "$PG_WORK/initdb.log" >&2; exit 1; }
    # Throwaway data: no fsync. Unix socket in the work directory, TCP on localhost only.
    as_owner "$BINDIR/pg_ctl" -D "$PG_DATA" -l "$PG_WORK/server.log" -w -t 60 \
        -o "-p $port -k $PG_WORK -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null
    as_owner "$BINDIR/createdb" -h 127.0.0.1 -p "$port" -U postgres "$name"
    log "PostgreSQL $("$BINDIR/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, ready in $((SECONDS - started))s"
    THROWAWAY_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port/$name"
}
