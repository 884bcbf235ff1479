#!/bin/sh
# with-pg.sh TEST [ARGS] - run one test; integration and chaos tests get a
# private PostgreSQL server.
#
# The server lives in a fresh directory under /tmp, listens on a unix socket
# in that directory only (no TCP port, so parallel runs never collide) and is
# stopped and removed when the test ends, whatever happened to the test.
# The test sees PGHOST/PGPORT/PGUSER/PGDATABASE (so libpq and psql reach the
# server with no arguments), TC_PGDATA/TC_PGBIN/TC_PGOPTS to stop, restart
# or inspect it, and TABLECRON_LISTEN=127.0.0.1:0.  As root the server runs as the postgres user.
#
# Run one test by hand (from the build directory):
#   make check TESTS=tests/integration/migrate.sh
# or, with the variables make would set:
#   TABLECRON=$PWD/tablecron TC_SRCDIR=$PWD sh tests/with-pg.sh tests/integration/migrate.sh
set -u

test_path=$1
case $test_path in
*/integration/* | */chaos/*) ;;
*) exec bash "$@" ;;
esac

pgbin=${TC_PGBIN:-}
if [ -z "$pgbin" ]; then
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
        if [ -x "$d/initdb" ]; then pgbin=$d; break; fi
    done
fi
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
    echo "1..0 # SKIP no PostgreSQL server binaries"
    echo "Bail out! PostgreSQL server not installed: apt-get install postgresql"
    exit 1
fi

dir=$(mktemp -d /tmp/tcpg.XXXXXX) || exit 1
run_as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}
cleanup() {
    if [ -f "$dir/data/postmaster.pid" ]; then
        run_as_pg "$pgbin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if [ "$(id -u)" = 0 ]; then
    chown postgres "$dir"
fi
chmod 700 "$dir"

# Fast and disposable: no fsync.  Tests that need more settings restart with
# TC_PGOPTS plus their own.
TC_PGOPTS="-k $dir -c listen_addresses= -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
if ! run_as_pg "$pgbin/initdb" -D "$dir/data" -U postgres -A trust -N -E UTF8 \
        --locale=C.UTF-8 >"$dir/initdb.log" 2>&1; then
    echo "Bail out! initdb failed:"
    sed 's/^/# /' "$dir/initdb.log"
    exit 1
fi
if ! run_as_pg "$pgbin/pg_ctl" -D "$dir/data" -o "$TC_PGOPTS" -l "$dir/server.log" -w -t 30 \
        start >/dev/null 2>&1; then
    echo "Bail out! PostgreSQL did not start:"
    sed 's/^/# /' "$dir/server.log"
    exit 1
fi

PGHOST=$dir
PGPORT=5432
PGUSER=postgres
PGDATABASE=tablecron_test
TC_PGDATA=$dir/data
TC_PGDIR=$dir
export PGHOST PGPORT PGUSER PGDATABASE TC_PGDATA TC_PGDIR TC_PGOPTS
TC_PGBIN=$pgbin
export TC_PGBIN
PGOPTIONS=
export PGOPTIONS
unset PGPASSWORD PGSERVICE PGSSLMODE 2>/dev/null || true
# Tests run side by side: every `serve` gets a free port for its API
# (instances.api_url and the "starting" log line tell which).
TABLECRON_LISTEN=127.0.0.1:0
export TABLECRON_LISTEN
"$pgbin/createdb" tablecron_test || { echo "Bail out! createdb failed"; exit 1; }

bash "$@"
status=$?
if [ $status -ne 0 ] && [ -f "$dir/server.log" ]; then
    echo "# PostgreSQL server log (last lines):"
    tail -n 20 "$dir/server.log" | sed 's/^/# /'
fi
exit $status
