// What every citizen page shares: its texts (gettext domain `map`, given by the server as JSON in
// data-messages), the catalogue (data-config) and a GraphQL client for /graphql.
const data = document.body.dataset;
export const config = JSON.parse(data.config);
const messages = JSON.parse(data.messages);

/** The text in the page's language (the msgid itself when the catalogue lacks it). */
export function t(text, values = {}) {
  const found = messages[text] || text;
  return found.replace(/\{(\w+)\}/g, (_, name) => (name in values ? values[name] : `{${name}}`));
}

export const categories = new Map(config.categories.map((c) => [c.id, c]));
export const statuses = new Map(config.statuses.map((s) => [s.id, s]));

/** A GraphQL call; resolves to `data`, rejects with an Error whose `code` is the first error's. */
export async function gql(query, variables = {}) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors && body.errors.length) {
    const error = new Error(body.errors[0].message);
    error.code = body.errors[0].extensions && body.errors[0].extensions.code;
    throw error;
  }
  return body.data;
}

/** A new element: el("p", {className: "x"}, "text", child...). */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "dataset") Object.assign(node.dataset, value);
    else if (name in node) node[name] = value;
    else node.setAttribute(name, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

/** A date (YYYY-MM-DD or YYYY-MM) in the page's language. */
export function formatDate(text) {
  const parts = text.split("-").map(Number);
  const options = parts.length === 2 ? { year: "numeric", month: "long" }
    : { year: "numeric", month: "long", day: "numeric" };
  return new Date(Date.UTC(parts[0], parts[1] - 1, parts[2] || 1)).toLocaleDateString(config.lang,
    { ...options, timeZone: "UTC" });
}

export function formatDateTime(iso) {
  return new Date(iso).toLocaleString(config.lang, { dateStyle: "long", timeStyle: "short" });
}

/** Local YYYY-MM-DD of a Date. */
export function isoDay(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}
