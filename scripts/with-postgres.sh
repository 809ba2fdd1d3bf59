#!/usr/bin/env bash
# Runs a command with a PostgreSQL server of its own: Debian's `postgresql` package (installed when
# missing), a new data directory in a temporary folder, listening on a free loopback port only, and
# stopped and removed when the command ends, whatever its outcome. The command finds the server in
# BILLWISE_TEST_POSTGRES_URL.
#
#   scripts/with-postgres.sh make test-all
set -euo pipefail

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "with-postgres: installing Debian's postgresql package"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

dir=$(mktemp -d /tmp/billwise-pg.XXXXXX)
# PostgreSQL refuses to run as root: as root, the server runs as the package's `postgres` user.
as_server() {
  if [ "$(id -u)" = 0 ]; then
    su postgres -s /bin/bash -c "$*"
  else
    bash -c "$*"
  fi
}
if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

stop() {
  as_server "'$bin/pg_ctl' -D '$dir/data' -m fast -w stop" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT

as_server "'$bin/initdb' -D '$dir/data' -A trust -U billwise -E UTF8 --no-instructions" >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
as_server "'$bin/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w -o \"-c listen_addresses=127.0.0.1 -p $port -k '$dir' -c fsync=on\" start" >/dev/null \
  || { cat "$dir/server.log" >&2; exit 1; }
echo "with-postgres: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $dir/data)"

export BILLWISE_TEST_POSTGRES_URL="postgresql://billwise@127.0.0.1:$port/postgres"
export BILLWISE_REQUIRE_POSTGRES=1
"$@"
