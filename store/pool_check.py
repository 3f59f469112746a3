"""The pools' check of a connection when a request takes it: a round trip only when needed.

psycopg_pool's `check_connection` sends an empty query before every checkout, so that a
connection the server has dropped (a restart, a killed backend, an idle timeout) is replaced
instead of failing the request. That is a whole round trip per request: on this project's
2-core machine, sampled under load (py-spy, bench/RESULTS.md "OGC items on small viewports"),
its send and wait were as much of an OGC small-viewport request as the page's own query.

A server that drops a connection closes its socket (after a FATAL message when it can say
why), so the socket of a dropped idle connection is readable: end of file, or that message.
An idle connection in good health has nothing to read. So `check_connection` polls the socket
without waiting (one system call, no round trip) and sends psycopg_pool's empty query only
when something is there to read, or when the connection is not idle and healthy by its own
account; a failing check raises as psycopg_pool's does, and the pool replaces the connection.
What neither check can see is a connection that dies after the check and before the query.
"""

import select

import psycopg
from psycopg import AsyncConnection
from psycopg.pq import ConnStatus, TransactionStatus
from psycopg_pool import AsyncConnectionPool


def _quiet(conn: AsyncConnection) -> bool:
    """Whether the connection is idle and healthy and its socket has nothing to read."""
    if conn.closed or conn.broken or conn.pgconn.status != ConnStatus.OK \
            or conn.pgconn.transaction_status != TransactionStatus.IDLE:
        return False
    try:
        poller = select.poll()
        poller.register(conn.pgconn.socket, select.POLLIN | select.POLLPRI)
        return not poller.poll(0)
    except (OSError, ValueError, psycopg.OperationalError):   # no socket any more
        return False


async def check_connection(conn: AsyncConnection) -> None:
    """psycopg_pool's check (a `check=` callback), with the round trip only when the socket
    or the connection's state says something happened (see the module)."""
    if not _quiet(conn):
        await AsyncConnectionPool.check_connection(conn)
