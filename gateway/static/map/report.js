// "Report a threat": the place (picked on the map, located, the map centre or typed), the
// category (grouped, searchable), the time, a description, a contact and the terms; the public
// reports of the same category nearby ("already reported?"); then submitReport with an
// idempotency key (a retry after a network error reuses it) and the tracking token, shown once.
import { categories, config, el, formatDate, gql, isoDay, statuses, t } from "./page.js";
import { photoProblem, submitWithPhotos } from "./photos.js";

const SUBMIT = `mutation Submit($input: SubmitReportInput!, $key: String, $photos: [Upload!]) {
  submitReport(input: $input, idempotencyKey: $key, photos: $photos) { trackingToken report { id status } } }`;
const NEARBY = `query Nearby($filter: ReportFilter) { reports(filter: $filter, first: 5) {
  totalCount edges { node { id status occurredOn } } } }`;
// A public point is its 250 m cell's centre: look a cell around the point (about 100 m plus the
// cell's half diagonal).
const NEAR_DEG_LAT = 0.0025;
const $ = (id) => document.getElementById(id);

function localInputValue(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${isoDay(date)}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function setupReport(map, { maplibregl, geolocate, announce, togglePanel }) {
  const panel = $("report");
  const opener = $("report-open");
  const form = $("report-form");
  const select = $("r-category");
  const error = $("r-error");
  let point = null;
  let marker = null;
  let picking = false;
  let sent = { key: null, payload: null };   // the idempotency key and what it was used for

  // the categories, grouped, and a search box that narrows them
  for (const group of config.groups) {
    const optgroup = el("optgroup", { label: group.name });
    for (const c of config.categories.filter((c) => c.group === group.id && c.active)) {
      optgroup.append(el("option", { value: c.id }, c.name));
    }
    select.append(optgroup);
  }
  $("r-category-search").addEventListener("input", (event) => {
    const wanted = event.target.value.trim().toLocaleLowerCase(config.lang);
    let first = null;
    for (const option of select.querySelectorAll("option[value]:not([value=''])")) {
      const shown = !wanted || option.textContent.toLocaleLowerCase(config.lang).includes(wanted);
      option.hidden = !shown;
      if (shown && !first) first = option;
    }
    if (wanted && first && (!select.value || select.selectedOptions[0].hidden)) {
      select.value = first.value;
      select.dispatchEvent(new Event("change"));
    }
  });

  function describeRule() {
    const category = categories.get(select.value);
    const required = Boolean(category && category.descriptionRequired);
    $("r-description").required = required;
    $("r-description-label").textContent = required ? t("Description (required for this category)")
      : t("Description (optional)");
  }
  $("r-photos-box").hidden = !config.maxPhotos;
  const description = $("r-description");
  description.maxLength = config.maxDescription;
  const counter = () => {
    $("r-description-count").textContent = t("{used} of {max} characters",
      { used: description.value.length, max: config.maxDescription });
  };
  description.addEventListener("input", counter);

  function resetTime() {
    const now = new Date();
    const oldest = new Date(now.getTime() - config.maxAgeDays * 86400000);
    $("r-when").max = localInputValue(now);
    $("r-when").min = localInputValue(oldest);
    $("r-when").value = localInputValue(now);
  }

  function setPoint(lon, lat, { fromInputs = false } = {}) {
    point = [Number(lon.toFixed(6)), Number(lat.toFixed(6))];
    if (!fromInputs) {
      $("r-lat").value = point[1];
      $("r-lon").value = point[0];
    }
    if (!marker) {
      marker = new maplibregl.Marker({ color: "#1d4ed8", draggable: true });
      marker.on("dragend", () => { const p = marker.getLngLat(); setPoint(p.lng, p.lat); });
    }
    marker.setLngLat(point).addTo(map);
    announce(t("Place chosen: {lat}, {lon}", { lat: point[1], lon: point[0] }));
    checkNearby();
  }

  function setPicking(on) {
    picking = on;
    $("r-pick").setAttribute("aria-pressed", String(on));
    panel.classList.toggle("picking", on);   // on a phone the form steps aside for the map
    map.getCanvas().style.cursor = on ? "crosshair" : "";
    if (on) announce(t("Click the map where it happened"));
  }
  map.on("click", (event) => {
    if (!picking) return;
    setPicking(false);
    setPoint(event.lngLat.lng, event.lngLat.lat);
    $("r-category").focus();
  });
  $("r-pick").addEventListener("click", () => setPicking(!picking));
  $("r-centre").addEventListener("click", () => { const c = map.getCenter(); setPoint(c.lng, c.lat); });
  $("r-locate").addEventListener("click", () => {
    if (!navigator.geolocation) { error.textContent = t("Your browser cannot tell your location."); return; }
    navigator.geolocation.getCurrentPosition((position) => {
      const { longitude, latitude } = position.coords;
      map.jumpTo({ center: [longitude, latitude], zoom: Math.max(map.getZoom(), 15) });
      setPoint(longitude, latitude);
    }, () => { error.textContent = t("Your location is not available: pick the place on the map or type it."); },
    { enableHighAccuracy: true, timeout: 10000 });
  });
  for (const id of ["r-lat", "r-lon"]) {
    $(id).addEventListener("change", () => {
      const lat = Number($("r-lat").value.replace(",", "."));
      const lon = Number($("r-lon").value.replace(",", "."));
      if ($("r-lat").value && $("r-lon").value && Number.isFinite(lat) && Number.isFinite(lon)) {
        setPoint(lon, lat, { fromInputs: true });
        map.jumpTo({ center: point, zoom: Math.max(map.getZoom(), 14) });
      }
    });
  }
  select.addEventListener("change", () => { describeRule(); checkNearby(); });

  // "already reported?": public reports of the category near the point, the last 30 days
  let nearbyRun = 0;
  async function checkNearby() {
    const box = $("r-nearby");
    if (!point || !select.value) { box.replaceChildren(); return; }
    const run = ++nearbyRun;
    const dLon = NEAR_DEG_LAT / Math.cos((point[1] * Math.PI) / 180);
    const since = new Date(); since.setDate(since.getDate() - 30);
    try {
      const data = await gql(NEARBY, { filter: {
        bbox: { west: point[0] - dLon, south: point[1] - NEAR_DEG_LAT, east: point[0] + dLon, north: point[1] + NEAR_DEG_LAT },
        categories: [select.value], occurredFrom: isoDay(since) } });
      if (run !== nearbyRun) return;
      const { totalCount, edges } = data.reports;
      if (!totalCount) { box.replaceChildren(el("p", {}, t("No public report of this category nearby in the last 30 days."))); return; }
      box.replaceChildren(el("p", {}, el("strong", {}, t("Already reported?")), " ",
        t("{count} public reports of this category nearby in the last 30 days:", { count: totalCount })),
      el("ul", {}, ...edges.map(({ node }) => el("li", {},
        `${formatDate(node.occurredOn)}: ${(statuses.get(node.status) || { name: node.status }).name}`))),
      el("p", {}, t("You can still send yours: each report helps the police.")));
    } catch { box.replaceChildren(); }
  }

  function open() {
    form.hidden = false;
    $("r-done").hidden = true;
    resetTime();
    counter();
    describeRule();
    togglePanel(panel, opener, true);
  }
  function close() {
    setPicking(false);
    if (marker) marker.remove();
    togglePanel(panel, opener, false);
  }
  opener.addEventListener("click", () => (panel.hidden ? open() : close()));
  $("r-cancel").addEventListener("click", close);
  $("r-close").addEventListener("click", close);
  document.addEventListener("keydown", (event) => { if (event.key === "Escape" && !panel.hidden) close(); });

  function invalid(field, message) {
    field.setAttribute("aria-invalid", "true");
    error.textContent = message;
    field.focus();
    return null;
  }

  /** The mutation's input, or null (with the reason shown and its field focused). */
  function payload() {
    for (const field of form.querySelectorAll("[aria-invalid]")) field.removeAttribute("aria-invalid");
    error.textContent = "";
    if (!point) return invalid($("r-lat"), t("Choose the place: on the map, with your location or by typing coordinates."));
    if (!select.value) return invalid(select, t("Choose a category."));
    const when = $("r-when").value ? new Date($("r-when").value) : null;
    const now = new Date();
    if (!when || Number.isNaN(when.getTime())) return invalid($("r-when"), t("Give the date and time."));
    if (when > new Date(now.getTime() + 60000)) return invalid($("r-when"), t("The time cannot be in the future."));
    if (when < new Date(now.getTime() - config.maxAgeDays * 86400000)) {
      return invalid($("r-when"), t("The event can be at most {days} days old.", { days: config.maxAgeDays }));
    }
    const text = description.value.trim();
    if (description.required && !text) return invalid(description, t("This category needs a description."));
    const problem = photoProblem($("r-photos").files, config.maxPhotos, config.maxPhotoBytes);
    if (problem) return invalid($("r-photos"), problem);
    if (!$("r-terms").checked) return invalid($("r-terms"), t("Accept the terms to send the report."));
    return { categoryId: select.value, longitude: point[0], latitude: point[1],
             occurredAt: when.toISOString(), description: text || null,
             contact: $("r-contact").value.trim() || null };
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = payload();
    if (!input) return;
    const files = $("r-photos").files;
    const text = JSON.stringify(input) + [...files].map((f) => `${f.name}:${f.size}`).join();
    if (sent.payload !== text) sent = { key: crypto.randomUUID(), payload: text };
    const button = $("r-send");
    button.disabled = true;
    error.textContent = t("Sending…");
    try {
      const result = files.length ? await submitWithPhotos(SUBMIT, input, sent.key, files)
        : (await gql(SUBMIT, { input, key: sent.key })).submitReport;
      showToken(result.trackingToken);
      sent = { key: null, payload: null };
    } catch (failure) {
      error.textContent = failure instanceof TypeError
        ? t("The network failed. Send again: the report will not be stored twice.")
        : t("The report was not accepted: {reason}", { reason: failure.message });
    } finally {
      button.disabled = false;
    }
  });

  function showToken(token) {
    form.reset();
    form.hidden = true;
    point = null;
    if (marker) marker.remove();
    $("r-nearby").replaceChildren();
    error.textContent = "";
    $("r-token").textContent = token;
    $("r-status-link").href = `/r/${encodeURIComponent(token)}?lang=${config.lang}`;
    $("r-done").hidden = false;
    $("r-done").focus();
  }
  $("r-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText($("r-token").textContent);
      announce(t("Token copied"));
    } catch {
      window.getSelection().selectAllChildren($("r-token"));
      announce(t("Select and copy the token"));
    }
  });
}
