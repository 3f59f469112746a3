// The status page /r/<token>: the report's status and history as its citizen may see them
// (reportByToken's statusHistory: each status and its date; no officer, no hand-over, no comment).
import { categories, config, el, formatDate, formatDateTime, gql, statuses, t } from "./page.js";

const QUERY = `query Status($token: String!) { reportByToken(token: $token) {
  status occurredOn datePrecision category { id } areas { name level } policeUnit { name }
  statusHistory { at status { id } } } }`;
const result = document.getElementById("status-result");
const statusName = (id) => (statuses.get(id) || { name: id }).name;

/** One entry of the status history: the first is the report's receipt. */
function change(item, index) {
  return index === 0 ? t("Report received: {status}", { status: statusName(item.status.id) })
    : t("Status changed to: {status}", { status: statusName(item.status.id) });
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
    el("ol", { className: "history" }, ...(report.statusHistory || []).map((item, index) =>
      el("li", {}, el("time", { dateTime: item.at }, formatDateTime(item.at)), " ", change(item, index)))));
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
