// /staff/sign-in: the developer form (loopback only) and the police identity provider's button
// (authorization code + PKCE S256; state, nonce and verifier kept in this tab's sessionStorage).
import { FLOW_KEY, config, say, safeNext, showError, signedIn } from "./common.js";

const next = safeNext(new URLSearchParams(window.location.search).get("next") || "/staff");

function base64url(bytes) {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const random = (n) => base64url(crypto.getRandomValues(new Uint8Array(n)));

async function providerSignIn() {
  const provider = config.provider;
  if (!provider || !provider.authorizationEndpoint) {
    showError(say("sign_in.provider_unreachable"));
    return;
  }
  const verifier = random(32);   // 43 characters (RFC 7636: 43-128)
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const flow = { state: random(16), nonce: random(16), verifier, next };
  window.sessionStorage.setItem(FLOW_KEY, JSON.stringify(flow));
  const url = new URL(provider.authorizationEndpoint);
  url.search = new URLSearchParams({
    response_type: "code", client_id: provider.clientId, redirect_uri: config.redirectUri,
    scope: "openid profile", state: flow.state, nonce: flow.nonce,
    code_challenge: challenge, code_challenge_method: "S256", ui_locales: config.lang,
  }).toString();
  window.location.assign(url.toString());
}

async function devSignIn(event) {
  event.preventDefault();
  const form = event.target;
  const role = form.elements.role.value;
  const body = { role, unit: role === "officer" ? form.elements.unit.value : null };
  try {
    const answer = await fetch("/staff/sign-in/dev", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const found = await answer.json();
    if (!answer.ok) {
      showError(`${say("sign_in.refused")} ${found.error || answer.status}`);
      return;
    }
    signedIn(found.token, next);
  } catch {
    showError(say("sign_in.network_error"));
  }
}

const button = document.getElementById("provider-sign-in");
if (button) button.addEventListener("click", () => providerSignIn().catch(() => showError(say("sign_in.network_error"))));

const form = document.getElementById("dev-form");
if (form) {
  const role = form.elements.role;
  const unit = form.elements.unit;
  const follow = () => { unit.disabled = role.value !== "officer"; };
  role.addEventListener("change", follow);
  follow();
  form.addEventListener("submit", devSignIn);
}
