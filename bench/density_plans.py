"""`python -m bench.density_plans DATABASE_URL [--base REV]`: the plans of the readers of
open.report_density and open.ogc_report_density (store/sql/60_open_views.sql, 70_ogc_views.sql)
with this database's views and, in a rolled-back transaction, those of a git revision (default
04e37d7, before the issue 16 review made the OGC view read the other), alternating 3 rounds:
EXPLAIN ANALYZE's median time, the top node's shared buffers and the plan's nodes of each, and
whether the two plans are the same node for node. DATABASE_URL: the owner role (threatmap_app);
nothing is kept."""

import argparse
import subprocess
from typing import Any

import psycopg

from bench.common import PROJECT_ROOT

WARSAW_3857 = "ST_Transform(ST_MakeEnvelope(20.85, 52.10, 21.27, 52.37, 4326), 3857)"
KEY = "ORDER BY cell_m, cx, cy, category_id, status, month"
QUERIES = {
    "OGC density page, unfiltered, offset 10000":
        f"SELECT * FROM open.ogc_report_density {KEY} LIMIT 100 OFFSET 10000",
    "OGC density page, Warsaw bbox":
        "SELECT * FROM open.ogc_report_density WHERE ST_Intersects(geom, ST_MakeEnvelope("
        f"20.85, 52.10, 21.27, 52.37, 4326)) {KEY} LIMIT 100",
    "OGC density page, status filter":
        f"SELECT * FROM open.ogc_report_density WHERE status = 'confirmed' {KEY} LIMIT 100",
    "OGC density total": "SELECT features FROM open.ogc_report_density_total",
    "tile density layer, filtered, Warsaw (tiles/queries.py DENSITY_FILTERED's inner part)":
        "SELECT d.cx, d.cy, d.category_id, sum(d.count) FROM open.report_density AS d "
        f"WHERE d.cell_m = 1000 AND d.centre_3857 && {WARSAW_3857} "
        "AND d.category_id = ANY(ARRAY['vandalism']) GROUP BY 1, 2, 3",
    "downloads' density export, a month (store/exports.py DENSITY)":
        "SELECT d.cell_m, d.cx, d.cy, d.category_id, d.status, d.month, d.count, d.geom "
        "FROM open.report_density AS d WHERE d.month >= date_trunc('month', now() - interval '2 months') "
        "AND d.month < date_trunc('month', now() - interval '1 month') "
        "ORDER BY d.cell_m, d.cx, d.cy, d.category_id, d.status, d.month",
}


def view_text(sql_text: str, name: str) -> str:
    start = sql_text.index(f"CREATE OR REPLACE VIEW {name} AS")
    return sql_text[start:sql_text.index(";", start) + 1]


def plan(conn: psycopg.Connection, query: str) -> tuple[float, int, list[str]]:
    top = conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + query).fetchone()[0][0]
    nodes: list[str] = []

    def walk(node: dict[str, Any], depth: int) -> None:
        where = f" on {node['Relation Name']}" if "Relation Name" in node else ""
        index = f" using {node['Index Name']}" if "Index Name" in node else ""
        nodes.append("  " * depth + node["Node Type"] + where + index)
        for child in node.get("Plans", []):
            walk(child, depth + 1)

    walk(top["Plan"], 0)
    buffers = top["Plan"].get("Shared Hit Blocks", 0) + top["Plan"].get("Shared Read Blocks", 0)
    return top["Execution Time"], buffers, nodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database_url", help="the owner role (threatmap_app)")
    parser.add_argument("--base", default="04e37d7")
    args = parser.parse_args()
    base = [view_text(subprocess.run(["git", "-C", str(PROJECT_ROOT), "show", f"{args.base}:{path}"],
                                     capture_output=True, text=True, check=True).stdout, name)
            for path, name in (("store/sql/60_open_views.sql", "open.report_density"),
                               ("store/sql/70_ogc_views.sql", "open.ogc_report_density"))]
    with psycopg.connect(args.database_url) as conn:
        for name, query in QUERIES.items():
            results: dict[str, list[tuple[float, int, list[str]]]] = {"base": [], "this": []}
            for _ in range(3):
                for way in ("base", "this"):
                    conn.execute("SET LOCAL jit = off")
                    if way == "base":
                        for text in base:
                            conn.execute(text)
                    results[way].append(plan(conn, query))
                    conn.rollback()
            print(f"### {name}")
            for way in ("base", "this"):
                times = sorted(r[0] for r in results[way])
                print(f"{args.base if way == 'base' else 'this database'}: median {times[1]:.1f} ms "
                      f"(of 3, alternating), buffers {results[way][-1][1]}")
                print("\n".join("    " + node for node in results[way][-1][2]))
            print("same plan:", results["base"][-1][2] == results["this"][-1][2], flush=True)


if __name__ == "__main__":
    main()
