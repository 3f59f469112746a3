"""The officers' sign-in (issue 13, point 6): the developer sign-in, offered only to a request
from the machine itself to a server listening on loopback (never through a proxy, never with
a public address configured), and the OpenID Connect sign-in (authorization code + PKCE S256)
through a provider run by the test: discovery, JWKS, an authorization endpoint, and a token
endpoint that checks the code verifier and signs RS256 ID tokens with a generated key."""

import asyncio
import base64
import contextlib
import hashlib
import json
import secrets
import time
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import psycopg
import pytest
from asgi_lifespan import LifespanManager
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from gateway.app import create_app
from gateway.settings import Settings
from tests.support import (
    CHROMIUM,
    NGINX,
    WARSAW,
    app_in_thread,
    free_port,
    gql,
    insert_report,
    launch_chromium,
    nginx_running,
    served,
    wait_in_page,
)

CLIENT_ID = "threatmap-staff"
STRONG = "k" * 48
TOKEN_KEY = "threatmap.staff.token"
STATUS = "document.getElementById('sign-in-status').textContent"
WORK_LIST = "{ staffReports(first: 50) { totalCount edges { node { id description } } } }"


@contextlib.asynccontextmanager
async def local_client(settings: Settings, peer: str = "127.0.0.1", host: str = "127.0.0.1:8000"
                       ) -> AsyncIterator[httpx.AsyncClient]:
    """The app, reached from `peer` at `host` (the address the request arrives at)."""
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=120, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=(peer, 50000))
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as http:
            yield http


async def dev_sign_in(http: httpx.AsyncClient, role: str, unit: str | None = None,
                      **headers: str) -> httpx.Response:
    return await http.post("/staff/sign-in/dev", json={"role": role, "unit": unit}, headers=headers)


# -- the developer sign-in ------------------------------------------------------------------------
async def test_on_loopback_the_form_is_offered_and_its_token_works(
        settings: Settings, app_conn: psycopg.Connection, clean_reports: None) -> None:
    warsaw = str(insert_report(app_conn))
    async with local_client(settings) as http:
        page = await http.get("/staff/sign-in")
        assert page.status_code == 200 and 'id="dev-form"' in page.text
        assert '<option value="kpp-1405">' in page.text and 'lang="pl"' in page.text
        assert "Logowanie deweloperskie" in page.text
        english = await http.get("/staff/sign-in", headers={"Accept-Language": "en"})
        assert "Developer sign-in" in english.text
        answer = await dev_sign_in(http, "officer", "kpp-1405")
        assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
        body = await gql(http, WORK_LIST, None, answer.json()["token"])
        assert [e["node"]["id"] for e in body["data"]["staffReports"]["edges"]] == [warsaw]
        other = (await dev_sign_in(http, "officer", "kpp-1201")).json()["token"]
        krakow = await gql(http, WORK_LIST, None, other)
        assert krakow["data"]["staffReports"]["totalCount"] == 0
        analyst = (await dev_sign_in(http, "analyst", "kpp-1405")).json()["token"]
        assert jwt.decode(analyst, options={"verify_signature": False}).get("unit") is None


@pytest.mark.parametrize(("body", "headers", "status", "reason"), [
    ({"role": "officer"}, {}, 422, "unit: an officer"),
    ({"role": "officer", "unit": "kpp-9999"}, {}, 422, "no police unit"),
    ({"role": "chief"}, {}, 422, "role: one of"),
    ({"role": "admin"}, {"Origin": "https://evil.example"}, 403, "another site"),
])
async def test_the_developer_sign_in_refuses(settings: Settings, body: dict, headers: dict, status: int,
                                             reason: str) -> None:
    async with local_client(settings) as http:
        answer = await http.post("/staff/sign-in/dev", json=body, headers=headers)
        assert answer.status_code == status and reason in answer.json()["error"]
        form = await http.post("/staff/sign-in/dev", data={"role": "admin"})
        assert form.status_code == 415   # a form post (no preflight from another site) is not taken


OFF_LOOPBACK = [
    ("a peer on the network", {}, {"peer": "10.1.2.3"}, {}),
    ("a proxy's X-Forwarded-For", {}, {}, {"X-Forwarded-For": "203.0.113.9"}),
    ("a proxy's Forwarded", {}, {}, {"Forwarded": "for=203.0.113.9"}),
    ("a public Host", {"allowed_hosts": ["map.example.org"]}, {"host": "map.example.org"}, {}),
    ("listening on every interface", {"host": "0.0.0.0", "jwt_secret": STRONG}, {}, {}),
    ("trusted proxies configured", {"trusted_proxies": ["127.0.0.1"]}, {}, {}),
    ("a public URL", {"public_url": "https://map.example.org"}, {}, {}),
    ("switched off", {"dev_sign_in": False}, {}, {}),
]


@pytest.mark.parametrize(("case", "changes", "reach", "headers"), OFF_LOOPBACK,
                         ids=[c[0] for c in OFF_LOOPBACK])
async def test_off_loopback_there_is_no_developer_sign_in(
        settings: Settings, case: str, changes: dict, reach: dict, headers: dict) -> None:
    async with local_client(settings.model_copy(update=changes), **reach) as http:
        page = await http.get("/staff/sign-in", headers=headers)
        assert page.status_code in (200, 307), page.text
        if page.status_code == 200:
            assert "dev-form" not in page.text and "kpp-1405" not in page.text
        answer = await dev_sign_in(http, "admin", **headers)
        assert answer.status_code in (404, 307), answer.text
        assert "token" not in answer.text


async def test_a_real_server_on_loopback_offers_it(settings: Settings) -> None:
    def sign_in() -> tuple[int, int]:
        with app_in_thread(settings) as base, httpx.Client(base_url=base) as http:
            page = http.get("/staff/sign-in")
            answer = http.post("/staff/sign-in/dev", json={"role": "analyst"})
            return (page.text.count('id="dev-form"'), answer.status_code)
    assert await asyncio.to_thread(sign_in) == (1, 200)


# as a careless deployment would put nginx in front of a server left on loopback (no
# THREATMAP_TRUSTED_PROXIES)
PROXY_SERVER = """
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass {upstream};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
"""


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (.ci/run installs it)")
async def test_through_a_proxy_on_the_same_machine_it_is_not_offered(settings: Settings) -> None:
    def through_nginx() -> tuple[bool, int, int]:
        with (app_in_thread(settings) as upstream,
              nginx_running(lambda _, port: PROXY_SERVER.format(port=port, upstream=upstream),
                            ready_path="/health") as nginx,
              httpx.Client(base_url=nginx) as http):
            page = http.get("/staff/sign-in")
            answer = http.post("/staff/sign-in/dev", json={"role": "admin"})
            return "dev-form" in page.text, page.status_code, answer.status_code
    assert await asyncio.to_thread(through_nginx) == (False, 200, 404)


# -- OpenID Connect: authorization code + PKCE ---------------------------------------------------
@dataclass
class Provider:
    """A minimal OpenID provider: discovery, JWKS, an authorization endpoint that signs in the
    user the test chose (or answers with an error), and a token endpoint that checks the code,
    the client, the redirect URI and the PKCE verifier, and signs RS256 ID tokens."""
    issuer: str
    key: Any = field(default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048))
    user: dict[str, Any] = field(default_factory=lambda: {
        "sub": "u-1", "preferred_username": "jan.kowalski", "threatmap_role": ["officer"],
        "threatmap_unit": "kpp-1405"})
    deny: bool = False
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    authorizations: list[dict[str, str]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def discovery(request: Request) -> Response:
            return JSONResponse({"issuer": self.issuer, "jwks_uri": f"{self.issuer}/jwks",
                                 "authorization_endpoint": f"{self.issuer}/authorize",
                                 "token_endpoint": f"{self.issuer}/token",
                                 "code_challenge_methods_supported": ["S256"]})

        async def jwks(request: Request) -> Response:
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
            return JSONResponse({"keys": [jwk | {"kid": "k1", "use": "sig", "alg": "RS256"}]})

        async def authorize(request: Request) -> Response:
            q = dict(request.query_params)
            self.authorizations.append(q)
            target = q["redirect_uri"]
            if self.deny:
                return RedirectResponse(f"{target}?" + urllib.parse.urlencode(
                    {"error": "access_denied", "error_description": "The user said no",
                     "state": q["state"]}), 302)
            assert q["response_type"] == "code" and q["client_id"] == CLIENT_ID
            assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
            code = secrets.token_urlsafe(24)
            self.codes[code] = q
            query = urllib.parse.urlencode({"code": code, "state": q["state"]})
            return RedirectResponse(f"{target}?{query}", 302)

        async def token(request: Request) -> Response:
            form = dict(await request.form())
            asked = self.codes.pop(form.get("code", ""), None)
            if asked is None or form.get("client_id") != CLIENT_ID \
                    or form.get("redirect_uri") != asked["redirect_uri"]:
                return JSONResponse({"error": "invalid_grant", "error_description": "unknown code"}, 400)
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != asked["code_challenge"]:
                return JSONResponse({"error": "invalid_grant",
                                     "error_description": "PKCE verification failed"}, 400)
            now = int(time.time())
            id_token = jwt.encode({"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 600,
                                   "nonce": asked["nonce"]} | self.user,
                                  self.key, algorithm="RS256", headers={"kid": "k1"})
            return JSONResponse({"access_token": "opaque", "token_type": "Bearer", "expires_in": 600,
                                 "id_token": id_token})

        return Starlette(routes=[Route("/.well-known/openid-configuration", discovery),
                                 Route("/jwks", jwks), Route("/authorize", authorize),
                                 Route("/token", token, methods=["POST"])])


@pytest.fixture
async def provider() -> AsyncIterator[Provider]:
    port = free_port()
    found = Provider(issuer=f"http://127.0.0.1:{port}")
    async with served(found.app(), port):
        yield found


def with_provider(settings: Settings, provider: Provider) -> Settings:
    return settings.model_copy(update={
        "oidc_discovery_url": f"{provider.issuer}/.well-known/openid-configuration",
        "oidc_client_id": CLIENT_ID}).checked()


async def test_the_token_relay_checks_the_verifier(settings: Settings, provider: Provider) -> None:
    async with local_client(with_provider(settings, provider)) as http:
        page = await http.get("/staff/sign-in")
        assert 'id="provider-sign-in"' in page.text
        config = json.loads(page.text.split('data-config="')[1].split('"')[0].replace("&#34;", '"'))
        assert config["provider"]["authorizationEndpoint"] == f"{provider.issuer}/authorize"
        assert config["redirectUri"] == "http://127.0.0.1:8000/staff/auth/callback"
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        async with httpx.AsyncClient(follow_redirects=False) as browser:
            answer = await browser.get(f"{provider.issuer}/authorize", params={
                "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": config["redirectUri"],
                "state": "s", "nonce": "n", "code_challenge": challenge, "code_challenge_method": "S256"})
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(answer.headers["location"]).query)["code"][0]
        wrong = await http.post("/staff/auth/token", json={"code": code, "codeVerifier": "x" * 43})
        assert wrong.status_code == 502 and "PKCE verification failed" in wrong.json()["error"]
        # The code was spent by the wrong try (as providers do): a new one, with the right verifier.
        async with httpx.AsyncClient(follow_redirects=False) as browser:
            answer = await browser.get(f"{provider.issuer}/authorize", params={
                "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": config["redirectUri"],
                "state": "s", "nonce": "n", "code_challenge": challenge, "code_challenge_method": "S256"})
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(answer.headers["location"]).query)["code"][0]
        right = await http.post("/staff/auth/token", json={"code": code, "codeVerifier": verifier})
        assert right.status_code == 200, right.text
        assert right.json()["role"] == "officer" and right.json()["unit"] == "kpp-1405"
        bad = await http.post("/staff/auth/token", json={"code": "c", "codeVerifier": "short"})
        assert bad.status_code == 422 and "codeVerifier" in bad.json()["error"]


async def test_without_a_provider_there_is_no_relay(settings: Settings) -> None:
    async with local_client(settings) as http:
        assert (await http.post("/staff/auth/token", json={"code": "c"})).status_code == 404
        assert 'id="provider-sign-in"' not in (await http.get("/staff/sign-in")).text


pytestmark_browser = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")


@pytestmark_browser
async def test_a_browser_signs_in_through_the_provider(
        settings: Settings, provider: Provider, app_conn: psycopg.Connection, clean_reports: None) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    warsaw = str(insert_report(app_conn, lon=WARSAW[0], lat=WARSAW[1]))
    insert_report(app_conn, lon=19.94, lat=50.06)   # Kraków: another unit's
    with app_in_thread(with_provider(settings, provider)) as base:
        async with playwright_api.async_playwright() as p:
            browser = await launch_chromium(p)
            try:
                page = await browser.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda error: errors.append(str(error)))
                await page.goto(f"{base}/staff/sign-in?next=/staff/reports%3Fstatus%3Dnew&lang=en")
                assert "dev-form" in await page.content()   # on loopback, both ways are offered
                await page.get_by_role("button", name="Sign in with the police account").click()
                await page.wait_for_url(f"{base}/staff/reports?status=new")
                token = await page.evaluate(f"sessionStorage.getItem('{TOKEN_KEY}')")
                assert token and await page.evaluate("sessionStorage.getItem('threatmap.staff.oidc')") is None
                assert provider.authorizations[0]["redirect_uri"] == f"{base}/staff/auth/callback"
                # The workbench, signed in through the provider: the unit's reports, no other.
                await page.goto(f"{base}/staff?lang=en")
                await wait_in_page(page, "document.getElementById('list').dataset.loaded !== undefined")
                listed = await page.evaluate(
                    "[...document.querySelectorAll('#list li.item')].map(li => li.id.slice(2))")
                assert listed == [warsaw]
                assert not errors, errors

                # A forged or replayed answer: the state is not this tab's.
                await page.goto(f"{base}/staff/auth/callback?code=abc&state=forged&lang=en")
                await wait_in_page(page, STATUS + ".includes('state')")
                assert await page.locator("#sign-in-again").is_visible()
                # The provider refuses: its error is on the page (a Polish browser: in Polish).
                provider.deny = True
                polish = await browser.new_page(locale="pl-PL")
                await polish.goto(f"{base}/staff/sign-in")
                await polish.get_by_role("button", name="Zaloguj się kontem policyjnym").click()
                await wait_in_page(polish, STATUS + ".includes('The user said no')")
                status = await polish.locator("#sign-in-status").inner_text()
                assert status.startswith("Dostawca tożsamości zgłosił błąd")
            finally:
                await browser.close()
        async with httpx.AsyncClient(base_url=base) as http:
            body = await gql(http, WORK_LIST, None, token)
    assert "errors" not in body, body
    assert [e["node"]["id"] for e in body["data"]["staffReports"]["edges"]] == [warsaw]


@pytestmark_browser
async def test_the_developer_sign_in_in_a_browser(settings: Settings) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    with app_in_thread(settings) as base:
        async with playwright_api.async_playwright() as p:
            browser = await launch_chromium(p)
            try:
                page = await browser.new_page()
                await page.goto(f"{base}/staff/sign-in?lang=pl&next=//evil.example/x")
                axe = pytest.importorskip("axe_playwright_python.async_playwright")
                results = await axe.Axe().run(page)
                serious = [f"{v['id']}: {v['help']}" for v in results.response["violations"]
                           if v["impact"] in ("serious", "critical")]
                assert not serious, serious
                await page.get_by_label("Rola").select_option("officer")
                await page.get_by_label("Jednostka Policji").select_option("kpp-1201")
                await page.get_by_label("Rola").focus()
                await page.keyboard.press("Tab")
                await page.keyboard.press("Tab")
                await page.keyboard.press("Enter")   # the keyboard alone signs in
                await page.wait_for_url(f"{base}/staff")   # not the other site `next` named
                token = await page.evaluate(f"sessionStorage.getItem('{TOKEN_KEY}')")
            finally:
                await browser.close()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["role"] == "officer" and claims["unit"] == "kpp-1201"
