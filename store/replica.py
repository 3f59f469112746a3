"""A streaming standby of a managed cluster, and how far behind a standby is.

`StandbyCluster` copies a running ManagedCluster with `pg_basebackup -R` (which writes
standby.signal and primary_conninfo), starts it on a socket folder of its own and waits until
its WAL receiver streams. The scale tests (tests/test_scale.py) and a hand-made set-up
(deploy/scale/README) use it; production standbys are made the same way by the DBA.
"""

import shutil
import time
from pathlib import Path

import psycopg

from store.cluster import SUPERUSER, ManagedCluster
from store.errors import StoreSetupError

# How far the standby's public reads are behind the primary, in seconds: 0 when everything
# received has been replayed, else the age of the last transaction replayed. NULL on a primary.
REPLAY_LAG_SQL = """
SELECT CASE WHEN NOT pg_is_in_recovery() THEN NULL
            WHEN pg_last_wal_receive_lsn() IS NULL
                 OR pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0.0
            ELSE extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8
       END
"""
STREAMING_SQL = "SELECT status FROM pg_stat_wal_receiver"
PAUSE_SQL = "SELECT pg_wal_replay_pause()"
RESUME_SQL = "SELECT pg_wal_replay_resume()"
WAL_BEHIND_SQL = """
SELECT pg_wal_lsn_diff(%s::pg_lsn, pg_last_wal_replay_lsn())::bigint
"""
PRIMARY_LSN_SQL = "SELECT pg_current_wal_lsn()::text"


async def replay_lag_s(conn: psycopg.AsyncConnection) -> float | None:
    """Seconds the standby behind `conn` is late (None: `conn` is a primary)."""
    return (await (await conn.execute(REPLAY_LAG_SQL)).fetchone())[0]


class StandbyCluster(ManagedCluster):
    """A hot standby of `primary` under `root` (data in root/pg, socket in root/run)."""

    def __init__(self, primary: ManagedCluster, root: Path) -> None:
        super().__init__(root, primary.port)   # another socket folder: the same port number is fine
        self.primary = primary

    def _initdb(self) -> None:
        """Instead of initdb: a copy of the primary, set up to follow it (-R), WAL streamed along."""
        self._run([self.bindir / "pg_basebackup", "-D", self.pgdata, "-R", "-X", "stream",
                   "-c", "fast", "-h", self.primary.socket_dir, "-p", self.primary.port,
                   "-U", SUPERUSER], what="copy the primary (pg_basebackup)")

    def start(self, timeout_s: float = 60.0) -> None:
        super().start()
        self.wait_streaming(timeout_s)

    def wait_streaming(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        status = None
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(self.url(SUPERUSER, "postgres"), connect_timeout=5) as conn:
                    row = conn.execute(STREAMING_SQL).fetchone()
                    status = row[0] if row else None
            except psycopg.OperationalError:
                status = None
            if status == "streaming":
                return
            time.sleep(0.1)
        raise StoreSetupError(f"the standby in {self.pgdata} is not streaming (status {status!r})")

    def pause_replay(self) -> None:
        with psycopg.connect(self.url(SUPERUSER, "postgres"), autocommit=True) as conn:
            conn.execute(PAUSE_SQL)

    def resume_replay(self) -> None:
        with psycopg.connect(self.url(SUPERUSER, "postgres"), autocommit=True) as conn:
            conn.execute(RESUME_SQL)

    def wait_caught_up(self, timeout_s: float = 30.0) -> None:
        """Until the standby has replayed everything the primary has written now."""
        with psycopg.connect(self.primary.url(SUPERUSER, "postgres")) as conn:
            target = conn.execute(PRIMARY_LSN_SQL).fetchone()[0]
        deadline = time.monotonic() + timeout_s
        with psycopg.connect(self.url(SUPERUSER, "postgres"), autocommit=True) as conn:
            while conn.execute(WAL_BEHIND_SQL, [target]).fetchone()[0] > 0:
                if time.monotonic() > deadline:
                    raise StoreSetupError(f"the standby has not replayed up to {target}")
                time.sleep(0.05)

    def clean(self) -> None:
        """Stopped, and its folder removed."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
