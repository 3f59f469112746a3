"""`python -m bench.heap_order PUBLIC_URL`: what the heap's order costs the statements of a small
box (issue 16, point 5; store/reorder.py): EXPLAIN (ANALYZE, BUFFERS) as the public role of

- the OGC small-viewport page (Warszawa Śródmieście at zoom 15, `ORDER BY id LIMIT 100` on
  open.ogc_reports, as bench/RESULTS.md measured it for 1M and 5M before),
- the GraphQL page of the Warsaw bbox (`ORDER BY occurred_on DESC, id DESC LIMIT 101` on
  open.reports, the page statement's core),
- the cells of one z 13 tile of central Warsaw (open.report_cells, as the point tiles read them).

Each statement runs `--runs` times in a row on one connection: the first run is "first" (cold if
the cluster was just started: shared_buffers empty, the OS page cache as it was), the others
"warm" (their median). Printed per statement: time (ms), buffers hit / read (8 kB blocks), and for
a bitmap heap scan the heap blocks it visited, with the rows returned.
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run by path: the project's packages

WARSAW_CENTRE = "ST_MakeEnvelope(20.995, 52.222, 21.031, 52.236, 4326)"
WARSAW_BBOX = "ST_MakeEnvelope(20.85, 52.10, 21.27, 52.37, 4326)"

STATEMENTS = {
    "OGC small viewport page (Warszawa Śródmieście, limit 100)":
        "SELECT id, category_id, status, occurred_on, ST_AsGeoJSON(geom) FROM open.ogc_reports "
        f"WHERE ST_Intersects(geom, {WARSAW_CENTRE}) ORDER BY id LIMIT 100",
    "GraphQL page (Warsaw bbox, newest 101)":
        "SELECT id, category_id, status, occurred_on, date_precision, ST_X(geom), ST_Y(geom) "
        f"FROM open.reports AS r WHERE r.geom && {WARSAW_BBOX} "
        "ORDER BY r.occurred_on DESC, r.id DESC LIMIT 101",
    "point tile cells (z 13, 4574, 2697)":
        "SELECT sum(n) FROM open.report_cells WHERE geom_3857 && ST_TileEnvelope(13, 4574, 2697)",
}


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def measure(conn: psycopg.Connection, statement: str) -> dict:
    [[result]] = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {statement}").fetchall()
    plan = result[0]["Plan"]
    heap = sum(n.get("Exact Heap Blocks", 0) + n.get("Lossy Heap Blocks", 0) for n in _nodes(plan)
               if n["Node Type"] == "Bitmap Heap Scan")
    return {"ms": result[0]["Execution Time"], "hit": plan.get("Shared Hit Blocks", 0),
            "read": plan.get("Shared Read Blocks", 0), "heap": heap, "rows": plan["Actual Rows"],
            "nodes": [n["Node Type"] for n in _nodes(plan)]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url", help="the public role's URL (threatmap_public)")
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--json", action="store_true", help="one JSON object per statement")
    args = parser.parse_args(argv)
    with psycopg.connect(args.url) as conn:
        for name, statement in STATEMENTS.items():
            runs = [measure(conn, statement) for _ in range(args.runs)]
            first, warm = runs[0], runs[1:]
            if args.json:
                print(json.dumps({"statement": name, "runs": runs}))
                continue
            warm_ms = statistics.median(r["ms"] for r in warm) if warm else float("nan")
            print(f"{name}: first {first['ms']:.1f} ms (hit {first['hit']}, read {first['read']}), "
                  f"warm {warm_ms:.1f} ms (hit {warm[-1]['hit'] if warm else 0}); "
                  f"heap blocks {first['heap']} for {first['rows']} rows; "
                  f"plan {' > '.join(first['nodes'])}")


if __name__ == "__main__":
    main()
