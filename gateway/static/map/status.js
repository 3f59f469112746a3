// The status page /r/<token>: the report's status and history as its citizen may see them
// (reportByToken: changes and their dates; no officer names, no internal comments).
import { categories, config, el, formatDate, formatDateTime, gql, statuses, t } from "./page.js";

const QUERY = `query Status($token: String!) { reportByToken(token: $token) {
  status occurredOn datePrecision category { id } areas { name level } policeUnit { name }
  history { kind fromStatus toStatus at } } }`;
const result = document.getElementById("status-result");
const statusName = (id) => (statuses.get(id) || { name: id }).name;

function event(item) {
  switch (item.kind) {
    case "created": return t("Report received");
    case "status_changed": return t("Status changed to: {status}", { status: statusName(item.toStatus) });
    case "assigned": return t("Handed to another police unit");
    case "information_added": return t("You added information");
    case "contact_erased": return t("Your contact was erased after the retention period");
    default: return item.kind.replace(/_/g, " ");
  }
}

async function show(token) {
  result.replaceChildren(el("p", {}, t("Loading…")));
  let report;
  try {
    report = (await gql(QUERY, { token })).reportByToken;
  } catch (failure) {
    result.replaceChildren(el("p", { className: "error" }, t("The status could not be read: {reason}",
      { reason: failure.message })));
    return;
  }
  if (!report) {
    result.replaceChildren(el("p", { className: "error" }, t("No report has this token. Check that it was copied whole.")));
    return;
  }
  const status = statuses.get(report.status);
  const badge = el("span", { className: "badge" }, statusName(report.status));
  if (status) badge.style.background = status.colour;
  result.replaceChildren(
    el("h2", {}, t("Status"), ": ", badge),
    el("dl", {},
      el("dt", {}, t("Category")), el("dd", {}, (categories.get(report.category.id) || { name: report.category.id }).name),
      el("dt", {}, t("Date")), el("dd", {}, formatDate(report.occurredOn)),
      el("dt", {}, t("Area")), el("dd", {}, report.areas.map((a) => a.name).join(", ") || "–"),
      el("dt", {}, t("Police unit")), el("dd", {}, (report.policeUnit && report.policeUnit.name) || t("not assigned yet"))),
    el("h2", {}, t("History")),
    el("ol", { className: "history" }, ...(report.history || []).map((item) =>
      el("li", {}, el("time", { dateTime: item.at }, formatDateTime(item.at)), " ", event(item)))));
}

const input = document.getElementById("token-input");
const fromPath = decodeURIComponent(window.location.pathname.replace(/^\/r\/?/, ""));
if (fromPath) {
  input.value = fromPath;
  show(fromPath);
}
document.getElementById("token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const token = input.value.trim();
  if (!token) return;
  history.replaceState(null, "", `/r/${encodeURIComponent(token)}?lang=${config.lang}`);
  show(token);
});
