// What every officers' page shares: texts (gettext domain `staff`), the workflow (data-config)
// and the element builder, from ../shared/page.js; the bearer token the sign-in page keeps in
// sessionStorage, and a GraphQL client that sends it. No token, or a token the server refuses:
// to the sign-in page.
import { categories, config, el, graphql, statuses, t } from "../shared/page.js";
import { TOKEN_KEY } from "../staff-auth/common.js";   // where the sign-in pages keep the token

export { ApiError, categories, config, el, formatDateTime, statuses, t } from "../shared/page.js";
export { TOKEN_KEY };

export const statusName = (id) => (statuses.get(id) || { name: id }).name;
export const categoryName = (id) => (categories.get(id) || { name: id }).name;

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** To the sign-in page, coming back here (path and query) afterwards. */
export function signIn() {
  const next = window.location.pathname + window.location.search;
  window.location.assign(`/staff/sign-in?next=${encodeURIComponent(next)}`);
}

export function requireToken() {
  if (!token()) {
    signIn();
    return false;
  }
  return true;
}

/** The token's claims (shown only: the server checks the token on every call). */
export function claims() {
  try {
    const part = token().split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(decodeURIComponent(escape(atob(part))));
  } catch {
    return {};
  }
}

/** A GraphQL call with the bearer token; resolves to `data`, rejects with an ApiError. */
export async function gql(query, variables = {}) {
  try {
    return await graphql(query, variables, { Authorization: `Bearer ${token()}` });
  } catch (error) {
    if (error.code === "UNAUTHENTICATED") signIn();
    throw error;
  }
}

/** A status badge: the name in text, the colour beside it (never colour alone). */
export function statusBadge(id) {
  const badge = el("span", { className: "badge" }, statusName(id));
  const status = statuses.get(id);
  if (status) badge.style.background = status.colour;
  return badge;
}

/** Where a report stands against the deadline it waits for: read-by until read, then verify-by. */
export function deadlineOf(deadlines) {
  if (!deadlines) return null;
  if (!deadlines.readAt) return { kind: "read", state: deadlines.readState, by: deadlines.readBy };
  return { kind: "verify", state: deadlines.verifyState, by: deadlines.verifyBy };
}

/** A text marker of an overdue or due-soon deadline (null otherwise). */
export function deadlineMarker(deadlines) {
  const d = deadlineOf(deadlines);
  if (!d || (d.state !== "OVERDUE" && d.state !== "DUE_SOON")) return null;
  const what = d.kind === "read" ? t("reading") : t("verification");
  const text = d.state === "OVERDUE" ? t("Overdue: {what}", { what }) : t("Due soon: {what}", { what });
  return el("span", { className: `marker ${d.state === "OVERDUE" ? "overdue" : "due-soon"}` },
    d.state === "OVERDUE" ? "⚠ " : "⏱ ", text);
}

/** The header: who is signed in, and the sign-out button. */
export function setupHeader() {
  const who = claims();
  const label = who.unit ? `${who.sub || ""} · ${who.role || ""} · ${who.unit}` : `${who.sub || ""} · ${who.role || ""}`;
  document.getElementById("who").textContent = token() ? label : "";
  document.getElementById("sign-out").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    window.location.assign("/staff/sign-in");
  });
}

/** The map under the exact points: the shipped boundaries, offline (no base map from elsewhere). */
export function baseStyle() {
  return {
    version: 8,
    sources: {
      voivodeships: { type: "geojson", data: "/map/boundaries/voivodeships.geojson" },
      counties: { type: "geojson", data: "/map/boundaries/counties.geojson" },
      reports: { type: "geojson", data: { type: "FeatureCollection", features: [] }, promoteId: "id" },
    },
    layers: [
      { id: "background", type: "background", paint: { "background-color": "#dde5ea" } },
      { id: "land", type: "fill", source: "voivodeships", paint: { "fill-color": "#f7f5f0" } },
      { id: "county-lines", type: "line", source: "counties", minzoom: 6,
        paint: { "line-color": "#b9b1a1", "line-width": 0.8 } },
      { id: "voivodeship-lines", type: "line", source: "voivodeships",
        paint: { "line-color": "#7d7464", "line-width": 1.5 } },
      { id: "reports", type: "circle", source: "reports",
        paint: {
          "circle-color": ["match", ["get", "status"],
                           ...config.statuses.flatMap((s) => [s.id, s.colour]), "#555555"],
          "circle-radius": ["case", ["boolean", ["feature-state", "selected"], false], 11, 7],
          "circle-stroke-color": ["case", ["boolean", ["feature-state", "selected"], false], "#000000", "#ffffff"],
          "circle-stroke-width": ["case", ["boolean", ["feature-state", "selected"], false], 3, 1.5],
        } },
    ],
  };
}
