// A report's page /staff/reports/<id>: opening it calls openReport (a new report becomes under
// verification, and read); the exact point on a map, the exact time, the description, the contact,
// the photos (fetched with the bearer token), the source, the deadlines and the history; actions
// along the allowed transitions with a comment, forwarding naming the body, hand-over to another
// unit, abusive, an internal note. When another officer acted first, the server answers CONFLICT
// (the status expected is sent along): the page reloads the report and says what changed.
import * as maplibregl from "/tiles/static/maplibre-gl/maplibre-gl.mjs";
import {
  ApiError, baseStyle, categoryName, claims, config, deadlineMarker, el, formatDateTime, gql,
  requireToken, setupHeader, statusBadge, statusName, statuses, t, token,
} from "./page.js";

const FIELDS = `id status occurredAt category { id } areas { code name level } policeUnit { id name }
  exactLocation { longitude latitude } description contact source forwardedTo
  deadlines { submittedAt readAt readBy readState verifiedAt verifyBy verifyState }
  history { kind fromStatus toStatus at actor comment forwardedTo } photos { id url mediaType width height }`;
const OPEN = `mutation Open($id: ID!) { openReport(id: $id) { ${FIELDS} } }`;
const READ = `query Read($id: ID!) { report(id: $id) { ${FIELDS} } }`;
const STATUS = `mutation Status($id: ID!, $status: String!, $comment: String, $forwardTo: String,
  $expected: String) { setReportStatus(id: $id, status: $status, comment: $comment, forwardTo: $forwardTo,
  expectedStatus: $expected) { ${FIELDS} } }`;
// Handed over, the report may no longer be this unit's: only its id comes back, then it is read again.
const ASSIGN = `mutation Assign($id: ID!, $unit: String!, $comment: String, $expected: String) {
  assignReport(id: $id, policeUnitId: $unit, comment: $comment, expectedStatus: $expected) { id status } }`;
const ABUSIVE = `mutation Abusive($id: ID!, $comment: String, $expected: String) {
  markReportAbusive(id: $id, comment: $comment, expectedStatus: $expected) { ${FIELDS} } }`;
const NOTE = `mutation Note($id: ID!, $text: String!) { addReportNote(id: $id, text: $text) { ${FIELDS} } }`;
const UNITS = "query { policeUnits { id name } }";

const main = document.getElementById("main");
const id = main.dataset.report;
const message = document.getElementById("message");
const changedNote = document.getElementById("changed");
const result = document.getElementById("action-result");
const isOfficer = claims().role === "officer";
let report = null;
let map = null;
const photoUrls = [];

function fail(text) {
  message.textContent = text;
  message.hidden = false;
}

function refusal(failure) {
  if (failure.code === "FORBIDDEN") {
    return t("You may not see this report: it is outside your police unit's area (FORBIDDEN).");
  }
  if (failure.code === "NOT_FOUND") return t("There is no such report.");
  return t("The report could not be read: {reason}", { reason: failure.message });
}

function fact(term, ...value) {
  return [el("dt", {}, term), el("dd", {}, ...value)];
}

function deadlineText(by, state, done) {
  const states = { PENDING: t("pending"), DUE_SOON: t("due soon"), OVERDUE: t("overdue"), MET: t("met"),
                   MISSED: t("missed") };
  return `${formatDateTime(by)} (${states[state] || state}${done ? `, ${formatDateTime(done)}` : ""})`;
}

function showFacts() {
  const point = report.exactLocation;
  const county = report.areas.find((a) => a.level === "COUNTY");
  const d = report.deadlines;
  document.getElementById("title").textContent = `${categoryName(report.category.id)} · ${statusName(report.status)}`;
  document.getElementById("facts").replaceChildren(...[
    ...fact(t("Status"), statusBadge(report.status), " ", deadlineMarker(d)),
    ...fact(t("Category"), categoryName(report.category.id)),
    ...fact(t("Exact time"), el("time", { dateTime: report.occurredAt }, formatDateTime(report.occurredAt))),
    ...fact(t("Exact point"), point ? `${point.latitude.toFixed(6)}, ${point.longitude.toFixed(6)}` : "–"),
    ...fact(t("Area"), county ? `${county.name} (${county.code})` : "–"),
    ...fact(t("Police unit"), report.policeUnit ? report.policeUnit.name : "–"),
    ...fact(t("Source"), report.source || "–"),
    ...fact(t("Description"), report.description || t("(none)")),
    ...fact(t("Contact"), report.contact || t("none (not given, or erased)")),
    ...(report.forwardedTo ? fact(t("Forwarded to"), forwardName(report.forwardedTo)) : []),
    ...(d ? fact(t("Read by"), deadlineText(d.readBy, d.readState, d.readAt)) : []),
    ...(d ? fact(t("Verify by"), deadlineText(d.verifyBy, d.verifyState, d.verifiedAt)) : []),
  ]);
}

function forwardName(bodyId) {
  return (config.forwardBodies.find((b) => b.id === bodyId) || { name: bodyId }).name;
}

function eventText(event) {
  const kinds = { created: t("Reported"), opened: t("Opened (read)"), status_changed: t("Status changed"),
                  assigned: t("Handed over"), note: t("Internal note"), marked_abusive: t("Marked abusive"),
                  information_added: t("The citizen added information"), contact_erased: t("Contact erased"),
                  photos_erased: t("Photos erased") };
  const change = event.toStatus ? `: ${statusName(event.fromStatus)} → ${statusName(event.toStatus)}` : "";
  // the body by name in the reader's language (events before it was data say it in their comment)
  const forwarded = event.forwardedTo ? ` · ${t("Forwarded to")}: ${forwardName(event.forwardedTo)}` : "";
  return `${kinds[event.kind] || event.kind}${change}${forwarded}`;
}

function showHistory() {
  document.getElementById("history").replaceChildren(...(report.history || []).map((event) =>
    el("li", {}, el("time", { dateTime: event.at }, formatDateTime(event.at)), " ",
      el("strong", {}, eventText(event)), event.actor ? ` · ${event.actor}` : "",
      event.comment ? el("div", { className: "comment" }, event.comment) : null)));
}

async function showPhotos() {
  const box = document.getElementById("photos");
  const photos = report.photos || [];
  if (!photos.length) {
    box.replaceChildren(el("p", {}, t("No photos.")));
    return;
  }
  box.replaceChildren();
  for (const [index, photo] of photos.entries()) {
    const label = t("Photo {n} of {count}", { n: index + 1, count: photos.length });
    try {
      const response = await fetch(photo.url, { headers: { Authorization: `Bearer ${token()}` } });
      if (!response.ok) throw new Error(String(response.status));
      const url = URL.createObjectURL(await response.blob());
      photoUrls.push(url);
      box.append(el("a", { href: url, target: "_blank", rel: "noopener" },
        el("img", { src: url, alt: label, width: photo.width, height: photo.height, className: "photo" })));
    } catch (failure) {
      box.append(el("p", { className: "error" }, t("{photo} could not be loaded ({reason}).",
        { photo: label, reason: failure.message })));
    }
  }
}

function showMap() {
  const point = report.exactLocation;
  if (!point) return;
  const centre = [point.longitude, point.latitude];
  const feature = { type: "FeatureCollection", features: [{ type: "Feature", id: report.id,
    properties: { id: report.id, status: report.status }, geometry: { type: "Point", coordinates: centre } }] };
  if (!map) {
    map = new maplibregl.Map({ container: "map", style: baseStyle(), center: centre, zoom: 15, maxZoom: 18,
                               attributionControl: false });
    window.map = map;
    map.addControl(new maplibregl.AttributionControl({ compact: true, customAttribution: t("Boundaries: PRG © GUGiK, polska-geojson © Piotr Patrzyk (MIT)") }));
    map.addControl(new maplibregl.NavigationControl(), "top-right");
    map.on("load", () => map.getSource("reports").setData(feature));
  } else if (map.getSource("reports")) {
    map.getSource("reports").setData(feature);
  }
}

function showActions() {
  const actions = document.getElementById("actions");
  actions.hidden = !isOfficer;
  const next = (statuses.get(report.status) || { next: [] }).next;
  const select = document.getElementById("a-status");
  select.replaceChildren(...next.map((s) => el("option", { value: s }, statusName(s))));
  document.getElementById("status-form").hidden = !next.length;
  toggleForward();
}

function toggleForward() {
  const chosen = statuses.get(document.getElementById("a-status").value);
  document.getElementById("a-forward-box").hidden = !(chosen && chosen.forwarding);
}

function show(next) {
  report = next;
  document.getElementById("report").hidden = false;
  main.dataset.status = report.status;
  showFacts();
  showHistory();
  showActions();
  showMap();
}

/** What happened since `before` (the report as this page showed it), in words. */
function differences(before, after) {
  const known = new Set((before.history || []).map((e) => `${e.at}|${e.kind}`));
  const fresh = (after.history || []).filter((e) => !known.has(`${e.at}|${e.kind}`));
  const parts = [];
  if (before.status !== after.status) {
    parts.push(t("the status is now {now} (was {was})", { now: statusName(after.status), was: statusName(before.status) }));
  }
  for (const event of fresh) parts.push(`${eventText(event)}${event.actor ? ` (${event.actor})` : ""}`);
  return parts.join("; ");
}

/** Runs one action; on CONFLICT (someone acted first) reloads and explains instead of failing. */
async function act(query, variables, done, field) {
  result.textContent = "";
  changedNote.hidden = true;
  const before = report;
  try {
    const data = await gql(query, { id, ...variables });
    if (field) field.value = "";
    const answer = Object.values(data)[0];
    if (answer.history) {
      show(answer);
    } else {
      try {
        show((await gql(READ, { id })).report);
      } catch (again) {
        if (!(again instanceof ApiError) || again.code !== "FORBIDDEN") throw again;
        document.getElementById("report").hidden = true;
        result.textContent = "";
        message.textContent = t("{done} The report is no longer your unit's to see.", { done });
        message.hidden = false;
        return true;
      }
    }
    result.textContent = done;
    return true;
  } catch (failure) {
    if (!(failure instanceof ApiError)) throw failure;
    if (failure.code === "CONFLICT" || failure.code === "FORBIDDEN") {
      try {
        show((await gql(READ, { id })).report);
      } catch (again) {
        report = before;
        fail(refusal(again));
        document.getElementById("report").hidden = true;
        return false;
      }
      const what = differences(before, report) || failure.message;
      changedNote.textContent = t("Another officer acted on this report first, nothing was changed by you: {what}. Check and act again.", { what });
      changedNote.hidden = false;
      changedNote.focus?.();
      return false;
    }
    result.textContent = t("Not done: {reason}", { reason: failure.message });
    return false;
  }
}

function setupActions() {
  const statusSelect = document.getElementById("a-status");
  statusSelect.addEventListener("change", toggleForward);
  document.getElementById("a-forward").append(
    ...config.forwardBodies.map((b) => el("option", { value: b.id }, b.name)));
  document.getElementById("status-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const status = statusSelect.value;
    const forwarding = (statuses.get(status) || {}).forwarding;
    const comment = document.getElementById("a-comment");
    act(STATUS, { status, comment: comment.value.trim() || null, expected: report.status,
                  forwardTo: forwarding ? document.getElementById("a-forward").value : null },
        t("The status is now: {status}", { status: statusName(status) }), comment);
  });
  document.getElementById("assign-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const unit = document.getElementById("a-unit").value;
    const comment = document.getElementById("a-assign-comment");
    await act(ASSIGN, { unit, comment: comment.value.trim() || null, expected: report.status },
              t("Handed over to {unit}.", { unit }), comment);
  });
  document.getElementById("abusive-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const comment = document.getElementById("a-abusive-comment");
    act(ABUSIVE, { comment: comment.value.trim() || null, expected: report.status },
        t("Marked abusive: never published."), comment);
  });
  document.getElementById("note-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = document.getElementById("a-note");
    if (!text.value.trim()) {
      result.textContent = t("Write the note first.");
      return;
    }
    act(NOTE, { text: text.value.trim() }, t("The note was added."), text);
  });
  if (isOfficer) {
    gql(UNITS).then((data) => {
      const own = claims().unit;
      document.getElementById("a-unit").append(...data.policeUnits.filter((u) => u.id !== own)
        .map((u) => el("option", { value: u.id }, `${u.name} (${u.id})`)));
    }).catch(() => {});
  }
}

async function start() {
  setupHeader();
  setupActions();
  try {
    const data = isOfficer ? (await gql(OPEN, { id })).openReport : (await gql(READ, { id })).report;
    if (!data) {
      fail(t("There is no such report."));
      return;
    }
    show(data);
    main.dataset.loaded = "true";
    showPhotos();
    if (window.location.hash === "#actions") document.getElementById("a-status").focus();
  } catch (failure) {
    if (!(failure instanceof ApiError)) throw failure;
    main.dataset.loaded = "refused";
    fail(refusal(failure));
  }
}

window.addEventListener("pagehide", () => photoUrls.forEach((url) => URL.revokeObjectURL(url)));
if (requireToken()) start();
