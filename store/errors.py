"""Errors the store raises or lets through, each family defined once for every door."""

import psycopg


class StoreSetupError(RuntimeError):
    """The database cannot be set up or reached; the message tells the user what to do."""


# "The database is unavailable": it is down or restarting, refuses connections, ran out of
# resources, cancelled a statement that ran past the role's statement timeout (QueryCanceled), or
# the pool found no connection in time (psycopg_pool.PoolTimeout). All of these are
# psycopg.OperationalError; TimeoutError is a caller's own deadline running out while it waited
# (asyncio.timeout, a worker thread's future). The request may succeed later, so every door maps
# this family to "try again" (HTTP 503, GraphQL UNAVAILABLE): one handler per door, this one
# tuple. Other psycopg errors (a bad statement, a refused value) are not unavailability.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (psycopg.OperationalError, TimeoutError)


def is_unavailable(error: BaseException | None) -> bool:
    """Whether an error means the database is unavailable (see DATABASE_UNAVAILABLE)."""
    return isinstance(error, DATABASE_UNAVAILABLE)

# How long a client is told to wait before trying again (HTTP Retry-After, seconds) when the
# database is unavailable: the managed cluster's watchdog restarts it within seconds.
RETRY_AFTER_S = 5
