// The map's style: a light base map of Poland made offline from the shipped boundaries (their
// names drawn as canvas labels: no glyph files), or the configured one (a MapLibre style URL or
// a raster XYZ template, THREATMAP_MAP_BASEMAP_*), and the report layers from /tiles above it.
import { config, t } from "./page.js";

// Who the data is from, in the page's language, one line a source (MapLibre shows a text once):
// a source's own `attribution` comes before its TileJSON's, which is language-neutral.
const BOUNDARIES = t("Boundaries: PRG © GUGiK, polska-geojson © Piotr Patrzyk (MIT)");
const REPORTS = t("threatmap: citizen reports verified by the police, anonymized");

const LAND = "#f7f5f0";

export function reportSource(query) {
  return { type: "vector", url: `/tiles/reports.json${query ? `?${query}` : ""}`, attribution: REPORTS };
}

function categoryColours(field) {
  return ["match", ["get", field], ...config.categories.flatMap((c) => [c.id, c.colour]), "#555555"];
}

/** The layers of reports, density and area counts (source "threatmap"). */
export function reportLayers() {
  const below = config.reportsMinZoom;
  return [
    { id: "areas-count", type: "fill", source: "threatmap", "source-layer": "areas", maxzoom: below,
      paint: { "fill-color": "#9a3412",
               "fill-opacity": ["interpolate", ["linear"], ["coalesce", ["get", "count"], 0],
                                0, 0, 10, 0.06, 100, 0.16, 1000, 0.3] } },
    { id: "density", type: "circle", source: "threatmap", "source-layer": "density", maxzoom: below,
      paint: { "circle-color": categoryColours("top_category"), "circle-opacity": 0.75,
               "circle-stroke-color": "#ffffff", "circle-stroke-width": 0.5,
               "circle-radius": ["interpolate", ["linear"], ["sqrt", ["get", "count"]], 1, 3, 10, 8, 40, 16] } },
    { id: "reports", type: "symbol", source: "threatmap", "source-layer": "reports", minzoom: below,
      layout: { "icon-image": ["concat", "pin:", ["get", "category"], ":", ["get", "status"]],
                "icon-allow-overlap": true, "icon-ignore-placement": true,
                "icon-size": ["interpolate", ["linear"], ["zoom"], 12, 0.7, 16, 1] } },
  ];
}

function labelLayers() {
  const image = ["concat", "label:", ["get", "level"], ":", ["get", "name"]];
  return [
    { id: "labels-counties", type: "symbol", source: "places", minzoom: 8,
      filter: ["==", ["get", "level"], "county"], layout: { "icon-image": image } },
    { id: "labels-voivodeships", type: "symbol", source: "places", maxzoom: 8.5,
      filter: ["==", ["get", "level"], "voivodeship"], layout: { "icon-image": image } },
  ];
}

function baseSources() {
  return {
    voivodeships: { type: "geojson", data: "/map/boundaries/voivodeships.geojson", attribution: BOUNDARIES },
    counties: { type: "geojson", data: "/map/boundaries/counties.geojson", attribution: BOUNDARIES },
    places: { type: "geojson", data: "/map/places.geojson" },
  };
}

function boundaryLayers(withFill) {
  return [
    ...(withFill ? [{ id: "land", type: "fill", source: "voivodeships", paint: { "fill-color": LAND } }] : []),
    { id: "county-lines", type: "line", source: "counties", minzoom: 6,
      paint: { "line-color": "#b9b1a1", "line-width": ["interpolate", ["linear"], ["zoom"], 6, 0.4, 12, 1.2] } },
    { id: "voivodeship-lines", type: "line", source: "voivodeships",
      paint: { "line-color": "#7d7464", "line-width": ["interpolate", ["linear"], ["zoom"], 5, 0.8, 12, 2.2] } },
  ];
}

/** The whole style for the offline or raster base map; null when a style URL is configured. */
export function localStyle(query) {
  const basemap = config.basemap;
  if (basemap.style) return null;
  const sources = { ...baseSources(), threatmap: reportSource(query) };
  const layers = [{ id: "background", type: "background", paint: { "background-color": "#dde5ea" } }];
  if (basemap.raster) {
    sources.basemap = { type: "raster", tiles: [basemap.raster], tileSize: 256,
                        attribution: basemap.attribution };
    layers.push({ id: "basemap", type: "raster", source: "basemap" });
  }
  layers.push(...boundaryLayers(!basemap.raster), ...reportLayers(), ...labelLayers());
  return { version: 8, sources, layers };
}

/** On a configured style: our sources and layers added above it once it has loaded. */
export function addOverlay(map, query) {
  for (const [id, source] of Object.entries(baseSources())) map.addSource(id, source);
  map.addSource("threatmap", reportSource(query));
  for (const layer of [...boundaryLayers(false), ...reportLayers(), ...labelLayers()]) map.addLayer(layer);
}
