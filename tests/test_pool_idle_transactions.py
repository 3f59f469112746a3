"""A pool connection left idle in a transaction (a cancelled or stalled task) cannot hold its
locks for good: the server ends the transaction after THREATMAP_IDLE_IN_TRANSACTION_TIMEOUT_S
(gateway/app.py connection_options). The stop-22 CI run hung for an hour on the opposite: a
DELETE FROM core.reports in a test's teardown waiting on a transaction that never ended."""

import asyncio
import time

import psycopg
import pytest

from gateway.settings import Settings
from store.locations import DatabaseUrls
from tests.support import insert_report, running_app


def delete_report(url: str, report_id: object) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("DELETE FROM core.reports WHERE id = %s", [report_id]).rowcount


async def test_a_transaction_left_idle_on_a_pool_connection_is_ended_with_its_locks(
        settings: Settings, urls: DatabaseUrls, clean_reports: None) -> None:
    with psycopg.connect(urls.app, autocommit=True) as conn:
        report = insert_report(conn)
    quick = settings.model_copy(update={"idle_in_transaction_timeout_s": 1.0})
    async with running_app(quick) as (_, application):
        for pool in (application.state.runtime.app_pool, application.state.runtime.public_pool):
            async with pool.connection() as conn:
                shown = await (await conn.execute("SHOW idle_in_transaction_session_timeout")).fetchone()
                assert shown[0] == "1s"
        stalled = await application.state.runtime.app_pool.getconn()
        try:
            # a task that took a row lock and then stopped before its COMMIT
            await stalled.execute("SELECT 1 FROM core.reports WHERE id = %s FOR UPDATE", [report])
            started = time.monotonic()
            deleted = await asyncio.wait_for(
                asyncio.to_thread(delete_report, urls.app, report), timeout=30)
            waited = time.monotonic() - started
            assert deleted == 1
            assert 0.5 < waited < 10, waited   # it did wait on the lock, then the server ended it
            with pytest.raises(psycopg.errors.IdleInTransactionSessionTimeout):
                await stalled.execute("SELECT 1")
        finally:
            await application.state.runtime.app_pool.putconn(stalled)
