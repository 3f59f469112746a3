// The work list at /staff: the unit's reports (staffReports) with filters kept in the URL (shareable,
// the back button works), deadline markers in text, cursor paging, a map of the same page with the
// exact points, list and map selecting together, keys (j/k or arrows, Enter, s, /), the CSV export,
// and live updates (live.js).
import * as maplibregl from "/tiles/static/maplibre-gl/maplibre-gl.mjs";
import { startLive } from "./live.js";
import {
  ApiError, baseStyle, categoryName, config, deadlineMarker, el, formatDateTime, gql, requireToken,
  setupHeader, statusBadge, t, token,
} from "./page.js";

const LIST = `query Work($filter: ReportFilter, $text: String, $deadlines: [DeadlineState!], $first: Int!,
  $after: String) {
  staffReports(filter: $filter, text: $text, deadlineStates: $deadlines, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id status occurredAt category { id } areas { code name level }
      exactLocation { longitude latitude } description
      deadlines { readAt readBy readState verifyBy verifyState } } } } }`;
const AREAS = "query { areas(level: COUNTY) { code name } }";
const POLAND = [[14.0, 48.9], [24.2, 55.0]];
const form = document.getElementById("filters");
const list = document.getElementById("list");
const message = document.getElementById("message");
const announce = (text) => { document.getElementById("announce").textContent = text; };

// -- the state, in the URL ------------------------------------------------------------------------
const MULTI = { status: "f-status", category: "f-category", deadline: "f-deadline" };
const SINGLE = { from: "f-from", to: "f-to", area: "f-area", text: "f-text" };

function readState() {
  const q = new URLSearchParams(window.location.search);
  const state = { after: q.get("after") || null, back: q.getAll("back") };
  for (const name of Object.keys(MULTI)) state[name] = q.getAll(name);
  for (const name of Object.keys(SINGLE)) state[name] = q.get(name) || "";
  state.bbox = q.get("bbox") || "";
  return state;
}

/** The filters as query parameters (the export takes the same names). */
function filterParams(state) {
  const q = new URLSearchParams();
  for (const name of Object.keys(MULTI)) for (const value of state[name]) q.append(name, value);
  for (const name of [...Object.keys(SINGLE), "bbox"]) if (state[name]) q.set(name, state[name]);
  return q;
}

function stateUrl(state) {
  const q = filterParams(state);
  if (config.lang !== "pl") q.set("lang", config.lang);
  for (const cursor of state.back) q.append("back", cursor);
  if (state.after) q.set("after", state.after);
  const text = q.toString();
  return `/staff${text ? `?${text}` : ""}`;
}

function fillForm(state) {
  for (const [name, id] of Object.entries(MULTI)) {
    for (const option of document.getElementById(id).options) option.selected = state[name].includes(option.value);
  }
  for (const [name, id] of Object.entries(SINGLE)) document.getElementById(id).value = state[name];
}

function formState() {
  const state = { after: null, back: [], bbox: "" };
  for (const [name, id] of Object.entries(MULTI)) {
    state[name] = [...document.getElementById(id).selectedOptions].map((o) => o.value);
  }
  for (const [name, id] of Object.entries(SINGLE)) state[name] = document.getElementById(id).value.trim();
  return state;
}

function variables(state) {
  const bbox = state.bbox.split(",").map(Number);
  const filter = {
    statuses: state.status.length ? state.status : null,
    categories: state.category.length ? state.category : null,
    occurredFrom: state.from || null, occurredTo: state.to || null, areaCode: state.area || null,
    bbox: bbox.length === 4 && bbox.every(Number.isFinite)
      ? { west: bbox[0], south: bbox[1], east: bbox[2], north: bbox[3] } : null,
  };
  return { filter, text: state.text || null, deadlines: state.deadline.length ? state.deadline : null,
           first: config.pageSize, after: state.after };
}

// -- the map ----------------------------------------------------------------------------------------
const map = new maplibregl.Map({ container: "map", style: baseStyle(), bounds: POLAND, maxZoom: 18,
                                 attributionControl: false });
window.map = map;
map.addControl(new maplibregl.AttributionControl({ compact: true, customAttribution: t("Boundaries: PRG © GUGiK, polska-geojson © Piotr Patrzyk (MIT)") }));
map.addControl(new maplibregl.NavigationControl(), "top-right");
const mapReady = new Promise((resolve) => map.on("load", resolve));

// -- the list ---------------------------------------------------------------------------------------
let state = readState();
let reports = [];
let selected = -1;
let pageInfo = { hasNextPage: false, endCursor: null };

function row(report, index) {
  const county = report.areas.find((a) => a.level === "COUNTY");
  const item = el("li", { id: `r-${report.id}`, className: "item", dataset: { index: String(index) } },
    el("div", { className: "line" }, statusBadge(report.status), " ",
      el("strong", {}, categoryName(report.category.id)), " ", deadlineMarker(report.deadlines)),
    el("div", { className: "line small" },
      el("time", { dateTime: report.occurredAt }, formatDateTime(report.occurredAt)),
      county ? ` · ${county.name}` : ""),
    report.description ? el("div", { className: "line small description" }, report.description.slice(0, 140)) : null,
    el("a", { href: reportHref(report.id), className: "open" }, t("Open"),
      el("span", { className: "visually-hidden" }, `: ${categoryName(report.category.id)}, ${formatDateTime(report.occurredAt)}`)));
  item.addEventListener("click", (event) => {
    if (event.target.closest("a")) return;
    select(index, true);
  });
  item.addEventListener("dblclick", () => open(index));
  return item;
}

function reportHref(id, hash = "") {
  return `/staff/reports/${id}${config.lang !== "pl" ? `?lang=${config.lang}` : ""}${hash}`;
}

/** The map's highlight of a report (none before the map's style, and so its source, is there). */
function mark(id, on) {
  try {
    map.setFeatureState({ source: "reports", id }, { selected: on });
  } catch {
    // not loaded yet: load() selects again once the points are on the map
  }
}

/** Selects a report in the list and on the map; from the keyboard, its link gets the focus. */
function select(index, fromList = false, focus = false) {
  if (!reports.length) return;
  index = Math.max(0, Math.min(reports.length - 1, index));
  if (selected >= 0 && reports[selected]) {
    document.getElementById(`r-${reports[selected].id}`)?.removeAttribute("aria-current");
    mark(reports[selected].id, false);
  }
  selected = index;
  const report = reports[index];
  const item = document.getElementById(`r-${report.id}`);
  item.setAttribute("aria-current", "true");
  item.scrollIntoView({ block: "nearest" });
  if (focus) item.querySelector("a.open").focus();
  mark(report.id, true);
  if (report.exactLocation && !fromList) {
    map.easeTo({ center: [report.exactLocation.longitude, report.exactLocation.latitude] });
  }
  list.dataset.selected = report.id;
}

function open(index, hash = "") {
  if (reports[index]) window.location.assign(reportHref(reports[index].id, hash));
}

async function load({ keepSelection = false } = {}) {
  const keep = keepSelection && selected >= 0 ? reports[selected]?.id : null;
  message.hidden = true;
  let page;
  try {
    page = (await gql(LIST, variables(state))).staffReports;
  } catch (failure) {
    message.textContent = failure instanceof ApiError && failure.code === "FORBIDDEN"
      ? t("Your token does not allow the work list: {reason}", { reason: failure.message })
      : t("The list could not be read: {reason}", { reason: failure.message });
    message.hidden = false;
    return;
  }
  reports = page.edges.map((e) => e.node);
  pageInfo = page.pageInfo;
  selected = -1;
  list.replaceChildren(...reports.map(row));
  if (!reports.length) list.append(el("li", { className: "empty" }, t("No reports match.")));
  document.getElementById("total").textContent = t("({count} in all)", { count: page.totalCount });
  document.getElementById("prev").disabled = !state.back.length;
  document.getElementById("next").disabled = !pageInfo.hasNextPage;
  list.dataset.loaded = String(Date.now());
  await mapReady;
  const features = reports.filter((r) => r.exactLocation).map((r) => ({
    type: "Feature", id: r.id, properties: { id: r.id, status: r.status },
    geometry: { type: "Point", coordinates: [r.exactLocation.longitude, r.exactLocation.latitude] },
  }));
  map.getSource("reports").setData({ type: "FeatureCollection", features });
  document.getElementById("map").dataset.points = String(features.length);
  if (selected >= 0) mark(reports[selected].id, true);
  if (features.length && !keepSelection) {
    const bounds = new maplibregl.LngLatBounds();
    for (const f of features) bounds.extend(f.geometry.coordinates);
    map.fitBounds(bounds, { padding: 40, maxZoom: 14, duration: 0 });
  }
  const again = keep ? reports.findIndex((r) => r.id === keep) : -1;
  if (again >= 0) select(again, true);
}

function go(next, push = true) {
  state = next;
  if (push) history.pushState(null, "", stateUrl(state));
  load();
}

// -- controls ---------------------------------------------------------------------------------------
function options(select, items) {
  select.append(...items.map((i) => el("option", { value: i.id }, i.name)));
}

function setup() {
  setupHeader();
  options(document.getElementById("f-status"), config.statuses);
  options(document.getElementById("f-category"), config.categories);
  fillForm(state);
  gql(AREAS).then((data) => {
    document.getElementById("area-list").append(
      ...data.areas.map((a) => el("option", { value: a.code, label: `${a.name} (${a.code})` })));
  }).catch(() => {});
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go(formState());
  });
  document.getElementById("f-clear").addEventListener("click", () => {
    form.reset();
    go(formState());
  });
  document.getElementById("next").addEventListener("click", () => {
    if (!pageInfo.hasNextPage) return;
    go({ ...state, back: [...state.back, state.after || ""], after: pageInfo.endCursor });
  });
  document.getElementById("prev").addEventListener("click", () => {
    if (!state.back.length) return;
    const back = [...state.back];
    const after = back.pop() || null;
    go({ ...state, back, after });
  });
  document.getElementById("export").addEventListener("click", exportCsv);
  window.addEventListener("popstate", () => {
    state = readState();
    fillForm(state);
    load();
  });
  document.addEventListener("keydown", keys);
  map.on("click", "reports", (event) => {
    const id = event.features[0]?.properties.id;
    const index = reports.findIndex((r) => r.id === id);
    if (index >= 0) {
      select(index, true, true);
    }
  });
  map.on("mouseenter", "reports", () => { map.getCanvas().style.cursor = "pointer"; });
  map.on("mouseleave", "reports", () => { map.getCanvas().style.cursor = ""; });
}

/** Keys, when no form field has the focus: j/↓ next, k/↑ previous, Enter opens, s status, / filters. */
function keys(event) {
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  const target = event.target;
  if (!target.closest || target.closest("input, select, textarea, .maplibregl-map")) return;
  if (event.key === "Enter" && target.closest("button, a")) return;
  const moves = { j: 1, ArrowDown: 1, k: -1, ArrowUp: -1 };
  if (event.key in moves) {
    event.preventDefault();
    select(selected < 0 ? 0 : selected + moves[event.key], false, true);
    announce(reports[selected] ? `${categoryName(reports[selected].category.id)}` : "");
  } else if (event.key === "Enter" && selected >= 0) {
    event.preventDefault();
    open(selected);
  } else if (event.key === "s" && selected >= 0) {
    event.preventDefault();
    open(selected, "#actions");
  } else if (event.key === "/") {
    event.preventDefault();
    document.getElementById("f-text").focus();
  }
}

/** GET /staff/export.csv with the list's filters and the bearer token; saved as a download. */
async function exportCsv() {
  const query = filterParams(state).toString();
  const response = await fetch(`/staff/export.csv${query ? `?${query}` : ""}`,
                               { headers: { Authorization: `Bearer ${token()}` } });
  if (!response.ok) {
    message.textContent = t("The export failed: {reason}", { reason: `${response.status} ${response.statusText}` });
    message.hidden = false;
    return;
  }
  const disposition = response.headers.get("Content-Disposition") || "";
  const name = (/filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition) || [])[1] || "reports.csv";
  const url = URL.createObjectURL(await response.blob());
  const link = el("a", { href: url, download: decodeURIComponent(name) });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

if (requireToken()) {
  setup();
  load();
  startLive((count) => {
    announce(t("{count} reports added or changed: the list was updated.", { count }));
    load({ keepSelection: true });
  });
}
