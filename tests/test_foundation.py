"""The foundation: migrations, roles, constraints, seed, health."""

import asyncio

import psycopg
import pytest

from gateway.shutdown import stop_in_order, stop_step
from store.audit import verify
from store.locations import DatabaseUrls, ManagedDatabase
from store.migrate import available, migrate, status
from store.seed import seed
from tests.support import CONFIG_DIR, insert_report, running_app


def test_migrations_apply_once_and_a_second_run_changes_nothing(urls: DatabaseUrls) -> None:
    assert migrate(urls.admin) == []
    states = status(urls.admin)
    assert [s.migration.version for s in states] == [m.version for m in available()]
    assert all(s.applied_at is not None for s in states)


def test_public_role_is_refused_core(public_conn: psycopg.Connection) -> None:
    for relation in ("core.reports", "core.report_events", "core.density_counts"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            public_conn.execute(f"SELECT * FROM {relation} LIMIT 1")


def test_public_role_cannot_write_open(public_conn: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        public_conn.execute("DELETE FROM open.reports")


def test_public_role_has_a_statement_timeout(public_conn: psycopg.Connection) -> None:
    timeout = public_conn.execute("SHOW statement_timeout").fetchone()[0]
    assert timeout not in ("0", "")
    with pytest.raises(psycopg.errors.QueryCanceled):
        public_conn.execute("SET statement_timeout = '100ms'")
        public_conn.execute("SELECT pg_sleep(1)")


def test_public_role_plans_without_parallel_workers(public_conn: psycopg.Connection) -> None:
    """Migration 0018: even where parallel workers look free to the planner, a public door's
    statement runs in its own process (a small viewport's page at 5M reports was 3.5 x slower
    under load with a worker started for it)."""
    assert public_conn.execute("SHOW max_parallel_workers_per_gather").fetchone()[0] == "0"
    for setting in ("parallel_setup_cost = 0", "parallel_tuple_cost = 0",
                    "min_parallel_table_scan_size = 0"):
        public_conn.execute(f"SET {setting}")
    plan = "\n".join(row[0] for row in public_conn.execute(
        "EXPLAIN SELECT count(*) FROM open.reports WHERE status <> 'x'"))
    assert "Gather" not in plan


def test_public_role_plans_without_jit(public_conn: psycopg.Connection, app_conn: psycopg.Connection) -> None:
    """Migration 0028: a public door's statement is never JIT-compiled, even one the planner
    costs far past the thresholds (a city box's OGC page at limit 1000 spent 100-300 ms
    compiling for a 20-40 ms run); the application role keeps PostgreSQL's default."""
    assert public_conn.execute("SHOW jit").fetchone()[0] == "off"
    assert app_conn.execute("SHOW jit").fetchone()[0] == "on"
    public_conn.execute("SET jit_above_cost = 0")
    plan = "\n".join(row[0] for row in public_conn.execute(
        "EXPLAIN (ANALYZE) SELECT count(*) FROM open.reports WHERE status <> 'x'"))
    assert "JIT" not in plan
    if app_conn.execute("SELECT pg_jit_available()").fetchone()[0]:   # so the check can fail
        app_conn.execute("SET jit_above_cost = 0")
        plan = "\n".join(row[0] for row in app_conn.execute(
            "EXPLAIN (ANALYZE) SELECT count(*) FROM open.reports WHERE status <> 'x'"))
        assert "JIT" in plan


@pytest.mark.parametrize(
    ("column", "value", "error"),
    [
        ("status", "'solved'", psycopg.errors.ForeignKeyViolation),
        ("category_id", "'no-such-category'", psycopg.errors.ForeignKeyViolation),
        ("source", "'rumour'", psycopg.errors.CheckViolation),
        ("geom", "'SRID=4326;POINT EMPTY'", psycopg.errors.CheckViolation),
        ("geom", "'SRID=4326;POINT(200 95)'", psycopg.errors.CheckViolation),
        ("geom", "'SRID=3857;POINT(2338000 6840000)'", psycopg.errors.InvalidParameterValue),
        ("description", "repeat('x', 5000)", psycopg.errors.CheckViolation),
    ],
)
def test_constraints_reject_bad_reports(app_conn: psycopg.Connection, column: str, value: str,
                                        error: type[Exception]) -> None:
    values = {"category_id": "'vandalism'", "status": "'under_verification'",
              "geom": "'SRID=4326;POINT(21 52)'", "occurred_at": "now()", "source": "'citizen'",
              "description": "'ok'"} | {column: value}
    with pytest.raises(error):
        app_conn.execute(f"INSERT INTO core.reports ({', '.join(values)}) "
                         f"VALUES ({', '.join(values.values())})")


def test_constraints_reject_negative_statistics(app_conn: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        app_conn.execute("INSERT INTO core.police_statistics VALUES ('14', 'theft', '2026-01-01', -1)")


def test_illegal_status_transition_is_refused(app_conn: psycopg.Connection,
                                              clean_reports: None) -> None:
    report = insert_report(app_conn, status="not_confirmed")
    with pytest.raises(psycopg.errors.CheckViolation, match="illegal status transition"):
        app_conn.execute("UPDATE core.reports SET status = 'confirmed' WHERE id = %s", [report])


def test_seed_is_idempotent(urls: DatabaseUrls) -> None:
    counted = ("SELECT (SELECT count(*) FROM core.categories), (SELECT count(*) FROM core.areas),"
               " (SELECT count(*) FROM core.police_units), (SELECT count(*) FROM core.statuses),"
               " (SELECT count(*) FROM core.status_transitions)")
    with psycopg.connect(urls.app) as conn:
        before = conn.execute(counted).fetchone()
        seed(conn, CONFIG_DIR)
        assert conn.execute(counted).fetchone() == before
    assert before == (24, 16 + 380, 16 + 380, 6, 6)


def test_areas_carry_teryt_codes_and_counties_nest(app_conn: psycopg.Connection) -> None:
    names = dict(app_conn.execute("SELECT code, name FROM core.areas WHERE level = 'voivodeship'"))
    assert names["14"] == "mazowieckie" and names["12"] == "małopolskie"
    orphan = app_conn.execute(
        "SELECT count(*) FROM core.areas WHERE level = 'county' AND parent_code IS NULL"
    ).fetchone()[0]
    assert orphan == 0
    county = app_conn.execute(
        "SELECT name, parent_code FROM core.areas WHERE level = 'county' "
        "AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint(19.945, 50.065), 4326))").fetchone()
    assert county == ("powiat Kraków", "12")


async def test_health_is_200_when_the_database_answers(client) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_health_is_503_while_the_database_is_down_and_recovers(
        client, managed_db: ManagedDatabase) -> None:
    managed_db.cluster.stop()
    try:
        response = await client.get("/health")
        assert response.status_code == 503
        assert response.json() == {"status": "unavailable", "database": "unreachable"}
    finally:
        managed_db.cluster.start()
    for _ in range(20):  # recovers within seconds, without a restart of the app
        response = await client.get("/health")
        if response.status_code == 200:
            break
        await asyncio.sleep(0.5)
    assert response.status_code == 200


def test_demo_data_is_deterministic_varied_and_tells_its_progress(urls: DatabaseUrls,
                                                                   clean_reports: None) -> None:
    listing = ("SELECT id, category_id, status, ST_AsText(geom), occurred_at FROM core.reports "
               "WHERE external_id LIKE 'demo-7-%' ORDER BY external_id")
    messages: list[str] = []
    with psycopg.connect(urls.app) as conn:
        assert seed(conn, CONFIG_DIR, demo=2000, demo_seed=7, progress=messages.append) == 2000
        first = conn.execute(listing).fetchall()
        assert seed(conn, CONFIG_DIR, demo=2000, demo_seed=7) == 0, "a second load must add nothing"
        conn.execute("DELETE FROM core.reports")
        seed(conn, CONFIG_DIR, demo=2000, demo_seed=7)
        conn.commit()
        assert conn.execute(listing).fetchall()[:50] == first[:50], "same seed, different data"
        statuses = {row[2] for row in first}
        published = conn.execute("SELECT count(*) FROM open.reports").fetchone()[0]
        # The history's chains, computed set-based by the loader, are whole.
        audit = verify(conn)
        events = conn.execute("SELECT count(*) FROM core.report_events").fetchone()[0]
    assert audit.first_break is None and audit.reports == 2000 and audit.events == events > 2000
    assert statuses == {"new", "under_verification", "confirmed", "not_confirmed",
                        "confirmed_eliminated", "confirmed_forwarded"}
    assert len({row[1] for row in first}) >= 10
    assert 0 < published <= 2000
    assert any("2,000 of 2,000 reports written" in m for m in messages)
    assert any("public layer" in m for m in messages) and messages[-1].endswith("2,000 demo reports loaded")


async def test_a_stuck_shutdown_step_is_named_and_left_behind(caplog: pytest.LogCaptureFixture) -> None:
    released = asyncio.Event()

    async def refuses_to_stop() -> None:
        while not released.is_set():
            try:
                await released.wait()
            except asyncio.CancelledError:
                continue   # ignores cancellation, as a wedged part would

    started = asyncio.get_running_loop().time()
    # a step that waited for the wedged part would never return: fail instead of hanging
    async with asyncio.timeout(10):
        with caplog.at_level("ERROR", logger="gateway.shutdown"):
            assert await stop_step("the wedged part", refuses_to_stop(), timeout_s=0.3) is False
            assert await stop_step("a failing part", _fails(), timeout_s=1) is False
            assert await stop_step("a quick part", asyncio.sleep(0), timeout_s=1) is True
    # within the steps' own budgets (0.3 + 1 + 1 s), with room for a loaded machine (CI saw 3.2 s
    # at a load average of 15 on 2 cores; about 0.3 s when quiet)
    assert asyncio.get_running_loop().time() - started < 0.3 + 1 + 1 + 2
    messages = [r.getMessage() for r in caplog.records]
    assert any("the wedged part did not finish" in m for m in messages)
    assert any("a failing part failed" in m for m in messages)
    assert not any("a quick part" in m for m in messages)

    # In order, within a budget: the parts after a wedged one still stop.
    stopped: list[str] = []

    async def stops(name: str) -> None:
        stopped.append(name)

    started = asyncio.get_running_loop().time()
    assert await stop_in_order([("first", stops("first")), ("wedged", refuses_to_stop()),
                                ("last", stops("last"))], budget_s=0.5, step_s=0.3) is False
    assert stopped == ["first", "last"]
    assert asyncio.get_running_loop().time() - started < 1.5
    released.set()   # the steps left behind may now end
    await asyncio.sleep(0.05)


async def _fails() -> None:
    raise RuntimeError("broken")


async def test_the_app_stops_its_parts_and_its_pools(settings) -> None:
    """The lifespan's stop steps all run: after shutdown both pools are closed and the listeners
    have let go of their connections."""
    async with running_app(settings) as (http, app):
        assert (await http.get("/health")).status_code == 200
        runtime = app.state.runtime
    assert runtime.app_pool.closed and runtime.public_pool.closed
    assert not runtime.report_events.listening.is_set()
    assert not app.state.tile_service.synced
