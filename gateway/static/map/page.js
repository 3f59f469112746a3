// What every citizen page shares: texts (gettext domain `map`), the catalogue (data-config) and
// the GraphQL client, from ../shared/page.js, and the citizen's date formats.
import { config, formatDateTime as dateTime } from "../shared/page.js";

export { categories, config, el, graphql as gql, statuses, t, tn } from "../shared/page.js";

/** A date (YYYY-MM-DD or YYYY-MM) in the page's language. */
export function formatDate(text) {
  const parts = text.split("-").map(Number);
  const options = parts.length === 2 ? { year: "numeric", month: "long" }
    : { year: "numeric", month: "long", day: "numeric" };
  return new Date(Date.UTC(parts[0], parts[1] - 1, parts[2] || 1)).toLocaleDateString(config.lang,
    { ...options, timeZone: "UTC" });
}

export function formatDateTime(iso) {
  return dateTime(iso, "long");
}

/** Local YYYY-MM-DD of a Date. */
export function isoDay(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}
