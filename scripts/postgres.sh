#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 for the test-suite; start the
# machine's cluster if it is down (installing the server if it is missing, as root).
set -euo pipefail
ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
ready && exit 0
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql) >/tmp/academy-apt-pg.log 2>&1
  else
    echo "PostgreSQL is not installed. Run as root: apt-get install -y postgresql"; exit 1
  fi
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -n1)
if ! pg_lsclusters -h 2>/dev/null | grep -q .; then
  pg_createcluster "$version" main >/dev/null
fi
pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
for _ in $(seq 1 30); do ready && break; sleep 0.5; done
ready || { echo "PostgreSQL did not start"; exit 1; }
# trust for local TCP connections from this machine, as the test-suite expects (idempotent)
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
  hba=$(runuser -u postgres -- psql -Atc 'show hba_file')
  sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  runuser -u postgres -- psql -Atc 'select pg_reload_conf()' >/dev/null
fi
