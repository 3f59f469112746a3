// The filters (category, status, time window) of the map: kept in the page's URL, so that a
// view can be shared as a link, and applied through the tiles' query parameters
// (tiles/filters.py: categories, statuses, from, to).
import { config, isoDay } from "./page.js";

const WINDOWS = { "7d": 7, "30d": 30, "3m": 91, "1y": 365 };

export function readState(search = window.location.search) {
  const params = new URLSearchParams(search);
  const list = (name) => (params.get(name) || "").split(",").filter(Boolean);
  const known = (values, ids) => values.filter((v) => ids.has(v));
  return {
    categories: known(list("categories"), new Set(config.categories.map((c) => c.id))),
    statuses: known(list("statuses"), new Set(config.statuses.map((s) => s.id))),
    window: params.get("window") || "",
    from: params.get("from") || "",
    to: params.get("to") || "",
  };
}

/** The tiles' query string for a filter state ("" when it filters nothing). */
export function tileQuery(state, today = new Date()) {
  const params = new URLSearchParams();
  if (state.categories.length) params.set("categories", [...state.categories].sort().join(","));
  if (state.statuses.length) params.set("statuses", [...state.statuses].sort().join(","));
  if (state.window in WINDOWS) {
    const from = new Date(today);
    from.setDate(from.getDate() - WINDOWS[state.window]);
    params.set("from", isoDay(from));
  } else if (state.window === "range") {
    if (state.from) params.set("from", state.from);
    if (state.to) params.set("to", state.to);
  }
  return params.toString();
}

/** The page's URL carries the state (and keeps its other parameters and the map's #hash). */
export function writeState(state) {
  const params = new URLSearchParams(window.location.search);
  for (const name of ["categories", "statuses", "window", "from", "to"]) params.delete(name);
  if (state.categories.length) params.set("categories", state.categories.join(","));
  if (state.statuses.length) params.set("statuses", state.statuses.join(","));
  if (state.window) params.set("window", state.window);
  if (state.window === "range" && state.from) params.set("from", state.from);
  if (state.window === "range" && state.to) params.set("to", state.to);
  const search = params.toString();
  history.replaceState(null, "", `${window.location.pathname}${search ? `?${search}` : ""}${window.location.hash}`);
}
