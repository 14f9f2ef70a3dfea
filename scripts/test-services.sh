#!/usr/bin/env bash
# Starts throwaway Redis, MariaDB and PostgreSQL servers on loopback for the
# test suites, each in its own data directory under DIR, and writes the URLs
# to DIR/env (source it). `stop DIR` stops them. Needs the Debian packages
# redis-server, mariadb-server and postgresql (`.ci/run` installs them).
#
#   scripts/test-services.sh start DIR   # then: source DIR/env
#   scripts/test-services.sh stop DIR
set -euo pipefail

cmd=${1:?usage: test-services.sh start|stop DIR}
dir=${2:?usage: test-services.sh start|stop DIR}
REDIS_PORT=${REDIS_PORT:-6399}
MARIADB_PORT=${MARIADB_PORT:-3399}
POSTGRES_PORT=${POSTGRES_PORT:-5499}
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

# PostgreSQL refuses to run as root: run its tools as the `postgres` user.
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

wait_for() { # what, command...
    local what=$1; shift
    for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "$what did not come up" >&2; return 1
}

start() {
    mkdir -p "$dir"
    chmod 755 "$dir"
    : > "$dir/env"

    if command -v redis-server >/dev/null; then
        redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$dir" --save '' \
            --appendonly no --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
        wait_for redis redis-cli -p "$REDIS_PORT" ping
        echo "export REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0" >> "$dir/env"
    fi

    if command -v mariadbd >/dev/null; then
        mkdir -p "$dir/mariadb"
        mariadb-install-db --no-defaults --datadir="$dir/mariadb" --user="$(id -un)" \
            --auth-root-authentication-method=socket --skip-test-db > "$dir/mariadb-install.log" 2>&1
        mariadbd --no-defaults --datadir="$dir/mariadb" --socket="$dir/mariadb.sock" \
            --port="$MARIADB_PORT" --bind-address=127.0.0.1 --user="$(id -un)" \
            --pid-file="$dir/mariadb.pid" --log-error="$dir/mariadb.err" --skip-log-bin \
            --innodb-flush-log-at-trx-commit=2 >> "$dir/mariadb.err" 2>&1 &
        wait_for mariadb mariadb --no-defaults --socket="$dir/mariadb.sock" -uroot -e 'select 1'
        mariadb --no-defaults --socket="$dir/mariadb.sock" -uroot -e \
            "CREATE USER 'todos'@'%' IDENTIFIED BY 'todos'; GRANT ALL PRIVILEGES ON *.* TO 'todos'@'%';"
        echo "export MARIADB_URL=mysql://todos:todos@127.0.0.1:$MARIADB_PORT/mysql" >> "$dir/env"
    fi

    if [ -n "$(pg_bin)" ]; then
        mkdir -p "$dir/postgres"
        [ "$(id -u)" = 0 ] && chown postgres "$dir/postgres"
        as_pg "$(pg_bin)/initdb" -D "$dir/postgres" -U postgres --auth=trust -E UTF8 --no-sync \
            > "$dir/postgres-init.log" 2>&1
        as_pg "$(pg_bin)/pg_ctl" -D "$dir/postgres" -l "$dir/postgres/server.log" -w \
            -o "-p $POSTGRES_PORT -k $dir/postgres -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
        psql -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres -qc \
            "CREATE USER todos PASSWORD 'todos' CREATEDB"
        echo "export POSTGRES_URL=postgres://todos:todos@127.0.0.1:$POSTGRES_PORT/postgres" >> "$dir/env"
    fi
    cat "$dir/env"
}

stop() {
    [ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
    [ -f "$dir/mariadb.pid" ] && kill "$(cat "$dir/mariadb.pid")" 2>/dev/null || true
    if [ -d "$dir/postgres" ] && [ -n "$(pg_bin)" ]; then
        as_pg "$(pg_bin)/pg_ctl" -D "$dir/postgres" -m fast stop >/dev/null 2>&1 || true
    fi
}

"$cmd"
