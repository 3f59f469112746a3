// What the staff sign-in pages share: the token's place (the staff pages read it there), the
// page's texts and settings (data- attributes: no inline script under the CSP), the `next` rule.
import { t } from "../shared/page.js";

export { config } from "../shared/page.js";
export const TOKEN_KEY = "threatmap.staff.token";
export const FLOW_KEY = "threatmap.staff.oidc";

export const say = (id) => t(id);

// Where to go after signing in: only a path of this origin under /staff; else /staff.
export function safeNext(value) {
  if (typeof value !== "string" || !value.startsWith("/staff") || value.includes("\\")) return "/staff";
  try {
    const url = new URL(value, window.location.origin);
    const path = url.pathname;
    if (url.origin !== window.location.origin) return "/staff";
    if (path !== "/staff" && !path.startsWith("/staff/")) return "/staff";
    if (path.startsWith("/staff/sign-in") || path.startsWith("/staff/auth/")) return "/staff";
    return path + url.search + url.hash;
  } catch {
    return "/staff";
  }
}

export function showError(text) {
  const status = document.getElementById("sign-in-status");
  status.textContent = text;
  status.classList.add("error");
  status.setAttribute("role", "alert");
}

export function signedIn(token, next) {
  window.sessionStorage.setItem(TOKEN_KEY, token);
  window.location.replace(safeNext(next));
}
