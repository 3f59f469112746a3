#!/usr/bin/env bash
# Refreshes every third-party browser file the service ships (nothing is loaded from a CDN) from
# the npm registry: ./scripts/update-vendored.sh. To move a package to another version, change
# its pin below and run the script; commit the files it writes.
#
#   gateway/static/vendor/<package>/   served at /static/vendor/<package>/ (GraphiQL at /graphql,
#                                      the OGC API HTML pages of ogc/templates, Swagger UI, ReDoc)
#   tiles/static/maplibre-gl/          served at /tiles/static/maplibre-gl/ (the map page at /)
#
# Each folder holds the minified builds, the package's licence (and the licences of what its
# bundle contains, where the package ships them) and a VERSION file. Licences must stay beside
# the files.
set -euo pipefail
cd "$(dirname "$0")/.."

# --- the pins: one place ------------------------------------------------------------------------
MAPLIBRE_GL=6.17.0          # BSD-3-Clause
REACT=18.3.1                # MIT; GraphiQL 3 needs React 18's UMD builds (React 19 has none)
GRAPHIQL=3.8.3              # MIT; the last GraphiQL with a UMD build (4+ are ES modules)
GRAPHIQL_EXPLORER=3.2.5     # @graphiql/plugin-explorer, MIT; 3.2.5 matches GraphiQL 3.8's @graphiql/react 0.28
GRAPHIQL_EXPLORER_CORE=0.9.0  # graphiql-explorer, MIT, bundled in the plugin (its licence only)
SWAGGER_UI=5.35.0           # swagger-ui-dist, Apache-2.0
REDOC=2.5.4                 # MIT
BOOTSTRAP=5.3.8             # MIT, the CSS of pygeoapi's HTML pages
LEAFLET=1.9.4               # BSD-2-Clause
LEAFLET_MARKERCLUSTER=1.5.3 # MIT
# -------------------------------------------------------------------------------------------------

VENDOR=gateway/static/vendor
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# unpack NAME VERSION: downloads NAME@VERSION (npm checks the registry's integrity hash) and
# prints the folder of its unpacked contents.
unpack() {
  local dir="$work/${1//\//+}@$2"
  mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "$1@$2" >/dev/null && tar xzf ./*.tgz)
  echo "$dir/package"
}

# install TARGET PACKAGE_DIR VERSION FILE...: TARGET emptied, then each FILE of the package copied
# into it (FILE=DEST renames it, or puts a folder's contents under DEST/).
install_files() {
  local target="$1" from="$2" version="$3"
  shift 3
  rm -rf "$target"
  mkdir -p "$target"
  for spec in "$@"; do
    local src="${spec%%=*}" dest="${spec#*=}"
    [[ "$spec" == *=* ]] || dest="$(basename "$src")"
    if [[ -d "$from/$src" ]]; then
      mkdir -p "$target/$dest"
      cp "$from/$src"/* "$target/$dest"/
    else
      cp "$from/$src" "$target/$dest"
    fi
  done
  echo "$version" > "$target/VERSION"
  echo "$target: $version"
}

p=$(unpack maplibre-gl "$MAPLIBRE_GL")
install_files tiles/static/maplibre-gl "$p" "$MAPLIBRE_GL" \
  dist/maplibre-gl.mjs dist/maplibre-gl-worker.mjs dist/maplibre-gl.css LICENSE.txt

p=$(unpack react "$REACT")
install_files "$VENDOR/react" "$p" "$REACT" umd/react.production.min.js LICENSE
p=$(unpack react-dom "$REACT")
install_files "$VENDOR/react-dom" "$p" "$REACT" umd/react-dom.production.min.js LICENSE

graphiql=$(unpack graphiql "$GRAPHIQL")
install_files "$VENDOR/graphiql" "$graphiql" "$GRAPHIQL" graphiql.min.js graphiql.min.css LICENSE

# The plugin's npm package carries no licence file: it is MIT like the rest of the GraphiQL
# monorepo (graphql/graphiql, whose LICENSE the graphiql package ships), and its bundle contains
# graphiql-explorer (MIT, its own LICENSE).
p=$(unpack @graphiql/plugin-explorer "$GRAPHIQL_EXPLORER")
core=$(unpack graphiql-explorer "$GRAPHIQL_EXPLORER_CORE")
install_files "$VENDOR/graphiql-plugin-explorer" "$p" "$GRAPHIQL_EXPLORER" dist/index.umd.js dist/style.css
cp "$graphiql/LICENSE" "$VENDOR/graphiql-plugin-explorer/LICENSE"
cp "$core/LICENSE" "$VENDOR/graphiql-plugin-explorer/LICENSE.graphiql-explorer"

p=$(unpack swagger-ui-dist "$SWAGGER_UI")
install_files "$VENDOR/swagger-ui" "$p" "$SWAGGER_UI" swagger-ui.css swagger-ui-bundle.js \
  swagger-ui-bundle.js.LICENSE.txt swagger-ui-standalone-preset.js \
  swagger-ui-standalone-preset.js.LICENSE.txt favicon-16x16.png favicon-32x32.png LICENSE NOTICE

p=$(unpack redoc "$REDOC")
install_files "$VENDOR/redoc" "$p" "$REDOC" bundles/redoc.standalone.js \
  bundles/redoc.standalone.js.LICENSE.txt LICENSE

p=$(unpack bootstrap "$BOOTSTRAP")
install_files "$VENDOR/bootstrap" "$p" "$BOOTSTRAP" dist/css/bootstrap.min.css LICENSE

p=$(unpack leaflet "$LEAFLET")
install_files "$VENDOR/leaflet" "$p" "$LEAFLET" dist/leaflet.js dist/leaflet.css dist/images=images LICENSE

p=$(unpack leaflet.markercluster "$LEAFLET_MARKERCLUSTER")
install_files "$VENDOR/leaflet.markercluster" "$p" "$LEAFLET_MARKERCLUSTER" \
  dist/leaflet.markercluster.js dist/MarkerCluster.css dist/MarkerCluster.Default.css MIT-LICENCE.txt
