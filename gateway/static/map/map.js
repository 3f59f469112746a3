// The citizen map at /: the base map, reports coloured by status with a symbol per category,
// popups, filters kept in the URL, a legend, search by place or coordinates, and the report form
// (report.js). A file, not an inline script: the page's CSP allows scripts of this origin only.
import * as maplibregl from "/tiles/static/maplibre-gl/maplibre-gl.mjs";
import { addOverlay, localStyle } from "./basemap.js";
import { readState, tileQuery, writeState } from "./filters.js";
import { categories, config, el, formatDate, gql, statuses, t, tn } from "./page.js";
import { setupReport } from "./report.js";
import { labelImage, pinDataUrl, pinImage, symbolOf } from "./symbols.js";

const POLAND = [[14.0, 48.9], [24.2, 55.0]];
const announce = (text) => { document.getElementById("announce").textContent = text; };
let state = readState();

const style = localStyle(tileQuery(state));
// MapLibre's own texts (control titles, the map's label, the popup's close button), in the
// page's language through the same catalogue
const MAPLIBRE_TEXTS = {
  "AttributionControl.ToggleAttribution": t("Toggle attribution"),
  "GeolocateControl.FindMyLocation": t("Find my location"),
  "GeolocateControl.LocationNotAvailable": t("Location not available"),
  "Map.Title": t("Map"),
  "Marker.Title": t("Map marker"),
  "NavigationControl.ResetBearing": t("Drag to rotate map, click to reset north"),
  "NavigationControl.ZoomIn": t("Zoom in"),
  "NavigationControl.ZoomOut": t("Zoom out"),
  "Popup.Close": t("Close popup"),
};
const map = new maplibregl.Map({
  container: "map", style: style || config.basemap.style, bounds: POLAND, hash: true,
  attributionControl: false, maxZoom: 18, locale: MAPLIBRE_TEXTS,
});
window.map = map;
// The sources say who their data is from (basemap.js); a configured base map adds its own.
map.addControl(new maplibregl.AttributionControl({
  compact: true, customAttribution: config.basemap.attribution || undefined,
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

const nameIn = (entries, id) => (entries.get(id) || { name: id }).name;
const filtered = () => state.categories.length > 0 || state.statuses.length > 0 || Boolean(state.window);

/** A pin's popup: only what the tile carries (no description, no exact time). From zoom 15 a
 * pin is one report; below, it is a public cell (tiles/queries.py): `count` reports (those
 * matching the filters), the most frequent (category, status) pair of them, which the pin
 * shows, and the newest day. A cell of one report reads as that report. */
function popupContent(props) {
  const count = Number(props.count || 1);
  const category = nameIn(categories, props.category);
  const status = nameIn(statuses, props.status);
  const date = props.date ? formatDate(props.date) : "–";
  const pin = el("img", { src: pinDataUrl(props.category, props.status), alt: "", width: 22, height: 22 });
  const where = [el("dt", {}, t("Area")), el("dd", { className: "p-area" }, "…"),
                 el("dt", {}, t("Police unit")), el("dd", { className: "p-unit" }, "…")];
  if (count > 1) {
    return el("div", { className: "popup" },
      el("h2", {}, pin, ` ${tn("{count} report in this cell", "{count} reports in this cell", count)}`),
      el("dl", {},
        el("dt", {}, t("Most frequent")),
        el("dd", { className: "p-top" }, t("{category}, status: {status}", { category, status })),
        el("dt", {}, t("Newest")), el("dd", { className: "p-newest" }, date),
        ...where),
      filtered() ? el("p", {}, t("Only reports matching the filters are counted.")) : null,
      el("p", {}, t("Zoom in to see single reports.")));
  }
  const box = el("div", { className: "popup" }, el("h2", {}, pin, ` ${category}`),
    el("dl", {}, el("dt", {}, t("Status")), el("dd", {}, status),
       el("dt", {}, t("Date")), el("dd", {}, date), ...where));
  if (props.id) {
    box.append(el("p", { className: "p-id" }, t("Public id:"), " ", el("code", {}, props.id)),
      el("a", { href: `/ogc/collections/reports/items/${props.id}?f=html` }, t("Public page of the report")));
  }
  return box;
}

let shown = null;   // one popup at a time
// narrower than the screen less the controls' column, so a phone's popup leaves them free
const popupWidth = (px) => `min(${px}px, calc(100vw - 100px))`;

function showPopup(lngLat, content, widthPx) {
  shown?.remove();
  const popup = new maplibregl.Popup({ maxWidth: popupWidth(widthPx) }).setLngLat(lngLat).setDOMContent(content).addTo(map);
  shown = popup;
  // At most half the map high (scrolling past that), so that it fits above or below its pin:
  // a grouped pin's popup with filters on ran past the map's bottom on a phone. MapLibre places
  // it again with its height known (setLngLat updates it).
  const box = popup.getElement().querySelector(".maplibregl-popup-content");
  box.style.maxHeight = `${Math.max(120, Math.floor(map.getContainer().clientHeight / 2) - 24)}px`;
  box.style.overflowY = "auto";
  if (box.scrollHeight > box.clientHeight) box.tabIndex = 0;   // scrolled with the keyboard too
  popup.setLngLat(lngLat);
  popup.getElement().addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    popup.remove();
    map.getCanvas().focus();
  });
  return popup;
}

function openReportPopup(feature) {
  const props = feature.properties;
  const content = popupContent(props);
  const [lng, lat] = feature.geometry.coordinates;
  const popup = showPopup([lng, lat], content, 300);
  areaOf(props, { lng, lat }).then((found) => {
    const areas = found ? found.areas.map((a) => a.name).join(", ") : "";
    content.querySelector(".p-area").textContent = areas || "–";
    content.querySelector(".p-unit").textContent = (found && found.policeUnit && found.policeUnit.name) || t("not assigned yet");
  }).catch(() => {
    content.querySelector(".p-area").textContent = "–";
    content.querySelector(".p-unit").textContent = "–";
  });
  return popup;
}

function openDensityPopup(feature, lngLat) {
  const props = feature.properties;
  const top = categories.get(props.top_category);
  return showPopup(lngLat, el("div", { className: "popup" },
    el("p", {}, tn("{count} report in this cell", "{count} reports in this cell", Number(props.count))),
    top ? el("p", {}, t("Most frequent: {category}", { category: top.name })) : null,
    el("p", {}, t("Zoom in to see single reports."))), 280);
}

map.on("click", "reports", (event) => { openReportPopup(event.features[0]); });
map.on("click", "density", (event) => { openDensityPopup(event.features[0], event.lngLat); });
for (const layer of ["reports", "density"]) {
  map.on("mouseenter", layer, () => { map.getCanvas().style.cursor = "pointer"; });
  map.on("mouseleave", layer, () => { map.getCanvas().style.cursor = ""; });
}

// -- the keyboard: the arrow keys and +/- move the map (MapLibre); Enter opens the popup of the
// pin or circle nearest the centre (the ring drawn there while the map has the focus, map.css),
// Escape closes it and the focus returns to the map.
const PICK_RADIUS = 22;   // px, the ring's radius

function nearestToCentre() {
  const canvas = map.getCanvas();
  const centre = [canvas.clientWidth / 2, canvas.clientHeight / 2];
  const layers = ["reports", "density"].filter((id) => map.getLayer(id));
  const box = [[centre[0] - PICK_RADIUS, centre[1] - PICK_RADIUS], [centre[0] + PICK_RADIUS, centre[1] + PICK_RADIUS]];
  let best = null;
  let bestDistance = Infinity;
  for (const feature of map.queryRenderedFeatures(box, { layers })) {
    if (feature.geometry.type !== "Point") continue;
    const point = map.project(feature.geometry.coordinates);
    const distance = Math.hypot(point.x - centre[0], point.y - centre[1]);
    if (distance < bestDistance) [best, bestDistance] = [feature, distance];
  }
  return best;
}

const mapCanvas = map.getCanvas();
mapCanvas.setAttribute("aria-describedby", "map-keys");
mapCanvas.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
  event.preventDefault();
  const feature = nearestToCentre();
  if (!feature) {
    announce(t("Nothing at the centre of the map: move the map with the arrow keys."));
    return;
  }
  const popup = feature.layer.id === "reports" ? openReportPopup(feature)
    : openDensityPopup(feature, feature.geometry.coordinates);
  const content = popup.getElement().querySelector(".popup");
  // the area and the police unit arrive later: neither their values nor their labels now
  const later = (node) => (node.tagName === "DT" ? node.nextElementSibling : node)?.matches(".p-area, .p-unit");
  announce([...content.querySelectorAll("h2, dt, dd, p")].filter((node) => !later(node))
    .map((node) => node.textContent.trim()).filter(Boolean).join(". "));
  popup.on("close", () => {
    if (document.activeElement === document.body) mapCanvas.focus();
  });
});

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
