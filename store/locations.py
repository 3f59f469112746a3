"""Where the database is: a managed local cluster, or the one DATABASE_URL names.

Three connections matter: the migrating owner (creates roles, extensions, schemas), the
application role `threatmap_app` (owns and writes `core`), and the public role
`threatmap_public` (reads `open` only). With DATABASE_URL, its role migrates and writes.
"""

from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from store.cluster import SUPERUSER, ManagedCluster
from store.errors import StoreSetupError

APP_ROLE = "threatmap_app"
PUBLIC_ROLE = "threatmap_public"


@dataclass(frozen=True)
class DatabaseUrls:
    admin: str
    app: str
    public: str
    # The public role on the primary when `public` names a standby (issue 16): LISTEN/NOTIFY
    # works on the primary only, and the reads fall back to it (gateway.public_reads).
    public_primary: str | None = None

    @property
    def listen(self) -> str:
        """Where to LISTEN for the public layer's notifications."""
        return self.public_primary or self.public


def with_user(conninfo: str, user: str) -> str:
    """The same connection as another role (password dropped: trust or the role's own)."""
    params = conninfo_to_dict(conninfo)
    params.pop("password", None)
    params["user"] = user
    return make_conninfo(**params)


def external_urls(database_url: str, public_database_url: str | None,
                  public_primary_url: str | None = None, standby: bool = False) -> DatabaseUrls:
    """`standby`: public_database_url names a standby, so the primary's public role is needed
    too (public_primary_url, else database_url's connection as that role)."""
    public_primary = public_primary_url or (with_user(database_url, PUBLIC_ROLE) if standby else None)
    return DatabaseUrls(
        admin=database_url,
        app=database_url,
        public=public_database_url or with_user(database_url, PUBLIC_ROLE),
        public_primary=public_primary,
    )


def managed_urls(cluster: ManagedCluster, dbname: str) -> DatabaseUrls:
    return DatabaseUrls(
        admin=cluster.url(SUPERUSER, dbname),
        app=cluster.url(APP_ROLE, dbname),
        public=cluster.url(PUBLIC_ROLE, dbname),
    )


def create_database(cluster: ManagedCluster, dbname: str) -> None:
    """Creates the database in the managed cluster unless it exists."""
    with psycopg.connect(cluster.url(SUPERUSER, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


def drop_database(cluster: ManagedCluster, dbname: str) -> None:
    """Drops the database, ending its own connections (FORCE). Since PostgreSQL 15 it also
    waits until every backend of the cluster has absorbed a barrier: one blocked writing to a
    client that does not read (wait event ClientWrite, e.g. a LISTEN connection whose event
    loop is paused) keeps it waiting (ProcSignalBarrier) until that client reads."""
    with psycopg.connect(cluster.url(SUPERUSER, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(dbname)))


def check_connects(url: str, what: str) -> None:
    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as error:
        raise StoreSetupError(f"Cannot connect to the {what} database: {error}".strip()) from None


class ManagedDatabase:
    """The managed cluster plus our database in it: start() makes it ready, stop() undoes it."""

    def __init__(self, data_dir: Path, dbname: str) -> None:
        self.cluster = ManagedCluster(data_dir)
        self.dbname = dbname
        self.urls = managed_urls(self.cluster, dbname)

    def start(self) -> DatabaseUrls:
        self.cluster.start()
        try:
            create_database(self.cluster, self.dbname)
        except psycopg.OperationalError as error:
            raise StoreSetupError(f"The managed PostgreSQL does not answer: {error}") from None
        return self.urls

    def stop(self) -> None:
        if self.cluster.started_here:
            self.cluster.stop()
