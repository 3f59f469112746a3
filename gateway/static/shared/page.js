// What every page of the app's own families shares (the citizen map, the officers' workbench):
// the page's texts and settings, which the server gives as JSON in data-messages and data-config
// (no inline script under the CSP), an element builder and a GraphQL client for /graphql.
// Each family's page.js re-exports these and adds its own.
const data = document.body.dataset;
export const config = JSON.parse(data.config || "{}");
const messages = JSON.parse(data.messages || "{}");

const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, name) => (name in values ? values[name] : `{${name}}`));

/** The text in the page's language (the msgid itself when the catalogue lacks it). */
export function t(text, values = {}) {
  const found = messages[text];
  return fill(typeof found === "string" && found ? found : text, values);
}

const pluralRules = new Intl.PluralRules(config.lang || "pl");

/** A text about `n` things in the page's language: the catalogue's plural form for `n` (the
 * server gives the forms by CLDR category, gateway/i18n.py `messages`), `{count}` filled with
 * `n` as the language writes numbers. Extracted with the keyword `tn:1,2`. */
export function tn(singular, plural, n, values = {}) {
  const forms = messages[singular];
  const text = forms && typeof forms === "object" ? forms[pluralRules.select(n)] || forms.other
    : (n === 1 ? singular : plural);
  return fill(text, { count: Number(n).toLocaleString(config.lang), ...values });
}

export const categories = new Map((config.categories || []).map((c) => [c.id, c]));
export const statuses = new Map((config.statuses || []).map((s) => [s.id, s]));

/** A GraphQL error: the first error's message, its `extensions.code` and its extensions. */
export class ApiError extends Error {
  constructor(message, code, extensions) {
    super(message);
    this.code = code;
    this.extensions = extensions || {};
  }
}

/** A GraphQL call (with `headers` added); resolves to `data`, rejects with an ApiError. */
export async function graphql(query, variables = {}, headers = {}) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors && body.errors.length) {
    const first = body.errors[0];
    throw new ApiError(first.message, first.extensions && first.extensions.code, first.extensions);
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

/** A date and time in the page's language. */
export function formatDateTime(iso, dateStyle = "medium") {
  return new Date(iso).toLocaleString(config.lang, { dateStyle, timeStyle: "short" });
}
