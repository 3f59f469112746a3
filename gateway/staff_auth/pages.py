"""The officers' sign-in (issue 13, point 6): the page /staff/sign-in, the developer sign-in
(POST /staff/sign-in/dev, loopback only: gateway.staff_auth.loopback), and the OpenID Connect
sign-in (authorization code with PKCE S256) through the police identity provider.

The bearer token ends in the browser's sessionStorage under `threatmap.staff.token` (the staff
pages send it as `Authorization: Bearer`); nothing is kept on the server, so replicas need no
shared session store.

OpenID Connect, as a public client (no client secret: a browser cannot keep one), PKCE done in
the browser: the sign-in page makes `state`, `nonce` and the `code_verifier` and keeps them in
sessionStorage (this tab only, gone when it closes), sends the S256 challenge to the provider's
authorization endpoint; the callback page checks `state`, and posts the code and its verifier to
POST /staff/auth/token, which relays them to the provider's token endpoint (from discovery) and
answers with the ID token once it is verified like any bearer token (gateway.oidc); the page
checks the `nonce`. The relay, rather than the browser calling the token endpoint itself, keeps
the pages' Content-Security-Policy at `connect-src 'self'` and needs no CORS from the provider;
it holds no state, and the code is worthless without the verifier that only the tab knows.
The ID token is the bearer: its audience is always our client id (an access token's need not be).
"""

import asyncio
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from gateway import i18n
from gateway.graphql.auth import Role, mint_token, viewer_from_request
from gateway.graphql.errors import Unauthenticated
from gateway.oidc import DISCOVERY_TIMEOUT_S, OidcError, OidcVerifier
from gateway.settings import Settings
from gateway.staff_auth import loopback
from gateway.state import Runtime
from gateway.urls import public_base
from store import reference
from store.errors import DATABASE_UNAVAILABLE, RETRY_AFTER_S
from store.text import unfit_character

DOMAIN = "staff"
TEMPLATES = Path(__file__).with_name("templates")
CALLBACK_PATH = "/staff/auth/callback"
DEV_TOKEN_HOURS = 8
NO_STORE = {"Cache-Control": "no-store"}
MAX_BODY = 8192
CODE = re.compile(r"[\x21-\x7e]{1,2048}")             # printable ASCII, as OAuth codes are
VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")    # RFC 7636 section 4.1


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers={**NO_STORE, **headers})


async def _json_body(request: Request) -> dict[str, Any] | JSONResponse:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return _error(415, "Send the form as JSON (Content-Type: application/json).")
    body = await request.body()
    if len(body) > MAX_BODY:
        return _error(413, "The request is too large.")
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _error(400, "The body is not JSON.")
    return value if isinstance(value, dict) else _error(400, "The body must be a JSON object.")


def _same_origin(request: Request) -> bool:
    """A browser's cross-site POST carries the other site's Origin: refused."""
    origin = request.headers.get("origin")
    return origin is None or origin == str(request.base_url).rstrip("/")


@dataclass
class StaffAuthPages:
    settings: Settings
    oidc: OidcVerifier | None

    @cached_property
    def _environments(self) -> dict[str, jinja2.Environment]:
        return i18n.template_environments(TEMPLATES, DOMAIN)

    def dev_sign_in_offered(self, request: Request) -> bool:
        return loopback.configured(self.settings) and loopback.request_is_local(request)

    def _render(self, request: Request, template: str, config: dict[str, Any], **values: Any) -> Response:
        lang = i18n.negotiate(request)
        html = self._environments[lang].get_template(template).render(
            lang=lang, other_lang="en" if lang == "pl" else "pl",
            messages=json.dumps(i18n.messages(DOMAIN, lang), ensure_ascii=False),
            config=json.dumps(config | {"lang": lang}, ensure_ascii=False), **values)
        return HTMLResponse(html, headers={"Cache-Control": "no-store", "Vary": "Accept-Language, Cookie",
                                           "Content-Language": lang, "Referrer-Policy": "no-referrer"})

    async def _provider(self) -> dict[str, Any] | None:
        """The provider's endpoints, or None when no provider is configured."""
        if self.oidc is None:
            return None
        document = await self.oidc.document()
        return {"authorizationEndpoint": document.get("authorization_endpoint"),
                "clientId": self.oidc.client_id}

    async def sign_in_page(self, request: Request) -> Response:
        units: list[dict[str, Any]] = []
        dev = self.dev_sign_in_offered(request)
        problem = None
        if dev:
            try:
                runtime: Runtime = request.app.state.runtime
                units = [{"id": u["id"], "name": u["name"], "level": u["level"]}
                         for u in await reference.all_police_units(runtime.public_pool)]
            except DATABASE_UNAVAILABLE:
                problem = "database"
        try:
            provider = await self._provider()
        except OidcError:
            provider, problem = None, "provider"
        redirect_uri = public_base(self.settings, request) + CALLBACK_PATH
        return self._render(request, "sign_in.html",
                            {"dev": dev, "provider": provider, "redirectUri": redirect_uri},
                            dev=dev, units=units, provider=provider, problem=problem,
                            roles=[role.value for role in Role])

    async def callback_page(self, request: Request) -> Response:
        return self._render(request, "callback.html", {})

    async def dev_token(self, request: Request) -> Response:
        """POST {role, unit}: a token of this service (HS256) for that role and unit."""
        if not self.dev_sign_in_offered(request):
            return _error(404, "Not Found")
        if not _same_origin(request):
            return _error(403, "A sign-in from another site is refused.")
        body = await _json_body(request)
        if isinstance(body, JSONResponse):
            return body
        role, unit = body.get("role"), body.get("unit") or None
        if not isinstance(role, str) or role not in Role._value2member_map_:
            return _error(422, f"role: one of {', '.join(r.value for r in Role)}.")
        if role == Role.OFFICER and (not isinstance(unit, str) or unfit_character(unit) or len(unit) > 100):
            return _error(422, "unit: an officer signs in for a police unit (its id, e.g. kpp-1405).")
        if role != Role.OFFICER:
            unit = None
        elif unit is not None:
            try:
                runtime: Runtime = request.app.state.runtime
                known = await reference.police_units(runtime.public_pool, [unit])
            except DATABASE_UNAVAILABLE:
                return _error(503, "The database is unavailable; try again later.",
                              **{"Retry-After": str(RETRY_AFTER_S)})
            if not known:
                return _error(422, f"unit: no police unit {unit!r}.")
        token = mint_token(self.settings.jwt_secret, Role(role), f"dev-{role}", unit, DEV_TOKEN_HOURS)
        return JSONResponse({"token": token, "expiresIn": DEV_TOKEN_HOURS * 3600}, headers=NO_STORE)

    async def provider_token(self, request: Request) -> Response:
        """POST {code, codeVerifier}: the provider's ID token for them (the code exchanged at its
        token endpoint with our redirect URI and client id), verified before it is handed on."""
        if self.oidc is None:
            return _error(404, "Not Found")
        if not _same_origin(request):
            return _error(403, "A sign-in from another site is refused.")
        body = await _json_body(request)
        if isinstance(body, JSONResponse):
            return body
        code, verifier = body.get("code"), body.get("codeVerifier")
        if not isinstance(code, str) or not CODE.fullmatch(code):
            return _error(422, "code: the authorization code the provider sent back.")
        if not isinstance(verifier, str) or not VERIFIER.fullmatch(verifier):
            return _error(422, "codeVerifier: 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636).")
        try:
            document = await self.oidc.document()
            answer = await asyncio.to_thread(self._exchange, document.get("token_endpoint"), {
                "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                "client_id": self.oidc.client_id,
                "redirect_uri": public_base(self.settings, request) + CALLBACK_PATH})
        except OidcError as error:
            return _error(502, f"The identity provider refused or could not be reached: {error}")
        id_token = answer.get("id_token")
        if not isinstance(id_token, str):
            return _error(502, "The identity provider sent no ID token (is the `openid` scope allowed?).")
        try:
            viewer = await viewer_from_request(self.settings.jwt_secret, f"Bearer {id_token}", self.oidc)
        except Unauthenticated as error:
            return _error(401, error.message)
        assert viewer is not None
        return JSONResponse({"token": id_token, "role": viewer.role.value, "unit": viewer.unit,
                             "expiresIn": answer.get("expires_in")}, headers=NO_STORE)

    @staticmethod
    def _exchange(endpoint: object, form: dict[str, str]) -> dict[str, Any]:
        if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
            raise OidcError("its discovery document names no token_endpoint")
        data = urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(endpoint, data=data, method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=DISCOVERY_TIMEOUT_S) as answer:
                found = json.loads(answer.read(1_000_000))
        except urllib.error.HTTPError as error:
            try:
                detail = json.loads(error.read(10_000))
                reason = f"{detail.get('error')}: {detail.get('error_description', '')}".strip(": ")
            except (ValueError, AttributeError):
                reason = f"HTTP {error.code}"
            raise OidcError(reason) from None
        except (OSError, ValueError) as error:
            raise OidcError(str(error)) from None
        if not isinstance(found, dict):
            raise OidcError("the token endpoint's answer is not a JSON object")
        return found


def staff_auth_routes(pages: StaffAuthPages) -> list[Route]:
    return [
        Route("/staff/sign-in", pages.sign_in_page),
        Route("/staff/sign-in/dev", pages.dev_token, methods=["POST"]),
        Route(CALLBACK_PATH, pages.callback_page),
        Route("/staff/auth/token", pages.provider_token, methods=["POST"]),
    ]
