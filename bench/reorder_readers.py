"""`python -m bench.reorder_readers ADMIN_URL PUBLIC_URL [--methods online,cluster]`: what the
readers of the public layer see while `threatmap db reorder` rewrites it (store/reorder.py), for
each method in turn on the same database: online (pg_repack) and CLUSTER.

While a method runs, READERS threads of the public role each ask, one after another, a small
viewport's OGC page (store/ogc_items.py KEPT_BY_POINT, which reads open.report_cells and
open.report_features) and the count of open.reports in the same box, around the six small
viewports of the ogc suite; each request is timed (the client's clock). Printed per method: how
long the reorder took (and its own report of each table), the requests, their p50 / p99 / max
and how many failed (the public role's 5 s statement timeout), and the same for a quiet period of
as many seconds before it (the baseline). The database is left in spatial order.
"""

import argparse
import statistics
import threading
import time
from dataclasses import dataclass, field

import psycopg

from bench.common import percentile
from bench.ogc_items import SMALL
from store import ogc_items, reorder

READERS = 4
BASELINE_S = 10.0
COUNT = ("SELECT count(*) FROM open.reports "
         "WHERE geom && ST_MakeEnvelope(%(bx0)s, %(by0)s, %(bx1)s, %(by1)s, 4326)")


@dataclass
class Readers:
    """Reader threads timing their requests until stopped."""
    url: str
    times: list[float] = field(default_factory=list)
    failed: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self, seconds: float | None = None) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._read, args=(i,), daemon=True) for i in range(READERS)]
        for thread in threads:
            thread.start()
        if seconds is not None:
            time.sleep(seconds)
            self.halt(threads)
        return threads

    def halt(self, threads: list[threading.Thread]) -> None:
        self.stop.set()
        for thread in threads:
            thread.join()

    def _read(self, i: int) -> None:
        page = ogc_items.features_statement(ogc_items.kept_statement(None))
        boxes = list(SMALL.values())
        with psycopg.connect(self.url, autocommit=True) as conn:
            turn = i
            while not self.stop.is_set():
                box = dict(zip(("bx0", "by0", "bx1", "by1"), boxes[turn % len(boxes)], strict=True))
                turn += 1
                started = time.perf_counter()
                try:
                    conn.execute(page, box | {"limit": 100, "offset": 0}, prepare=True).fetchone()
                    conn.execute(COUNT, box).fetchone()
                except psycopg.Error:
                    self.failed += 1
                self.times.append(time.perf_counter() - started)
                time.sleep(0.005)

    def summary(self) -> str:
        ms = sorted(t * 1000 for t in self.times)
        if not ms:
            return "no requests"
        return (f"{len(ms)} requests, p50 {statistics.median(ms):.1f} ms, p99 "
                f"{percentile(ms, 99):.1f} ms, max {ms[-1]:.0f} ms, {self.failed} failed")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("admin_url")
    parser.add_argument("public_url")
    parser.add_argument("--methods", default=f"{reorder.ONLINE},{reorder.CLUSTER}")
    parser.add_argument("--lock-timeout-s", type=float, default=10.0)
    args = parser.parse_args(argv)
    for method in args.methods.split(","):
        quiet = Readers(args.public_url)
        quiet.run(BASELINE_S)
        print(f"## {method}\n- before, {BASELINE_S:.0f} s quiet: {quiet.summary()}", flush=True)
        readers = Readers(args.public_url)
        threads = readers.run()
        started = time.monotonic()
        try:
            reorder.reorder(args.admin_url, args.lock_timeout_s, method=method,
                            say=lambda text: print(f"  {text}", flush=True))
        finally:
            took = time.monotonic() - started
            readers.halt(threads)
        print(f"- during the reorder ({took:.1f} s): {readers.summary()}", flush=True)


if __name__ == "__main__":
    main()
