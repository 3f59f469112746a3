#!/usr/bin/env bash
# Makes sure PostgreSQL server binaries, the PostGIS extension and pg_repack (the online
# `threatmap db reorder`: store/reorder.py) are installed. On Debian as root it installs the
# packages matching the installed PostgreSQL; elsewhere it says what to install.
set -euo pipefail

bindir=""
if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
  bindir=$(pg_config --bindir)
else
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "PostgreSQL server binaries (initdb, pg_ctl) were not found."
  echo "Install them, e.g. 'apt-get install postgresql' on Debian, or set DATABASE_URL to an existing PostGIS database."
  exit 1
fi
major=$("$bindir/postgres" --version | sed -E 's/[^0-9]*([0-9]+).*/\1/')
sharedir=$("$bindir/pg_config" --sharedir 2>/dev/null || echo "/usr/share/postgresql/$major")
need=()
ls "$sharedir"/extension/postgis.control >/dev/null 2>&1 || need+=("postgresql-$major-postgis-3")
ls "$sharedir"/extension/pg_repack.control >/dev/null 2>&1 || need+=("postgresql-$major-repack")
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing ${need[*]}..."
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  exit 0
fi
if [ "${need[*]}" = "postgresql-$major-repack" ]; then
  # not needed to run the app: `threatmap db reorder` then uses CLUSTER (tests/test_reorder.py needs it)
  echo "Note: pg_repack is missing (the online 'threatmap db reorder'): 'sudo apt-get install postgresql-$major-repack'."
  exit 0
fi
echo "Missing for PostgreSQL $major: ${need[*]}. Install them, e.g. 'sudo apt-get install ${need[*]}' on"
echo "Debian/Ubuntu, or set DATABASE_URL to an existing database with PostGIS."
exit 1
