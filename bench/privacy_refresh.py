"""What one new public report costs: the write that refreshes the public layer, and its readers.

    python -m bench.privacy_refresh --database-url postgresql://threatmap_app@/threatmap_bench?host=...

The public layer (schema `open`) is kept in step by triggers, inside the writer's transaction,
so "refreshed" means "committed". Measured here, each over --samples writes:
  1. insert one report with a non-initial status (published at once), statement + commit;
  2. change one unpublished report's status (publishes it), statement + commit;
  3. change one public report's status (moves its counts), statement + commit;
  4. a long SELECT on open.reports by the public role that runs while writes commit: do the
     writes wait for it, does it wait for them;
  5. the latency of a typical public read (a city-sized bbox on open.reports and a density
     query), alone and while a writer commits new public reports back to back.
Every report it writes carries external_id 'bench-privacy-...' and is deleted at the end.
"""

import argparse
import random
import statistics
import threading
import time
import uuid
from collections.abc import Callable

import psycopg

from store.locations import PUBLIC_ROLE, with_user

PREFIX = "bench-privacy-"
INSERT = """
INSERT INTO core.reports (category_id, status, geom, occurred_at, source, external_id, contact)
VALUES (%s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), now() - interval '2 hours',
        'partner_platform', %s, 'bench@example.org')
RETURNING id
"""
SET_STATUS = "UPDATE core.reports SET status = %s WHERE id = %s"
PUBLIC_READS = {
    "bbox": """SELECT count(*), max(occurred_on) FROM open.reports
               WHERE geom && ST_MakeEnvelope(20.95, 52.20, 21.05, 52.26, 4326)""",
    "density": """SELECT count(*), sum(count) FROM open.report_density_totals
                  WHERE cell_m = 4000 AND geom && ST_MakeEnvelope(20.5, 52.0, 21.5, 52.5, 4326)""",
}
LONG_READ = "SELECT count(*), pg_sleep(%s) FROM open.reports"


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return (f"n={len(ms)} median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, "
            f"max {ms[-1]:.1f} ms")


class Writer:
    def __init__(self, url: str, rng: random.Random) -> None:
        self.conn = psycopg.connect(url)
        self.rng = rng
        self.categories = [c for (c,) in self.conn.execute(
            "SELECT id FROM core.categories WHERE active ORDER BY id")]
        self.conn.commit()

    def _point(self) -> tuple[float, float]:
        return self.rng.uniform(16.0, 23.0), self.rng.uniform(50.0, 54.0)

    def timed(self, statement: str, params: list) -> tuple[float, object]:
        started = time.perf_counter()
        row = self.conn.execute(statement, params).fetchone()
        self.conn.commit()
        return time.perf_counter() - started, row

    def insert(self, status: str) -> tuple[float, uuid.UUID]:
        lon, lat = self._point()
        elapsed, row = self.timed(INSERT, [self.rng.choice(self.categories), status, lon, lat,
                                           f"{PREFIX}{uuid.uuid4()}"])
        return elapsed, row[0]

    def set_status(self, report: uuid.UUID, status: str) -> float:
        started = time.perf_counter()
        self.conn.execute(SET_STATUS, [status, report])
        self.conn.commit()
        return time.perf_counter() - started

    def close(self) -> None:
        self.conn.close()


def run_reads(url: str, stop: threading.Event, latencies: list[float]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        while not stop.is_set():
            for statement in PUBLIC_READS.values():
                started = time.perf_counter()
                conn.execute(statement).fetchall()
                latencies.append(time.perf_counter() - started)


def reads_for(url: str, seconds: float, during: Callable[[threading.Event], None] | None = None
              ) -> list[float]:
    latencies: list[float] = []
    stop = threading.Event()
    reader = threading.Thread(target=run_reads, args=(url, stop, latencies))
    reader.start()
    if during is None:
        time.sleep(seconds)
    else:
        timer = threading.Timer(seconds, stop.set)
        timer.start()
        during(stop)
    stop.set()
    reader.join()
    return latencies


def long_read_while_writing(public_url: str, writer: Writer, hold_s: float, writes: int) -> None:
    """A public SELECT holding open.reports for hold_s while the writer commits `writes` reports."""
    result: dict[str, float] = {}

    def read() -> None:
        with psycopg.connect(public_url, autocommit=True) as conn:
            conn.execute("SET statement_timeout = '60s'")
            started = time.perf_counter()
            result["count"] = conn.execute(LONG_READ, [hold_s]).fetchone()[0]
            result["elapsed"] = time.perf_counter() - started

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(min(1.0, hold_s / 4))
    write_times = [writer.insert("confirmed")[0] for _ in range(writes)]
    committed_before_reader_ended = reader.is_alive()
    reader.join()
    print(f"  long public SELECT (count(*) over open.reports + pg_sleep({hold_s})): "
          f"{result['elapsed']:.2f} s, saw {result['count']} rows (its snapshot)")
    print(f"  {writes} published inserts committed while it ran: {percentiles(write_times)}; "
          f"all committed before the SELECT ended: {committed_before_reader_ended}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="application role (writes core)")
    parser.add_argument("--public-url", help="public role; default: the same URL as threatmap_public")
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--read-seconds", type=float, default=10.0)
    args = parser.parse_args()
    public_url = args.public_url or with_user(args.database_url, PUBLIC_ROLE)
    rng = random.Random(2026)
    writer = Writer(args.database_url, rng)
    try:
        total, public = writer.conn.execute(
            "SELECT (SELECT count(*) FROM core.reports), (SELECT count(*) FROM open.reports)").fetchone()
        writer.conn.commit()
        print(f"database: {total} reports, {public} public")
        for _ in range(3):  # warm the caches and the plans
            writer.insert("confirmed")

        inserts = [writer.insert("confirmed")[0] for _ in range(args.samples)]
        print(f"1. insert one published report, statement + commit: {percentiles(inserts)}")

        pending = [writer.insert("under_verification")[1] for _ in range(args.samples)]
        publish = [writer.set_status(report, "confirmed") for report in pending]
        print(f"2. status change that publishes a report, statement + commit: {percentiles(publish)}")

        moves = [writer.set_status(report, "confirmed_eliminated") for report in pending]
        print(f"3. status change of a public report, statement + commit: {percentiles(moves)}")

        print("4. readers are not blocked:")
        long_read_while_writing(public_url, writer, hold_s=5.0, writes=args.samples)

        alone = reads_for(public_url, args.read_seconds)

        def keep_writing(stop: threading.Event) -> None:
            while not stop.is_set():
                writer.insert("confirmed")

        during = reads_for(public_url, args.read_seconds, keep_writing)
        print("5. public read latency (bbox on open.reports, 4 km density), alone: "
              f"{percentiles(alone)}")
        print(f"   while a writer commits published reports back to back: {percentiles(during)}")
    finally:
        writer.conn.rollback()
        deleted = writer.conn.execute("DELETE FROM core.reports WHERE external_id LIKE %s",
                                      [PREFIX + "%"]).rowcount
        writer.conn.commit()
        writer.close()
        print(f"cleaned up {deleted} benchmark reports")


if __name__ == "__main__":
    main()
