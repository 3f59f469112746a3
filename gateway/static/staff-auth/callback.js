// /staff/auth/callback: the provider sent the browser back with a code (or an error). The state
// must be the one this tab sent; the code and this tab's verifier are exchanged through
// POST /staff/auth/token; the ID token's nonce must be this tab's. Then the token is stored.
import { FLOW_KEY, say, showError, signedIn } from "./common.js";

function claims(token) {
  const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  const text = atob(part + "=".repeat((4 - (part.length % 4)) % 4));
  return JSON.parse(decodeURIComponent(Array.from(text, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`).join("")));
}

function fail(text) {
  showError(text);
  document.getElementById("sign-in-again").hidden = false;
}

async function finish() {
  const params = new URLSearchParams(window.location.search);
  const saved = window.sessionStorage.getItem(FLOW_KEY);
  window.sessionStorage.removeItem(FLOW_KEY);   // one use only
  window.history.replaceState(null, "", window.location.pathname);   // the code leaves the address bar
  if (params.has("error")) {
    const detail = params.get("error_description") || params.get("error");
    fail(`${say("sign_in.provider_error")} ${detail}`);
    return;
  }
  const flow = saved ? JSON.parse(saved) : null;
  if (!flow || !params.get("state") || params.get("state") !== flow.state) {
    fail(say("sign_in.state_mismatch"));
    return;
  }
  const answer = await fetch("/staff/auth/token", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ code: params.get("code") || "", codeVerifier: flow.verifier }),
  });
  const found = await answer.json();
  if (!answer.ok) {
    fail(`${say("sign_in.refused")} ${found.error || answer.status}`);
    return;
  }
  if (claims(found.token).nonce !== flow.nonce) {
    fail(say("sign_in.nonce_mismatch"));
    return;
  }
  signedIn(found.token, flow.next);
}

finish().catch(() => fail(say("sign_in.network_error")));
