"""Facts written once (issue 9, point 4): the rule for which reports an officer handles
(core.officer_handles, used by the work list and by the private-field and change checks), the
report sources (core.report_sources(), used by the CHECK and the GraphQL validation), and the
"database unavailable" family every door maps to 503 / UNAVAILABLE (store.errors)."""

import psycopg
import pytest
from psycopg import sql
from psycopg_pool import PoolClosed, PoolTimeout

from gateway.settings import Settings
from store.errors import is_unavailable
from store.staff import OfficerUnit, page_statement
from tests.support import gql, running_app, token

# -- which reports an officer handles ---------------------------------------------------------


def _unit(conn: psycopg.Connection, level: str) -> OfficerUnit:
    row = conn.execute("SELECT id, level, area_code, core.unit_counties(id) FROM core.police_units "
                       "WHERE level = %s ORDER BY id LIMIT 1", [level]).fetchone()
    return OfficerUnit(*row)


def test_a_county_unit_covers_its_county_and_a_voivodeship_unit_its_counties(
        app_conn: psycopg.Connection) -> None:
    """The scope: the counties of the unit's area, then the units whose area lies in it."""
    county = _unit(app_conn, "county")
    assert county.counties == [county.area_code, county.id]
    voivodeship = _unit(app_conn, "voivodeship")
    expected = [code for (code,) in app_conn.execute(
        "SELECT code FROM core.areas WHERE parent_code = %s ORDER BY code", [voivodeship.area_code])]
    units = [unit for (unit,) in app_conn.execute(
        "SELECT u.id FROM core.police_units AS u JOIN core.areas AS a ON a.code = u.area_code "
        "WHERE a.code = %s OR a.parent_code = %s ORDER BY u.id",
        [voivodeship.area_code, voivodeship.area_code])]
    assert len(expected) > 1 and voivodeship.counties == expected + units
    assert voivodeship.id in units
    assert app_conn.execute("SELECT core.unit_counties('no-such-unit')").fetchone()[0] == []


@pytest.mark.parametrize(("county_code", "assigned", "handled"), [
    ("1465", None, True),          # in the unit's area
    ("1465", "kpp-other", False),  # in the area, handed to a unit outside it: off the list
    ("1465", "kpp-1461", True),    # in the area, handed to a unit of the area
    ("1201", "kwp-test", True),    # elsewhere, handed to the unit
    ("1201", None, False),
    ("1201", "kpp-other", False),
    (None, None, False),           # no county (outside every area), not handed over
])
def test_officer_handles_its_area_and_what_is_handed_to_it(
        app_conn: psycopg.Connection, county_code: str | None, assigned: str | None,
        handled: bool) -> None:
    answer = app_conn.execute("SELECT core.officer_handles('kwp-test', "
                              "ARRAY['1461', '1465', 'kpp-1461', 'kwp-test'], %s, %s)"
                              " IS TRUE", [county_code, assigned]).fetchone()[0]
    assert answer is handled


@pytest.mark.parametrize("level", ["county", "voivodeship"])
def test_the_work_list_scope_is_the_rule_inlined_and_served_by_indexes(
        app_conn: psycopg.Connection, level: str) -> None:
    """core.officer_handles is inlined (the plan shows its expression, never a call), so the
    work list's indexes serve the scope as they did when the expression was written out."""
    unit = _unit(app_conn, level)
    query, params = page_statement(None, unit, True, 101, None, True)
    with app_conn.transaction():
        app_conn.execute("SET LOCAL enable_seqscan = off")   # a test database is small
        plan = "\n".join(row[0] for row in app_conn.execute(sql.SQL("EXPLAIN (VERBOSE) ") + query,
                                                            params))
    assert "officer_handles" not in plan and "unit_counties" not in plan
    assert f"police_unit_id = '{unit.id}'" in plan
    assert "county_code = ANY ('{" in plan
    assert "Index Only Scan" in plan or "Index Scan" in plan or "Bitmap Index Scan" in plan


# -- report sources -----------------------------------------------------------------------------

async def test_report_sources_are_the_databases_for_the_check_and_the_graphql_validation(
        graphql_client, app_conn: psycopg.Connection, settings: Settings) -> None:
    sources = app_conn.execute("SELECT core.report_sources()").fetchone()[0]
    assert "citizen" in sources and len(sources) == len(set(sources)) > 1
    with app_conn.transaction(force_rollback=True):
        for source in sources:   # each one passes the reports' CHECK
            app_conn.execute(
                "INSERT INTO core.reports (category_id, status, geom, occurred_at, source) "
                "VALUES ('vandalism', 'under_verification', 'SRID=4326;POINT(21 52)', now(), %s)",
                [source])
    body = await gql(graphql_client, '{ staffReports(filter: {source: "rumour"}) { totalCount } }',
                     token=token(settings, "analyst"))
    assert body["errors"][0]["message"] == f"source must be one of {', '.join(sources)}."
    body = await gql(graphql_client, f'{{ staffReports(filter: {{source: "{sources[-1]}"}}) '
                                     "{ totalCount } }", token=token(settings, "analyst"))
    assert "errors" not in body, body


# -- "database unavailable" -------------------------------------------------------------------

@pytest.mark.parametrize("error", [
    psycopg.OperationalError("connection refused"), psycopg.errors.QueryCanceled("timeout"),
    psycopg.errors.AdminShutdown("terminating connection"), PoolTimeout("no connection"),
    PoolClosed("closed"), TimeoutError()])
def test_outages_and_timeouts_are_unavailable(error: Exception) -> None:
    assert is_unavailable(error)


@pytest.mark.parametrize("error", [
    psycopg.errors.UndefinedTable("no such table"), psycopg.errors.CheckViolation("bad row"),
    psycopg.errors.InsufficientPrivilege("denied"), ValueError("bug"), None])
def test_mistakes_are_not_unavailable(error: Exception | None) -> None:
    assert not is_unavailable(error)


async def test_every_door_answers_unavailable_when_the_database_is(settings: Settings) -> None:
    """One family, one handler per door: tiles, OGC, GraphQL and /health all say "try again"."""
    async with running_app(settings) as (client, app):
        await app.state.runtime.public_pool.close()
        tile = await client.get("/tiles/reports/10/572/338.mvt")
        assert tile.status_code == 503 and tile.headers["retry-after"] == "5"
        assert tile.json()["code"] == "unavailable"
        health = await client.get("/health")
        assert health.status_code == 503 and health.headers["retry-after"] == "5"
        items = await client.get("/ogc/collections/reports/items", params={"f": "json"})
        assert items.status_code == 503 and items.json()["code"] == "ServiceUnavailable"
        body = await gql(client, "{ categories { id } }")
        assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAVAILABLE"]
