"""Partners and their API keys (issue 15, point 5): the `threatmap partner` command, keys stored
hashed and shown once, revocation, suspension, and the request helper of the partner doors."""

import re

import httpx
import psycopg
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.cli import main
from gateway.partner_auth import PartnerAuth, PartnerKeyRejected, PartnerRateLimited, partner_from_request
from store import partners
from store.locations import DatabaseUrls

KEY = re.compile(r"tm_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{43}")


def run(urls: DatabaseUrls, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
        *argv: str) -> str:
    monkeypatch.setenv("THREATMAP_DATABASE_URL", urls.app)
    main(list(argv))
    return capsys.readouterr().out


def test_partner_commands_show_a_key_once_and_store_only_its_hash(
        urls: DatabaseUrls, app_conn: psycopg.Connection, monkeypatch, capsys) -> None:
    out = run(urls, monkeypatch, capsys, "partner", "add", "Straż Miejska Testowo",
              "--kind", "municipal_guard")
    partner_id = int(re.search(r"partner (\d+) added", out).group(1))
    first = KEY.search(out).group(0)
    stored = app_conn.execute("SELECT hash, prefix FROM core.partner_keys WHERE partner_id = %s",
                              [partner_id]).fetchall()
    assert stored == [(partners.key_hash(first), first[:11])]
    assert first.encode() not in b"".join(bytes(row[0]) for row in stored)

    out = run(urls, monkeypatch, capsys, "partner", "key", "issue", str(partner_id))
    second = KEY.search(out).group(0)
    assert second != first
    listing = run(urls, monkeypatch, capsys, "partner", "list")
    assert "Straż Miejska Testowo" in listing and first[:11] in listing and second[:11] in listing
    assert first not in listing and second not in listing   # shown once: never listed again

    key_id = app_conn.execute("SELECT id FROM core.partner_keys WHERE prefix = %s",
                              [first[:11]]).fetchone()[0]
    assert f"key {key_id} revoked" in run(urls, monkeypatch, capsys, "partner", "key", "revoke",
                                          str(key_id))
    assert "revoked already" in run(urls, monkeypatch, capsys, "partner", "key", "revoke", str(key_id))
    assert "revoked" in run(urls, monkeypatch, capsys, "partner", "list")


def test_bad_partner_commands_say_why(urls: DatabaseUrls, monkeypatch, capsys) -> None:
    monkeypatch.setenv("THREATMAP_DATABASE_URL", urls.app)
    with pytest.raises(SystemExit, match="no partner 999999"):
        main(["partner", "key", "issue", "999999"])
    with pytest.raises(SystemExit, match="no key 999999"):
        main(["partner", "key", "revoke", "999999"])
    with pytest.raises(SystemExit):   # argparse: not one of the kinds
        main(["partner", "add", "X", "--kind", "police"])


async def test_partner_for_key_accepts_only_valid_unrevoked_keys_of_active_partners(
        urls: DatabaseUrls, app_conn: psycopg.Connection) -> None:
    partner_id, key = partners.add_partner(app_conn, "Fundacja Test", "ngo")
    other = partners.issue_key(app_conn, partner_id)
    async with await psycopg.AsyncConnection.connect(urls.app, autocommit=True) as conn:
        found = await partners.partner_for_key(conn, key)
        assert found is not None and (found.id, found.kind, found.source) == (partner_id, "ngo", "ngo")
        # the right prefix with a wrong secret, no prefix, garbage, a key of another length
        for wrong in (key[:-1] + ("A" if key[-1] != "A" else "B"), key[12:], "tm_", "", "x" * 500,
                      key + "x", key.replace("tm_", "TM_")):
            assert await partners.partner_for_key(conn, wrong) is None, wrong
        assert app_conn.execute("SELECT last_used_at IS NOT NULL FROM core.partner_keys WHERE id = %s",
                                [found.key_id]).fetchone()[0]
        partners.revoke_key(app_conn, found.key_id)
        assert await partners.partner_for_key(conn, key) is None
        assert await partners.partner_for_key(conn, other) is not None
        partners.set_active(app_conn, partner_id, False)
        assert await partners.partner_for_key(conn, other) is None
        partners.set_active(app_conn, partner_id, True)
        assert (await partners.partner_for_key(conn, other)).id == partner_id


def test_a_platform_reports_as_a_partner_platform() -> None:
    assert partners.Partner(1, "P", "platform").source == "partner_platform"
    assert partners.Partner(1, "G", "municipal_guard").source == "municipal_guard"


def test_partner_report_sources_are_allowed(app_conn: psycopg.Connection) -> None:
    sources = app_conn.execute("SELECT core.report_sources()").fetchone()[0]
    assert set(partners.SOURCE_BY_KIND.values()) <= set(sources)


async def test_partner_from_request_reads_every_place_a_key_may_be(
        urls: DatabaseUrls, app_conn: psycopg.Connection) -> None:
    """The helper in a small app of its own: the key in the query, a form field, Bearer, X-Api-Key;
    a bad key and the per-key rate limit are told apart from no key."""
    from types import SimpleNamespace

    from psycopg_pool import AsyncConnectionPool

    async def who(request: Request) -> JSONResponse:
        try:
            partner = await partner_from_request(request)
        except PartnerKeyRejected:
            return JSONResponse({"error": "rejected"}, 403)
        except PartnerRateLimited:
            return JSONResponse({"error": "limited"}, 429)
        return JSONResponse({"partner": partner.id if partner else None})

    partner_id, key = partners.add_partner(app_conn, "Gmina Testowa", "local_government")
    app = Starlette(routes=[Route("/who", who, methods=["GET", "POST"])])
    async with AsyncConnectionPool(urls.app, min_size=1, max_size=2, open=False) as pool:
        app.state.runtime = SimpleNamespace(app_pool=pool)
        app.state.partner_auth = PartnerAuth("6/minute", "async+memory://")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://testserver") as http:
            answers = [
                await http.get("/who"),
                await http.get("/who", params={"api_key": key}),
                await http.post("/who", data={"api_key": key}),
                await http.get("/who", headers={"Authorization": f"Bearer {key}"}),
                await http.get("/who", headers={"X-Api-Key": key}),
                await http.get("/who", headers={"X-Api-Key": key + "x"}),
            ]
            assert [a.json() for a in answers] == [
                {"partner": None}, *[{"partner": partner_id}] * 4, {"error": "rejected"}]
            for _ in range(2):   # 4 counted so far: the 7th request with the key is refused
                assert (await http.get("/who", params={"api_key": key})).status_code == 200
            assert (await http.get("/who", params={"api_key": key})).json() == {"error": "limited"}
            # the limit is per key: the partner's other key is not limited
            other = partners.issue_key(app_conn, partner_id)
            assert (await http.get("/who", params={"api_key": other})).json() == {"partner": partner_id}
