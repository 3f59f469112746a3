"""The bulk path for big demo databases (benchmarks at 1,000,000 and 5,000,000 reports).

store/demo.py generates rows in Python, COPYs them through the per-row trigger, then UPDATEs
every report three times (police unit, response times, publication: three more versions of each
row and of its indexes) and rebuilds the public layer with one PL/pgSQL projection per report.
This path does the same work set-based, in the database, once per row:

1. candidates are generated in SQL from a hash of (seed, row number) (hashint8extended: the
   same seed gives the same reports, whatever the plan or the number of workers), spread like
   store/demo.py's (the same cities and weights, Box-Muller for the clusters), and placed in
   their county against ST_Subdivide'd county polygons (which also rejects points outside
   Poland);
2. core.reports gets each row once, with everything the trigger and the UPDATEs of store/demo.py
   would give it (county, police unit, read/verified/closed/published times), its per-row
   triggers disabled and its secondary indexes dropped for the load and built afterwards;
3. the history (seq, previous_hash, hash as store/sql/47_event_chain.sql) comes from one INSERT;
4. the public layer is the projection of store/sql/20_projection.sql computed per distinct cell
   centre instead of per report (a county lookup for each of a few hundred thousand centres,
   not for each of millions of reports), written in spatial order (store/reorder.py says why),
   and the aggregates of core.rebuild_public_layer with one transformation per centre instead
   of one per report and density level.

Only for an empty core.reports (a new benchmark database): the dropped indexes and disabled
triggers are the table owner's (threatmap_app) to touch, inside the load's one transaction.
`threatmap audit verify` and the consistency checks accept the result like any other
(tests/test_demo_bulk.py compares it with core.rebuild_public_layer's).
"""

import itertools
import time

import psycopg

from store.demo import CITIES, RURAL_SHARE, SOURCES, STATUS_WEIGHTS, Progress

# The tables the load fills: their keys, indexes and foreign keys (and those pointing at them)
# are dropped for the load and made again after it, a sorted build each instead of a
# million random index insertions, and one join per foreign key instead of a query and a row
# lock per key and row.
BULK_TABLES = ["core.reports", "core.report_events", "open.reports", "core.density_counts",
               "core.area_counts", "core.report_places"]

# Their triggers that this load does the work of (the per-row ones of core.reports and its
# history, the tile pyramid's of the counts) are off during it. open.reports keeps its
# statement triggers: one notice, one new data version, and whatever else keeps step with the
# public layer as a whole.
ROW_TRIGGER_TABLES = ["core.reports", "core.report_events", "core.density_counts",
                      "core.area_counts"]

FOREIGN_KEYS = """
SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE contype = 'f' AND (conrelid = ANY (%(tables)s::regclass[])
                         OR confrelid = ANY (%(tables)s::regclass[]))
ORDER BY 1, 2
"""

UNIQUE_KEYS = """
SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE contype IN ('p', 'u') AND conrelid = ANY (%(tables)s::regclass[])
ORDER BY contype, 1, 2
"""

PLAIN_INDEXES = """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index AS i
WHERE i.indrelid = ANY (%(tables)s::regclass[])
  AND NOT EXISTS (SELECT FROM pg_constraint AS c WHERE c.conindid = i.indexrelid)
ORDER BY 1
"""

COUNTY_PIECES = """
CREATE TEMP TABLE demo_counties ON COMMIT DROP AS
SELECT code, parent_code, ST_Subdivide(geom, 64) AS geom
FROM core.areas WHERE level = 'county'
"""

# u(k): a uniform number in [0, 1) from the seed and the candidate's number, k = 1, 2, ...
# (52 bits of a 64-bit hash; + 0.5 keeps it off 0 for the logarithm of Box-Muller).
UNIFORM = "((hashint8extended(n, {seed} * 64 + {k}) & 4503599627370495)::float8 + 0.5) / 4503599627370496"

# Candidate points with their draws; thresholds are the lower bounds of the cumulative weights
# (width_bucket picks the city, the category, the status, the source).
# Candidate points with their draws; thresholds are the lower bounds of the cumulative weights
# (width_bucket picks the city, the category, the status, the source). The first `count`
# candidates (by number) inside a county are the reports, with that county (the lowest code on
# a border, as the projection does).
ROWS = """
CREATE TEMP TABLE demo_rows ON COMMIT DROP AS
WITH draws AS (
    SELECT n, {u1} AS rural, {u2} AS pick, {u3} AS r1, {u4} AS r2, {u5} AS cat, {u6} AS stat,
           {u7} AS occ, {u8} AS delay, {u9} AS src
    FROM generate_series(1::bigint, %(candidates)s::bigint) AS n
), placed AS (
    SELECT d.*, width_bucket(d.pick, %(city_from)s::float8[]) AS city
    FROM draws AS d
), candidates AS (
    SELECT n,
           CASE WHEN rural < %(rural)s THEN %(west)s + pick * (%(east)s - %(west)s)
                ELSE (%(city_lon)s::float8[])[city]
                     + sqrt(-2 * ln(r1)) * cos(2 * pi() * r2) * (%(city_km)s::float8[])[city] / 70
           END AS lon,
           CASE WHEN rural < %(rural)s THEN %(south)s + r1 * (%(north)s - %(south)s)
                ELSE (%(city_lat)s::float8[])[city]
                     + sqrt(-2 * ln(r1)) * sin(2 * pi() * r2) * (%(city_km)s::float8[])[city] / 111
           END AS lat,
           (%(categories)s::text[])[width_bucket(cat, %(category_from)s::float8[])] AS category_id,
           (%(statuses)s::text[])[width_bucket(stat, %(status_from)s::float8[])] AS status,
           (%(sources)s::text[])[width_bucket(src, %(source_from)s::float8[])] AS source,
           occ, delay
    FROM placed
)
SELECT row_number() OVER (ORDER BY c.n) - 1 AS n0, c.*, k.code AS county_code
FROM candidates AS c
CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(c.lon, c.lat), 4326) AS geom) AS p
JOIN LATERAL (SELECT code FROM demo_counties AS k WHERE ST_Intersects(k.geom, p.geom)
              ORDER BY code LIMIT 1) AS k ON true
ORDER BY c.n
LIMIT %(count)s
"""

# What the reports get: uuid v4 bits from the draws, dates over two years before the hour,
# and what store/demo.py's trigger and UPDATEs would give them.
INSERT_REPORTS = """
WITH clock AS (
    SELECT date_trunc('hour', now(), 'UTC') AS now_h,
           date_trunc('hour', now() - p.publish_after, p.timezone) AS hour_cutoff,
           date_trunc('month', now() - p.publish_after, p.timezone) AS month_cutoff
    FROM core.privacy_policy AS p
), shaped AS (
    SELECT d.*, overlay(overlay(md5(%(seed)s || '-' || d.n) placing '4' from 13)
                        placing '8' from 17)::uuid AS id,
           clock.now_h - make_interval(secs => 3600 + d.occ * (730 * 86400 - 3600)) AS occurred_at
    FROM demo_rows AS d, clock
)
INSERT INTO core.reports (id, category_id, status, geom, occurred_at, created_at, source,
                          external_id, description, police_unit_id, county_code, published_at,
                          closed_at, read_at, verified_at)
SELECT r.id, r.category_id, r.status, ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326),
       r.occurred_at, t.created_at, r.source, %(prefix)s || r.n0,
       'Synthetic demo report ' || r.n0, 'kpp-' || r.county_code, r.county_code,
       CASE WHEN core.publication_due(t.created_at, c.sensitive, NOT s.is_initial,
                                      clock.hour_cutoff, clock.month_cutoff) THEN now() END,
       CASE WHEN s.is_closed THEN now() END,
       CASE WHEN NOT s.is_initial THEN t.created_at + interval '2 hours' END,
       CASE WHEN s.is_verdict
            THEN t.created_at + interval '1 hour' * (3 + abs(hashtext(r.id::text)) %% 117) END
FROM shaped AS r
CROSS JOIN clock
CROSS JOIN LATERAL (SELECT least(clock.now_h, r.occurred_at + make_interval(
                        secs => 60 + r.delay * (48 * 3600 - 60))) AS created_at) AS t
JOIN core.categories AS c ON c.id = r.category_id
JOIN core.statuses AS s ON s.id = r.status
ORDER BY r.n0
"""

# The history, chained as store/sql/47_event_chain.sql would chain it.
INSERT_EVENTS = """
WITH first AS MATERIALIZED (
    SELECT id, status, created_at,
           core.report_event_hash(NULL, id, 1, 'created', NULL, NULL, 'demo', created_at, NULL) AS h
    FROM core.reports WHERE external_id LIKE %(like)s
)
INSERT INTO core.report_events (report_id, kind, from_status, to_status, actor, at, seq,
                                previous_hash, hash)
SELECT id, 'created', NULL, NULL, 'demo', created_at, 1, NULL, h FROM first
UNION ALL
SELECT id, 'status_changed', 'new', status, 'demo', created_at + interval '2 hours', 2, h,
       core.report_event_hash(h, id, 2, 'status_changed', 'new', status, 'demo',
                              created_at + interval '2 hours', NULL)
FROM first WHERE status <> 'new'
"""

# store/sql/20_projection.sql's core.public_report, set-based: the grid cell of each report
# (the same expressions as core.cell_index), then each distinct cell centre once. Every report,
# `public` or not: each gets its kept place (core.report_places, PLACES); the public ones are
# the public layer.
REPORT_CELLS = """
CREATE TEMP TABLE demo_cells ON COMMIT DROP AS
SELECT r.id, core.is_public(r) AS public, r.category_id, r.status, r.police_unit_id AS assigned, g.cell_m,
       floor(ST_X(g.p) / g.cell_m)::integer AS cx, floor(ST_Y(g.p) / g.cell_m)::integer AS cy,
       CASE WHEN c.sensitive THEN date_trunc('month', r.occurred_at AT TIME ZONE pol.timezone)::date
            ELSE (r.occurred_at AT TIME ZONE pol.timezone)::date END AS occurred_on,
       CASE WHEN c.sensitive THEN 'month' ELSE 'day' END AS date_precision,
       CASE WHEN c.sensitive
            THEN date_trunc('month', r.published_at AT TIME ZONE pol.timezone)::date
            ELSE (r.published_at AT TIME ZONE pol.timezone)::date END AS published_on
FROM core.reports AS r
CROSS JOIN core.privacy_policy AS pol
JOIN core.categories AS c ON c.id = r.category_id
CROSS JOIN LATERAL (SELECT CASE WHEN c.sensitive THEN pol.sensitive_cell_m ELSE pol.cell_m END
                               AS cell_m,
                           ST_Transform(r.geom, 2180) AS p) AS g
"""

CENTRES = """
CREATE TEMP TABLE demo_centres ON COMMIT DROP AS
SELECT d.cell_m, d.cx, d.cy, c.geom, ST_Transform(c.geom, 3857) AS geom_3857,
       ST_Transform(c.geom, 2180) AS geom_2180, k.code AS county_code,
       k.parent_code AS voivodeship_code
FROM (SELECT DISTINCT cell_m, cx, cy FROM demo_cells) AS d
CROSS JOIN LATERAL (SELECT ST_Transform(ST_SetSRID(ST_MakePoint((d.cx + 0.5) * d.cell_m,
                                                               (d.cy + 0.5) * d.cell_m), 2180),
                                        4326) AS geom) AS c
LEFT JOIN LATERAL (SELECT p.code, p.parent_code FROM demo_counties AS p
                   WHERE ST_Intersects(p.geom, c.geom) ORDER BY p.code LIMIT 1) AS k ON true
"""

# A centre in no county (coast, border): the nearest county, as core.public_report.
CENTRES_OUTSIDE = """
UPDATE demo_centres AS d SET (county_code, voivodeship_code) = (
    SELECT a.code, a.parent_code FROM core.areas AS a WHERE a.level = 'county'
    ORDER BY a.geom <-> d.geom, a.code LIMIT 1)
WHERE d.county_code IS NULL
"""

INSERT_PUBLIC = """
WITH units AS (
    SELECT assigned, county_code, voivodeship_code,
           core.public_police_unit(assigned, county_code, voivodeship_code) AS unit
    FROM (SELECT DISTINCT p.assigned, c.county_code, c.voivodeship_code
          FROM demo_cells AS p JOIN demo_centres AS c USING (cell_m, cx, cy) WHERE p.public) AS combos
)
INSERT INTO open.reports (id, category_id, status, occurred_on, date_precision, cell_m,
                          voivodeship_code, county_code, police_unit_id, geom, geom_3857,
                          published_on)
SELECT p.id, p.category_id, p.status, p.occurred_on, p.date_precision, p.cell_m,
       c.voivodeship_code, c.county_code, u.unit, c.geom, c.geom_3857, p.published_on
FROM demo_cells AS p
JOIN demo_centres AS c USING (cell_m, cx, cy)
-- equalities on coalesce(), not IS NOT DISTINCT FROM: a hash join instead of a nested loop
LEFT JOIN units AS u ON coalesce(u.assigned, '') = coalesce(p.assigned, '')
                    AND coalesce(u.county_code, '') = coalesce(c.county_code, '')
                    AND coalesce(u.voivodeship_code, '') = coalesce(c.voivodeship_code, '')
WHERE p.public
-- the heap in spatial order (PostGIS's sort order of points, a Hilbert curve: store/reorder.py),
-- so that a small bbox's or a tile's reports share heap blocks; core.report_cells, rebuilt
-- from here (core.rebuild_report_cells), follows the same order
ORDER BY c.geom, p.id
"""

# The place kept for every report (store/sql/18_report_places.sql, which core.reports' triggers,
# off for the load, would write): its grid, cell centre and the centre's county. The staff work
# list reads it for a report not yet public instead of computing core.public_report per row.
PLACES = """
INSERT INTO core.report_places (report_id, cell_m, geom, county_code, voivodeship_code)
SELECT p.id, p.cell_m, c.geom, c.county_code, c.voivodeship_code
FROM demo_cells AS p
JOIN demo_centres AS c USING (cell_m, cx, cy)
"""

# core.rebuild_public_layer's aggregates, with the public point's EPSG:2180 coordinates
# computed once per centre (core.cell_index transforms the same point once per level).
DENSITY_COUNTS = """
INSERT INTO core.density_counts (cell_m, cx, cy, category_id, status, month, n)
SELECT levels.cell_m, floor(ST_X(c.geom_2180) / levels.cell_m)::integer,
       floor(ST_Y(c.geom_2180) / levels.cell_m)::integer, g.category_id, g.status, g.month,
       sum(g.n)
FROM (SELECT cell_m, cx, cy, category_id, status, date_trunc('month', occurred_on)::date AS month,
             count(*) AS n
      FROM demo_cells WHERE public GROUP BY 1, 2, 3, 4, 5, 6) AS g
JOIN demo_centres AS c USING (cell_m, cx, cy)
CROSS JOIN unnest((SELECT density_cell_m FROM core.privacy_policy)) AS levels(cell_m)
GROUP BY 1, 2, 3, 4, 5, 6
"""

DENSITY_CELLS = """
INSERT INTO core.density_cells (cell_m, cx, cy, geom, geom_3857, centre_3857)
SELECT d.cell_m, d.cx, d.cy, poly, ST_Transform(poly, 3857),
       ST_Transform(ST_Centroid(ST_Transform(poly, 2180)), 3857)
FROM (SELECT DISTINCT cell_m, cx, cy FROM core.density_counts) AS d
CROSS JOIN LATERAL core.cell_polygon(d.cell_m, d.cx, d.cy) AS poly
ON CONFLICT DO NOTHING
"""

AREA_COUNTS = """
INSERT INTO core.area_counts (area_code, category_id, status, month, n)
SELECT code, g.category_id, g.status, g.month, sum(g.n)
FROM (SELECT cell_m, cx, cy, category_id, status, date_trunc('month', occurred_on)::date AS month,
             count(*) AS n
      FROM demo_cells WHERE public GROUP BY 1, 2, 3, 4, 5, 6) AS g
JOIN demo_centres AS c USING (cell_m, cx, cy)
CROSS JOIN unnest(ARRAY[c.county_code, c.voivodeship_code]) AS code
WHERE code IS NOT NULL
GROUP BY 1, 2, 3, 4
"""

# The tile pyramid (store/sql/50_tile_pyramid.sql) of every cell and area at once, as
# core.add_tile_density and core.add_tile_areas build it from the counts' insert triggers.
TILE_DENSITY = """
INSERT INTO core.tile_density
    (cell_m, cx, cy, n, by_category, public_by_category, public_top, k_applied, centre_3857)
SELECT s.cell_m, s.cx, s.cy, s.n, m.by_category, m.public_by_category, m.public_top, p.k,
       core.cell_centre_3857(s.cell_m, s.cx, s.cy)
FROM (SELECT cell_m, cx, cy, sum(n)::integer AS n, jsonb_object_agg(category_id, n) AS by_category
      FROM (SELECT cell_m, cx, cy, category_id, sum(n)::integer AS n FROM core.density_counts
            GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0) AS per_category
      GROUP BY 1, 2, 3) AS s
CROSS JOIN core.privacy_policy AS p
CROSS JOIN LATERAL core.merge_counts(s.by_category, '{}'::jsonb, p.k) AS m
ORDER BY s.cell_m, s.cx, s.cy
"""

TILE_AREAS = """
INSERT INTO core.tile_areas (area_code, n, by_category, public_by_category, public_top, k_applied)
SELECT s.area_code, s.n, m.by_category, m.public_by_category, m.public_top, p.k
FROM (SELECT area_code, sum(n)::integer AS n, jsonb_object_agg(category_id, n) AS by_category
      FROM (SELECT area_code, category_id, sum(n)::integer AS n FROM core.area_counts
            GROUP BY 1, 2 HAVING sum(n) <> 0) AS per_category
      GROUP BY 1) AS s
CROSS JOIN core.privacy_policy AS p
CROSS JOIN LATERAL core.merge_counts(s.by_category, '{}'::jsonb, p.k) AS m
ORDER BY s.area_code
"""


def _lower_bounds(weights: list[float]) -> list[float]:
    """width_bucket thresholds: the lower bound of each choice's share of [0, 1)."""
    total = sum(weights)
    return [0.0, *(s / total for s in itertools.accumulate(weights[:-1]))]


def _category_weights(seed: int, count: int) -> list[float]:
    """Deterministic per seed, 0.3-3.0 like store/demo.py's (not the same draws)."""
    return [0.3 + 2.7 * (((seed * 7919 + 104729 * (i + 1)) % 1000) / 1000) for i in range(count)]


def candidate_params(seed: int, count: int, factor: float, categories: list[str],
                     bounds: tuple[float, float, float, float]) -> dict:
    west, south, east, north = bounds
    statuses = list(STATUS_WEIGHTS)
    sources = sorted(set(SOURCES))
    return {
        "candidates": int(count * factor) + 1000, "rural": RURAL_SHARE,
        "west": west, "south": south, "east": east, "north": north,
        "city_from": _lower_bounds([pop for *_, pop in CITIES]),
        "city_lon": [lon for _, lon, _, _ in CITIES], "city_lat": [lat for _, _, lat, _ in CITIES],
        "city_km": [2.0 + pop ** 0.5 / 4 for *_, pop in CITIES],
        "categories": categories,
        "category_from": _lower_bounds(_category_weights(seed, len(categories))),
        "statuses": statuses, "status_from": _lower_bounds([STATUS_WEIGHTS[s] for s in statuses]),
        "sources": sources, "source_from": _lower_bounds([SOURCES.count(s) for s in sources]),
    }


def load_demo_bulk(conn: psycopg.Connection, count: int, seed: int,
                   progress: Progress | None = None) -> int:
    """Loads `count` demo reports into an empty core.reports the bulk way (see the module's
    docstring) in one transaction of its own (`conn` must be idle: no transaction open), then
    vacuums what it loaded. Returns how many it added (0 when core.reports is not empty: use
    store.demo.load_demo there)."""
    say = progress or (lambda _: None)
    started = time.monotonic()
    last = [started]

    def step(text: str) -> None:
        now = time.monotonic()
        say(f"demo data (bulk), {now - started:.0f} s (+{now - last[0]:.0f} s): {text}")
        last[0] = now

    prefix = f"demo-{seed}-"
    with conn.transaction():
        if conn.execute("SELECT EXISTS (SELECT FROM core.reports)").fetchone()[0]:
            return 0
        conn.execute("SET LOCAL threatmap.bulk = 'on'")
        conn.execute("SET LOCAL maintenance_work_mem = '1GB'")
        conn.execute("SET LOCAL work_mem = '256MB'")
        conn.execute("SET LOCAL max_parallel_workers_per_gather = 0")  # the machine is shared
        conn.execute(f"LOCK TABLE {', '.join(BULK_TABLES)} IN ACCESS EXCLUSIVE MODE")
        tables = {"tables": BULK_TABLES}
        foreign = conn.execute(FOREIGN_KEYS, tables).fetchall()
        unique = conn.execute(UNIQUE_KEYS, tables).fetchall()
        plain = conn.execute(PLAIN_INDEXES, tables).fetchall()
        for table, name, _ in [*foreign, *unique]:
            conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        for name, _ in plain:
            conn.execute(f"DROP INDEX {name}")
        for table in ROW_TRIGGER_TABLES:
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        categories = [r[0] for r in conn.execute(
            "SELECT id FROM core.categories WHERE active ORDER BY sort_order")]
        conn.execute(COUNTY_PIECES)
        conn.execute("CREATE INDEX ON demo_counties USING gist (geom)")
        conn.execute("ANALYZE demo_counties")
        bounds = conn.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                              "(SELECT ST_Extent(geom) AS e FROM demo_counties) AS x").fetchone()
        step(f"{len(unique)} keys, {len(plain)} indexes, {len(foreign)} foreign keys dropped; "
             "county pieces ready")
        placed = 0
        for factor in (1.3, 2.0, 4.0):
            conn.execute("DROP TABLE IF EXISTS demo_rows")
            params = candidate_params(seed, count, factor, categories, bounds)
            conn.execute(ROWS.format(**{f"u{k}": UNIFORM.format(seed=seed, k=k)
                                        for k in range(1, 10)}), {**params, "count": count})
            placed = conn.execute("SELECT count(*) FROM demo_rows").fetchone()[0]
            step(f"{params['candidates']:,} candidates generated, {placed:,} placed in counties")
            if placed == count:
                break
        if placed != count:
            raise RuntimeError(f"only {placed} of {count} demo reports fell inside Poland")
        conn.execute(INSERT_REPORTS, {"seed": seed, "prefix": prefix})
        step(f"{count:,} reports inserted (county, unit, times, publication)")
        conn.execute(INSERT_EVENTS, {"like": prefix + "%"})
        step("history written (chained)")
        conn.execute(REPORT_CELLS)
        conn.execute(CENTRES)
        conn.execute(CENTRES_OUTSIDE)
        centres = conn.execute("SELECT count(*) FROM demo_centres").fetchone()[0]
        placed = conn.execute(PLACES).rowcount
        step(f"public projection: {centres:,} distinct cell centres, {placed:,} reports placed")
        # open.reports' statement triggers would add each public report to the cells, totals
        # and squares kept per point, area and square (27_cell_counts.sql, 28_report_totals.sql,
        # 29_report_squares.sql) through arrays of a million elements; deferred, as
        # core.rebuild_public_layer defers them, and rebuilt set-based once
        conn.execute("SELECT set_config('threatmap.counts_deferred', 'on', true)")
        published = conn.execute(INSERT_PUBLIC).rowcount
        conn.execute("SELECT set_config('threatmap.counts_deferred', 'off', true)")
        step(f"{published:,} public reports")
        conn.execute("SELECT core.rebuild_report_cells()")
        conn.execute("SELECT core.rebuild_report_totals()")
        conn.execute("SELECT core.rebuild_report_squares()")
        step("cells, totals and squares kept per point, area and square")
        conn.execute("DELETE FROM core.density_counts")
        conn.execute("DELETE FROM core.area_counts")
        conn.execute(DENSITY_COUNTS)
        conn.execute(DENSITY_CELLS)
        conn.execute(AREA_COUNTS)
        conn.execute("SELECT core.recount_density_cells()")
        conn.execute("DELETE FROM core.tile_density")
        conn.execute("DELETE FROM core.tile_areas")
        conn.execute(TILE_DENSITY)
        conn.execute(TILE_AREAS)
        step("aggregates and tile pyramid")
        for table in ROW_TRIGGER_TABLES:
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        for table, name, definition in unique:
            conn.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
        for _, definition in plain:
            conn.execute(definition)
        step(f"{len(unique)} keys and {len(plain)} indexes built")
        for table, name, definition in foreign:
            conn.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
        step(f"{len(foreign)} foreign keys checked")
    step(f"{count:,} demo reports committed")
    # Statistics, hint bits and the visibility map (index-only scans) now rather than whenever
    # autovacuum gets to millions of new rows, in the middle of a measurement. VACUUM runs
    # outside a transaction.
    autocommit = conn.autocommit
    conn.autocommit = True
    try:
        for table in (*BULK_TABLES, "core.density_cells", "core.tile_density", "core.tile_areas"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
    finally:
        conn.autocommit = autocommit
    step("vacuumed and analyzed")
    return count
