#!/usr/bin/env bash
# Install the Debian packages academy needs, or say exactly what to run.
#   scripts/sysdeps.sh run   – what serving the app needs (CJK fonts, HarfBuzz subsetting for WeasyPrint)
#   scripts/sysdeps.sh test  – plus poppler-utils (PDF checks), zbar-tools (QR decode) and chromium (browser tests)
set -euo pipefail
want=(fonts-noto-cjk libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0)
if [ "${1:-run}" = "test" ]; then
  want+=(poppler-utils zbar-tools chromium)
fi
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "Installing system packages: ${missing[*]}"
  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}") >/tmp/academy-apt.log 2>&1 \
    || { echo "apt-get failed; see /tmp/academy-apt.log"; exit 1; }
else
  echo "Missing system packages: ${missing[*]}"
  echo "Run as root:  sudo sh -c '$cmd'"
  exit 1
fi
