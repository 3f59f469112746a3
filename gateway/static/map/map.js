// The citizen map at /: the base map, reports coloured by status with a symbol per category,
// popups, filters kept in the URL, a legend, search by place or coordinates, and the report form
// (report.js). A file, not an inline script: the page's CSP allows scripts of this origin only.
import * as maplibregl from "/tiles/static/maplibre-gl/maplibre-gl.mjs";
import { addOverlay, localStyle } from "./basemap.js";
import { readState, tileQuery, writeState } from "./filters.js";
import { categories, config, el, formatDate, gql, statuses, t } from "./page.js";
import { setupReport } from "./report.js";
import { labelImage, pinDataUrl, pinImage, symbolOf } from "./symbols.js";

const POLAND = [[14.0, 48.9], [24.2, 55.0]];
const announce = (text) => { document.getElementById("announce").textContent = text; };
let state = readState();

const style = localStyle(tileQuery(state));
const map = new maplibregl.Map({
  container: "map", style: style || config.basemap.style, bounds: POLAND, hash: true,
  attributionControl: false, maxZoom: 18,
});
window.map = map;
map.addControl(new maplibregl.AttributionControl({
  compact: true, customAttribution: [t("Boundaries © GUGiK (PRG)"), config.basemap.attribution].filter(Boolean),
}));
// MapLibre opens a compact attribution at first; on a phone it covered a sixth of the map.
if (window.matchMedia("(max-width: 700px)").matches) {
  map.once("load", () => {
    const box = map.getContainer().querySelector(".maplibregl-ctrl-attrib");
    box?.classList.remove("maplibregl-compact-show");
    box?.removeAttribute("open");
  });
}
map.addControl(new maplibregl.NavigationControl(), "top-right");
const geolocate = new maplibregl.GeolocateControl({ positionOptions: { enableHighAccuracy: true },
                                                   fitBoundsOptions: { maxZoom: 15 } });
map.addControl(geolocate, "top-right");
map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
if (!style) map.on("load", () => addOverlay(map, tileQuery(state)));

// Images are drawn when a layer first needs them: pins per category and status, place labels.
map.setMissingStyleImageResolver((id) => {
  const [kind, a, ...rest] = id.split(":");
  if (map.hasImage(id)) return;
  if (kind === "pin") {
    const { image, pixelRatio } = pinImage(a, rest[0]);
    map.addImage(id, image, { pixelRatio });
  } else if (kind === "label") {
    const { image, pixelRatio } = labelImage(rest.join(":"), a);
    map.addImage(id, image, { pixelRatio });
  }
});

// -- filters -----------------------------------------------------------------------------------
const filterPanel = document.getElementById("filters");
const filterToggle = document.getElementById("filters-toggle");
const windowSelect = document.getElementById("f-window");
const range = document.getElementById("f-range");

function checkbox(name, value, label, checked, decoration) {
  const input = el("input", { type: "checkbox", name, value, checked });
  return el("label", { className: "check" }, input, decoration, ` ${label}`);
}

function buildFilterForm() {
  const statusBox = document.getElementById("f-statuses");
  for (const s of config.statuses) {
    statusBox.append(checkbox("status", s.id, s.name, state.statuses.includes(s.id),
      el("span", { className: "swatch", dataset: { colour: s.colour } })));
  }
  const categoryBox = document.getElementById("f-categories");
  for (const group of config.groups) {
    const box = el("fieldset", { className: "group" }, el("legend", {}, group.name));
    for (const c of config.categories.filter((c) => c.group === group.id)) {
      box.append(checkbox("category", c.id, c.name, state.categories.includes(c.id),
        el("img", { src: pinDataUrl(c.id, null, 18), alt: "", width: 18, height: 18 })));
    }
    categoryBox.append(box);
  }
  for (const swatch of document.querySelectorAll(".swatch[data-colour]")) {
    swatch.style.background = swatch.dataset.colour;
  }
  windowSelect.value = state.window;
  document.getElementById("f-from").value = state.from;
  document.getElementById("f-to").value = state.to;
  range.hidden = state.window !== "range";
}

function formState() {
  const form = document.getElementById("filter-form");
  const checked = (name) => [...form.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);
  return { categories: checked("category"), statuses: checked("status"), window: windowSelect.value,
           from: document.getElementById("f-from").value, to: document.getElementById("f-to").value };
}

function applyFilters() {
  state = formState();
  range.hidden = state.window !== "range";
  writeState(state);
  const source = map.getSource("threatmap");
  const query = tileQuery(state);
  if (source) source.setUrl(`/tiles/reports.json${query ? `?${query}` : ""}`);
  const count = state.categories.length + state.statuses.length + (state.window ? 1 : 0);
  filterToggle.textContent = count ? t("Filters ({count})", { count }) : t("Filters");
  announce(t("Map filtered"));
}

function togglePanel(panel, toggle, open) {
  panel.hidden = !open;
  toggle.setAttribute("aria-expanded", String(open));
  if (open) panel.querySelector("input, select, button").focus();
  else toggle.focus();
}

buildFilterForm();
document.getElementById("filter-form").addEventListener("change", applyFilters);
document.getElementById("filters-clear").addEventListener("click", () => {
  for (const input of document.querySelectorAll("#filter-form input[type=checkbox]")) input.checked = false;
  windowSelect.value = "";
  applyFilters();
});
filterToggle.addEventListener("click", () => togglePanel(filterPanel, filterToggle, filterPanel.hidden));
document.getElementById("filters-close").addEventListener("click", () => togglePanel(filterPanel, filterToggle, false));
if (state.categories.length || state.statuses.length || state.window) {
  const count = state.categories.length + state.statuses.length + (state.window ? 1 : 0);
  filterToggle.textContent = t("Filters ({count})", { count });
}

// -- legend ------------------------------------------------------------------------------------
function buildLegend() {
  const list = document.getElementById("legend-statuses");
  for (const s of config.statuses) {
    const swatch = el("span", { className: "swatch" });
    swatch.style.background = s.colour;
    list.append(el("li", {}, swatch, s.name));
  }
  const cats = document.getElementById("legend-categories");
  for (const c of config.categories) {
    cats.append(el("li", {}, el("span", { className: "symbol", "aria-hidden": "true" }, symbolOf(c.id)), c.name));
  }
  if (window.matchMedia("(max-width: 700px)").matches) document.getElementById("legend-details").open = false;
}
buildLegend();

// -- popups ------------------------------------------------------------------------------------
const AREA_QUERY = `query Areas($id: ID!) { report(id: $id) { id areas { name level } policeUnit { name } } }`;
const CELL_QUERY = `query Cell($filter: ReportFilter) { reports(filter: $filter, first: 1) {
  edges { node { areas { name level } policeUnit { name } } } } }`;

async function areaOf(props, lngLat) {
  if (props.id) return (await gql(AREA_QUERY, { id: props.id })).report;
  // below zoom 15 a pin is a cell (its most frequent category and status): its areas are the
  // cell's, so any report of the cell with them answers
  const d = 0.0005;
  const filter = { bbox: { west: lngLat.lng - d, south: lngLat.lat - d, east: lngLat.lng + d, north: lngLat.lat + d },
                   categories: [props.category], statuses: [props.status] };
  const edges = (await gql(CELL_QUERY, { filter })).reports.edges;
  return edges.length ? edges[0].node : null;
}

function popupContent(props) {
  const category = categories.get(props.category);
  const status = statuses.get(props.status);
  const dl = el("dl", {},
    el("dt", {}, t("Status")), el("dd", {}, status ? status.name : props.status),
    el("dt", {}, t("Date")), el("dd", {}, props.date ? formatDate(props.date) : "–"),
    el("dt", {}, t("Area")), el("dd", { className: "p-area" }, "…"),
    el("dt", {}, t("Police unit")), el("dd", { className: "p-unit" }, "…"));
  const box = el("div", { className: "popup" },
    el("h2", {}, el("img", { src: pinDataUrl(props.category, props.status), alt: "", width: 22, height: 22 }),
       ` ${category ? category.name : props.category}`), dl);
  // below zoom 15 one pin stands for the reports of a cell: its most frequent category and
  // status, its newest date (tiles/queries.py)
  if (props.count > 1) {
    box.append(el("p", {}, t("{count} reports in this cell", { count: props.count })),
      el("p", {}, t("Most frequent: {category}", { category: category ? category.name : props.category })),
      el("p", {}, t("Zoom in to see single reports.")));
  }
  if (props.id) {
    box.append(el("p", { className: "p-id" }, t("Public id:"), " ", el("code", {}, props.id)),
      el("a", { href: `/ogc/collections/reports/items/${props.id}?f=html` }, t("Public page of the report")));
  }
  return box;
}

map.on("click", "reports", async (event) => {
  const feature = event.features[0];
  const props = feature.properties;
  const content = popupContent(props);
  new maplibregl.Popup({ maxWidth: "300px" }).setLngLat(feature.geometry.coordinates).setDOMContent(content).addTo(map);
  try {
    const found = await areaOf(props, { lng: feature.geometry.coordinates[0], lat: feature.geometry.coordinates[1] });
    const areas = found ? found.areas.map((a) => a.name).join(", ") : "";
    content.querySelector(".p-area").textContent = areas || "–";
    content.querySelector(".p-unit").textContent = (found && found.policeUnit && found.policeUnit.name) || t("not assigned yet");
  } catch {
    content.querySelector(".p-area").textContent = "–";
    content.querySelector(".p-unit").textContent = "–";
  }
});
map.on("click", "density", (event) => {
  const props = event.features[0].properties;
  const top = categories.get(props.top_category);
  new maplibregl.Popup({ maxWidth: "280px" }).setLngLat(event.lngLat).setDOMContent(el("div", { className: "popup" },
    el("p", {}, t("{count} reports in this cell", { count: props.count })),
    top ? el("p", {}, t("Most frequent: {category}", { category: top.name })) : null,
    el("p", {}, t("Zoom in to see single reports.")))).addTo(map);
});
for (const layer of ["reports", "density"]) {
  map.on("mouseenter", layer, () => { map.getCanvas().style.cursor = "pointer"; });
  map.on("mouseleave", layer, () => { map.getCanvas().style.cursor = ""; });
}

// -- search: places (the shipped boundaries' names) and coordinates ----------------------------
let places = [];
fetch("/map/places.geojson").then((r) => r.json()).then((data) => {
  places = data.features;
  const list = document.getElementById("place-list");
  for (const name of [...new Set(places.map((p) => p.properties.name))].sort((a, b) => a.localeCompare(b, "pl"))) {
    list.append(el("option", { value: name }));
  }
});

/** "52.23, 21.01" (latitude, longitude; either order for points in Poland) -> [lon, lat]. */
export function parseCoordinates(text) {
  const match = text.trim().match(/^(-?\d+(?:[.,]\d+)?)\s*[,;\s]\s*(-?\d+(?:[.,]\d+)?)$/);
  if (!match) return null;
  let [a, b] = [Number(match[1].replace(",", ".")), Number(match[2].replace(",", "."))];
  if (a >= 13 && a <= 25 && b >= 48 && b <= 56) [a, b] = [b, a];
  if (Math.abs(a) > 90 || Math.abs(b) > 180) return null;
  return [b, a];
}

export function findPlace(text) {
  const wanted = text.trim().toLocaleLowerCase("pl");
  if (!wanted) return null;
  const name = (p) => p.properties.name.toLocaleLowerCase("pl");
  return places.find((p) => name(p) === wanted) || places.find((p) => name(p) === `powiat ${wanted}`)
    || places.find((p) => name(p).includes(wanted)) || null;
}

/** Moves the map to a place or coordinates typed by the user; the point reached, or null. */
export function goTo(text) {
  const point = parseCoordinates(text);
  if (point) {
    map.jumpTo({ center: point, zoom: Math.max(map.getZoom(), 15) });
    announce(t("Map moved to {place}", { place: text }));
    return point;
  }
  const place = findPlace(text);
  if (!place) {
    announce(t("Nothing found for {text}", { text }));
    return null;
  }
  const [w, s, e, n] = place.properties.bbox;
  map.fitBounds([[w, s], [e, n]], { padding: 20, animate: false });
  announce(t("Map moved to {place}", { place: place.properties.name }));
  return place.geometry.coordinates;
}

document.getElementById("search").addEventListener("submit", (event) => {
  event.preventDefault();
  goTo(document.getElementById("search-input").value);
});

setupReport(map, { maplibregl, geolocate, goTo, announce, togglePanel });
