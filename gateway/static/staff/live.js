// Live changes of the unit's reports: the staff subscription `staffReportEvents` over
// graphql-transport-ws, the bearer token in connection_init's payload. Changes that arrive close
// together are gathered (one reload for a burst); the socket reconnects after a pause.
import { t, token } from "./page.js";

const SUBSCRIPTION = "subscription { staffReportEvents { kind reportId status } }";
const GATHER_MS = 400;

export function startLive(onChanges, indicator = document.getElementById("live")) {
  let pending = 0;
  let timer = null;
  let retry = 1000;

  function changed() {
    pending += 1;
    if (timer) return;
    timer = setTimeout(() => {
      const count = pending;
      pending = 0;
      timer = null;
      onChanges(count);
    }, GATHER_MS);
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${window.location.host}/graphql`, "graphql-transport-ws");
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ type: "connection_init", payload: { Authorization: `Bearer ${token()}` } }));
    });
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "connection_ack") {
        retry = 1000;
        socket.send(JSON.stringify({ id: "live", type: "subscribe", payload: { query: SUBSCRIPTION } }));
        document.body.dataset.live = "on";
        if (indicator) indicator.textContent = t("Live: new reports appear by themselves");
      } else if (message.type === "next" && message.payload && message.payload.data) {
        changed();
      } else if (message.type === "ping") {
        socket.send(JSON.stringify({ type: "pong" }));
      } else if (message.type === "error") {
        document.body.dataset.live = "refused";
      }
    });
    socket.addEventListener("close", (event) => {
      const refused = document.body.dataset.live === "refused" || event.code === 4403 || event.code === 4401;
      document.body.dataset.live = refused ? "refused" : "off";
      if (indicator) indicator.textContent = refused ? "" : t("Live updates interrupted: reconnecting…");
      if (refused) return;
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    });
  }

  connect();
}
