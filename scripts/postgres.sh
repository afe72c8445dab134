#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 with trust authentication for the
# test-suite (which creates and drops its own database). As root: start the machine's cluster if
# it is down, installing the server first if it is missing. Otherwise say exactly what to run.
set -euo pipefail
ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ! ready; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "PostgreSQL does not answer on 127.0.0.1:5432. Start it as root, then run make again:"
    echo "  sudo pg_ctlcluster --skip-systemctl-redirect \$(ls /usr/lib/postgresql | sort -V | tail -n1) main start"
    echo "(or point the suite at another server: make test PG_URL=postgresql://user@host:port/postgres)"
    exit 1
  fi
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    echo "Installing PostgreSQL (log: /tmp/academy-apt-pg.log)"
    (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql) \
      >/tmp/academy-apt-pg.log 2>&1 || { echo "apt-get failed; see /tmp/academy-apt-pg.log"; exit 1; }
  fi
  version=$(ls /usr/lib/postgresql | sort -V | tail -n1)
  if ! pg_lsclusters -h 2>/dev/null | grep -q "^$version main"; then
    pg_createcluster "$version" main >/dev/null
  fi
  echo "Starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do ready && break; sleep 0.5; done
  ready || { echo "PostgreSQL did not start (see /var/log/postgresql/)"; exit 1; }
fi
# trust for local TCP connections from this machine, as the test-suite expects (idempotent)
if ! psql -w -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "PostgreSQL answers but user postgres cannot connect over 127.0.0.1 without a password."
    echo "Add 'host all all 127.0.0.1/32 trust' at the top of pg_hba.conf and reload, or set PG_URL."
    exit 1
  fi
  hba=$(runuser -u postgres -- psql -Atc 'show hba_file')
  sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  runuser -u postgres -- psql -Atc 'select pg_reload_conf()' >/dev/null
fi
