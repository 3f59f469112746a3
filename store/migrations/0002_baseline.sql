-- The tables of threatmap as migrations 0002-0060 left them (squashed before any deployment;
-- scripts/compare-schema.py shows a database built from this baseline has the schema of one
-- built by those migrations). Data only: tables, columns, indexes, constraints, partitions,
-- grants, the rows the service cannot start without. The code that keeps them (functions,
-- triggers, the views of `open`) has one current text in store/sql/, applied after the
-- migrations.
-- Run by the migrating (super)user; every object below belongs to the application role.
GRANT SELECT ON public.threatmap_sql_files TO threatmap_app;

-- The private truth. Everything in `core` belongs to the application role; the public role
-- has no USAGE on this schema and therefore cannot read any of it.
SET LOCAL ROLE threatmap_app;

CREATE TABLE core.category_groups (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name_pl     text NOT NULL CHECK (name_pl <> ''),
    name_en     text NOT NULL CHECK (name_en <> ''),
    sort_order  integer NOT NULL DEFAULT 0
);

CREATE TABLE core.categories (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    group_id    text NOT NULL REFERENCES core.category_groups,
    name_pl     text NOT NULL CHECK (name_pl <> ''),
    name_en     text NOT NULL CHECK (name_en <> ''),
    colour      text NOT NULL CHECK (colour ~ '^#[0-9a-f]{6}$'),
    icon        text NOT NULL CHECK (icon ~ '^[a-z0-9-]+$'),
    sensitive   boolean NOT NULL DEFAULT false,
    active      boolean NOT NULL DEFAULT true,
    sort_order  integer NOT NULL DEFAULT 0
);

CREATE TABLE core.statuses (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9_]+$'),
    name_pl     text NOT NULL CHECK (name_pl <> ''),
    name_en     text NOT NULL CHECK (name_en <> ''),
    is_initial  boolean NOT NULL DEFAULT false,
    is_closed   boolean NOT NULL DEFAULT false,
    sort_order  integer NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX statuses_one_initial ON core.statuses (is_initial) WHERE is_initial;

-- The KMZB workflow as data: a status change not listed here is refused by the database
-- (trigger reports_status_transition, store/sql/15_workflow.sql).
CREATE TABLE core.status_transitions (
    from_status text NOT NULL REFERENCES core.statuses,
    to_status   text NOT NULL REFERENCES core.statuses,
    PRIMARY KEY (from_status, to_status),
    CHECK (from_status <> to_status)
);

CREATE TABLE core.areas (
    code        text PRIMARY KEY CHECK (code ~ '^[0-9]{2}([0-9]{2})?$'),
    level       text NOT NULL CHECK (level IN ('voivodeship', 'county')),
    name        text NOT NULL CHECK (name <> ''),
    parent_code text REFERENCES core.areas,
    geom        geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    geom_3857   geometry(MultiPolygon, 3857) GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED,
    CHECK ((level = 'voivodeship') = (parent_code IS NULL)),
    CHECK ((level = 'voivodeship') = (length(code) = 2))
);
CREATE INDEX areas_geom ON core.areas USING gist (geom);
CREATE INDEX areas_geom_3857 ON core.areas USING gist (geom_3857);

CREATE TABLE core.police_units (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9-]+$'),
    name        text NOT NULL CHECK (name <> ''),
    level       text NOT NULL CHECK (level IN ('voivodeship', 'county')),
    area_code   text NOT NULL UNIQUE REFERENCES core.areas,
    parent_id   text REFERENCES core.police_units
);

CREATE TABLE core.reports (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    category_id         text NOT NULL REFERENCES core.categories,
    status              text NOT NULL REFERENCES core.statuses,
    geom                geometry(Point, 4326) NOT NULL CHECK (
                            NOT ST_IsEmpty(geom)
                            AND ST_X(geom) BETWEEN -180 AND 180
                            AND ST_Y(geom) BETWEEN -90 AND 90),
    occurred_at         timestamptz NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    description         text CHECK (char_length(description) <= 4000),
    contact             text CHECK (char_length(contact) <= 500),
    source              text NOT NULL DEFAULT 'citizen' CHECK (source IN (
                            'citizen', 'local_government', 'ngo', 'police_system', 'partner_platform')),
    police_unit_id      text REFERENCES core.police_units,
    county_code         text REFERENCES core.areas,
    idempotency_key     text UNIQUE CHECK (char_length(idempotency_key) BETWEEN 1 AND 200),
    payload_hash        text,
    external_id         text CHECK (char_length(external_id) BETWEEN 1 AND 200),
    tracking_token_hash bytea UNIQUE,
    abusive             boolean NOT NULL DEFAULT false,
    published_at        timestamptz,
    closed_at           timestamptz,
    contact_erased_at   timestamptz,
    UNIQUE (source, external_id),
    CHECK (occurred_at <= created_at + interval '5 minutes'),
    CHECK (contact_erased_at IS NULL OR contact IS NULL)
);
CREATE INDEX reports_geom ON core.reports USING gist (geom);
CREATE INDEX reports_status ON core.reports (status);
CREATE INDEX reports_unpublished ON core.reports (created_at) WHERE published_at IS NULL;
CREATE INDEX reports_closed_with_contact ON core.reports (closed_at) WHERE contact IS NOT NULL;
-- The police's work list (GraphQL `staffReports`) pages through core.reports newest first by
-- exact time, within a county (or a voivodeship's counties) and the reports handed to a unit,
-- usually filtered by status. The first index carries every column those filters read, so a
-- page's keys come from an index-only scan (no heap visit per skipped report); the other two
-- serve small scopes (a county with few reports, the reports handed to a unit).
CREATE INDEX reports_worklist ON core.reports (occurred_at, id)
    INCLUDE (county_code, police_unit_id, status, category_id, source);
CREATE INDEX reports_county_occurred ON core.reports (county_code, occurred_at, id);
CREATE INDEX reports_police_unit ON core.reports (police_unit_id) WHERE police_unit_id IS NOT NULL;

CREATE TABLE core.report_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    report_id   uuid NOT NULL REFERENCES core.reports ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN (
                    'created', 'status_changed', 'assigned', 'information_added',
                    'marked_abusive', 'contact_erased')),
    from_status text REFERENCES core.statuses,
    to_status   text REFERENCES core.statuses,
    actor       text NOT NULL CHECK (actor <> ''),
    at          timestamptz NOT NULL DEFAULT now(),
    comment     text CHECK (char_length(comment) <= 4000),
    CHECK ((kind = 'status_changed') = (from_status IS NOT NULL AND to_status IS NOT NULL))
);
CREATE INDEX report_events_report ON core.report_events (report_id, at);

-- Counts imported from police IT systems (pillar 1), per area, offence and month.
CREATE TABLE core.police_statistics (
    area_code   text NOT NULL REFERENCES core.areas,
    offence     text NOT NULL CHECK (offence ~ '^[a-z0-9-]+$'),
    month       date NOT NULL CHECK (month = date_trunc('month', month)::date),
    count       integer NOT NULL CHECK (count >= 0),
    PRIMARY KEY (area_code, offence, month)
);

-- ---------------------------------------------------------------------------------------
-- The anonymized public layer. Everything a public door may read lives in schema `open`;
-- it is derived from `core` by the triggers of store/sql/ under one policy
-- (core.privacy_policy, loaded from config/privacy.yml by the application).
CREATE TABLE core.privacy_policy (
    singleton           boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    cell_m              integer NOT NULL DEFAULT 250 CHECK (cell_m > 0),
    sensitive_cell_m    integer NOT NULL DEFAULT 1000 CHECK (sensitive_cell_m > 0),
    k                   integer NOT NULL DEFAULT 3 CHECK (k >= 1),
    publish_after       interval NOT NULL DEFAULT '24 hours',
    contact_retention   interval NOT NULL DEFAULT '30 days',
    density_cell_m      integer[] NOT NULL DEFAULT '{1000,2000,4000,8000,16000,32000,64000}',
    timezone            text NOT NULL DEFAULT 'Europe/Warsaw',
    CHECK (density_cell_m[1] % cell_m = 0 AND density_cell_m[1] % sensitive_cell_m = 0)
);
INSERT INTO core.privacy_policy DEFAULT VALUES;
-- One row, never analysed by autovacuum: unanalysed it is planned as 590 rows, which
-- inflates every plan that joins it (and tips tile queries into JIT compilation).
ANALYZE core.privacy_policy;

-- Counter bumped by every change of the public layer: tile caches and ETags key on it.
CREATE TABLE core.data_version (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version     bigint NOT NULL DEFAULT 1
);
INSERT INTO core.data_version DEFAULT VALUES;

-- The public reports: exactly the public columns, kept in step with core.reports by trigger
-- (store/sql/30_publication.sql; what each column shows: core.public_report in
-- store/sql/20_projection.sql).
CREATE TABLE open.reports (
    id                  uuid PRIMARY KEY,
    category_id         text NOT NULL,
    status              text NOT NULL,
    occurred_on         date NOT NULL,
    date_precision      text NOT NULL CHECK (date_precision IN ('day', 'month')),
    cell_m              integer NOT NULL,
    voivodeship_code    text,
    county_code         text,
    police_unit_id      text,
    geom                geometry(Point, 4326) NOT NULL,
    geom_3857           geometry(Point, 3857) NOT NULL
);
CREATE INDEX open_reports_geom ON open.reports USING gist (geom);
CREATE INDEX open_reports_geom_3857 ON open.reports USING gist (geom_3857);
CREATE INDEX open_reports_occurred_on ON open.reports (occurred_on);
CREATE INDEX open_reports_county ON open.reports (county_code);
-- open.reports is a table, and a table's system columns are readable with a table-wide
-- SELECT: xmin is the id of the transaction that published or last changed each row, which
-- anyone who samples the transaction counter can turn into a time. The public role has
-- SELECT on the named columns only, which does not cover xmin, ctid or tableoid.
-- (A new column of open.reports needs its own GRANT SELECT (column) here.)
REVOKE ALL ON open.reports FROM threatmap_public;
GRANT SELECT (id, category_id, status, occurred_on, date_precision, cell_m, voivodeship_code,
              county_code, police_unit_id, geom, geom_3857) ON open.reports TO threatmap_public;

-- Unsuppressed counts, private: the open views publish them with small counts removed.
CREATE TABLE core.density_counts (
    cell_m      integer NOT NULL,
    cx          integer NOT NULL,
    cy          integer NOT NULL,
    category_id text NOT NULL,
    status      text NOT NULL,
    month       date NOT NULL,
    n           integer NOT NULL CHECK (n >= 0),
    PRIMARY KEY (cell_m, cx, cy, category_id, status, month)
);
-- Each density cell carries its unsuppressed total (n), kept by the same trigger path as the
-- counts, so that open.report_density_totals is an indexed read: summing every count of a
-- level before filtering by place took 4.8 s for one bounding box on 1,000,000 reports.
CREATE TABLE core.density_cells (
    cell_m      integer NOT NULL,
    cx          integer NOT NULL,
    cy          integer NOT NULL,
    geom        geometry(Polygon, 4326) NOT NULL,
    geom_3857   geometry(Polygon, 3857) NOT NULL,
    centre_3857 geometry(Point, 3857) NOT NULL,
    n           integer NOT NULL DEFAULT 0 CHECK (n >= 0),
    PRIMARY KEY (cell_m, cx, cy)
);
CREATE INDEX density_cells_geom ON core.density_cells USING gist (geom);
CREATE INDEX density_cells_centre_3857 ON core.density_cells USING gist (centre_3857);

CREATE TABLE core.area_counts (
    area_code   text NOT NULL REFERENCES core.areas,
    category_id text NOT NULL,
    status      text NOT NULL,
    month       date NOT NULL,
    n           integer NOT NULL CHECK (n >= 0),
    PRIMARY KEY (area_code, category_id, status, month)
);

-- ---------------------------------------------------------------------------------------
-- What the tile endpoint reads below the switch zoom: the density pyramid and area totals,
-- one row per cell (per area) with its total and its counts per category, kept in step with
-- core.density_counts / core.area_counts by statement triggers (store/sql/50_tile_pyramid.sql),
-- so that a tile reads a few hundred precomputed rows instead of aggregating the counts per
-- request.
--
-- The tables are private (unsuppressed counts, like the counts they derive from); the public
-- role reads them through open.tile_density / open.tile_areas, which suppress counts below k.
-- The per-category counts are stored suppressed under the k they were computed with
-- (k_applied); should k change without a rebuild, the views recompute them.
--
-- One partition per density level, so a tile query prunes to one level and its GiST index.
-- Room on every page for the next version of its rows (fill factor), so that updating a cell's
-- counts is a HOT update (no new entry in the primary key or the GiST index on centre_3857);
-- measured on 100,000 reports right after a rebuild (bench/RESULTS.md): a published insert
-- median 5.6 -> 4.3 ms, p95 9.9 -> 4.9 ms. Each partition is clustered on its primary key
-- (grid order), so a `CLUSTER` after a bulk load rewrites it at its fill factor in that order.
CREATE TABLE core.tile_density (
    cell_m          integer NOT NULL,
    cx              integer NOT NULL,
    cy              integer NOT NULL,
    n               integer NOT NULL,
    by_category     jsonb NOT NULL,          -- unsuppressed {category: n}
    public_by_category jsonb NOT NULL,       -- {category: n} with n >= k_applied only
    public_top      text,                    -- the most frequent category of those
    k_applied       integer NOT NULL,
    centre_3857     geometry(Point, 3857) NOT NULL,
    PRIMARY KEY (cell_m, cx, cy)
) PARTITION BY LIST (cell_m);
CREATE INDEX tile_density_centre ON core.tile_density USING gist (centre_3857);
DO $$
DECLARE
    level_m integer;
BEGIN
    FOREACH level_m IN ARRAY ARRAY[1000, 2000, 4000, 8000, 16000, 32000, 64000] LOOP
        EXECUTE format('CREATE TABLE core.tile_density_%s PARTITION OF core.tile_density '
                       'FOR VALUES IN (%s) WITH (fillfactor = 80)', level_m, level_m);
        EXECUTE format('ALTER TABLE core.tile_density_%s CLUSTER ON tile_density_%s_pkey',
                       level_m, level_m);
    END LOOP;
END
$$;
CREATE TABLE core.tile_density_other PARTITION OF core.tile_density DEFAULT
    WITH (fillfactor = 80);
ALTER TABLE core.tile_density_other CLUSTER ON tile_density_other_pkey;

CREATE TABLE core.tile_areas (
    area_code           text PRIMARY KEY REFERENCES core.areas ON DELETE CASCADE,
    n                   integer NOT NULL,
    by_category         jsonb NOT NULL,
    public_by_category  jsonb NOT NULL,
    public_top          text,
    k_applied           integer NOT NULL
) WITH (fillfactor = 50);   -- ~400 rows, updated by every report
ALTER TABLE core.tile_areas CLUSTER ON tile_areas_pkey;

-- The areas layer's outlines clipped once, not at every request: ST_AsMVTGeom of the county
-- and voivodeship polygons cost a z 5 tile about 5 ms (0.3 ms a polygon: clipping, snapping to
-- the tile grid, making the result valid), against about 1.5 ms for its density layer
-- (measured on 100,000 reports). Each area's outline is stored per tile it touches, already in
-- tile coordinates (extent 4096, buffer 64, as tiles.queries asks), for zooms 0-11 (the areas
-- layer stops at the switch zoom, 12) and both levels; a tile then only joins the counts.
-- Kept in step with core.areas by statement triggers (store/sql/55_area_tiles.sql).
-- Public data: the boundaries are published as they are in open.areas.
CREATE TABLE core.area_tiles (
    z       integer NOT NULL,
    x       integer NOT NULL,
    y       integer NOT NULL,
    code    text NOT NULL REFERENCES core.areas ON DELETE CASCADE,
    geom    geometry NOT NULL,           -- ST_AsMVTGeom's output: tile coordinates, no SRID
    PRIMARY KEY (z, x, y, code)
);
CREATE INDEX area_tiles_code ON core.area_tiles (code);
