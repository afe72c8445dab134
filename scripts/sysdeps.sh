#!/usr/bin/env bash
# Install the Debian packages academy needs, or say exactly what to run.
#   scripts/sysdeps.sh run   – what serving the app needs (CJK fonts; HarfBuzz subsetting and Pango for
#                              WeasyPrint certificate PDFs)
#   scripts/sysdeps.sh test  – plus poppler-utils (PDF checks), zbar-tools (QR decoding), chromium
#                              (browser tests; Playwright drives /usr/bin/chromium, no browser is downloaded)
#                              and redis-server (the production test's job queue)
# As root it installs what is missing with apt-get; otherwise it prints the command and exits 1.
set -euo pipefail
want=(fonts-noto-cjk libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0)
if [ "${1:-run}" = "test" ]; then
  want+=(poppler-utils zbar-tools chromium redis-server)
fi
if ! command -v dpkg-query >/dev/null; then
  echo "Not a Debian system: cannot check system packages. Make sure these (or their equivalents) are installed:"
  echo "  ${want[*]}"
  exit 0
fi
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "Installing system packages: ${missing[*]} (log: /tmp/academy-apt.log)"
  if ! (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${missing[@]}") >/tmp/academy-apt.log 2>&1; then
    tail -n 20 /tmp/academy-apt.log
    echo "apt-get failed; see /tmp/academy-apt.log"
    exit 1
  fi
else
  echo "Missing system packages: ${missing[*]}"
  echo "Run as root, then run make again:"
  echo "  sudo sh -c '$cmd'"
  exit 1
fi
