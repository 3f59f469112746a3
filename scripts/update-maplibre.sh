#!/usr/bin/env bash
# Refreshes the MapLibre GL JS files the map page serves (tiles/static/maplibre-gl/) from the
# npm registry: ./scripts/update-maplibre.sh [version]. MapLibre is BSD-3-Clause: LICENSE.txt
# travels with the files and must stay there.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-$(npm view maplibre-gl version)}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "maplibre-gl@$version" >/dev/null && tar xzf maplibre-gl-*.tgz)
target=tiles/static/maplibre-gl
cp "$work"/package/dist/{maplibre-gl.mjs,maplibre-gl-worker.mjs,maplibre-gl.css} "$work"/package/LICENSE.txt "$target"/
echo "$version" > "$target"/VERSION
echo "MapLibre GL JS $version in $target"
