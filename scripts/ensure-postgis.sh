#!/usr/bin/env bash
# Makes sure PostgreSQL server binaries and the PostGIS extension are installed.
# On Debian as root it installs the package matching the installed PostgreSQL; elsewhere it says what to install.
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
if ls "$sharedir"/extension/postgis.control >/dev/null 2>&1; then
  exit 0
fi
pkg="postgresql-$major-postgis-3"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing PostGIS ($pkg)..."
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
  fi
  exit 0
fi
echo "PostGIS for PostgreSQL $major is missing. Install it, e.g. 'sudo apt-get install $pkg' on Debian/Ubuntu,"
echo "or set DATABASE_URL to an existing database with PostGIS."
exit 1
