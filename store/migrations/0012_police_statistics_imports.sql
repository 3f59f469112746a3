-- Police statistics imports (issue 15, points 1-3): the catalogue of statistic kinds, every
-- import recorded (who, when, the file's checksum, rows), the source of each figure, residents
-- per area (for rates per 100,000) and the dangerous road sections.
--
-- A figure is replaced by importing the same source and period again (policestats/importer.py):
-- never added twice.
SET LOCAL ROLE threatmap_app;

CREATE TABLE core.statistic_imports (
    id           bigserial PRIMARY KEY,
    source       text NOT NULL CHECK (source <> ''),
    kind         text NOT NULL CHECK (kind IN ('stats', 'roads', 'population')),
    file_name    text NOT NULL,
    sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    rows         integer NOT NULL CHECK (rows >= 0),
    replaced     integer NOT NULL DEFAULT 0 CHECK (replaced >= 0),
    period_from  date,
    period_to    date,
    actor        text NOT NULL,
    imported_at  timestamptz NOT NULL DEFAULT now()
);

-- The catalogue of statistic kinds (config/statistic_kinds.yml, loaded by each import and seed).
CREATE TABLE core.statistic_kinds (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9_-]+$'),
    group_id    text NOT NULL,
    name_pl     text NOT NULL,
    name_en     text NOT NULL,
    since       date,
    sort_order  integer NOT NULL DEFAULT 0
);

-- Kinds use underscores (fraud_grandchild): the baseline allowed hyphens only.
ALTER TABLE core.police_statistics DROP CONSTRAINT police_statistics_offence_check;
ALTER TABLE core.police_statistics ADD CONSTRAINT police_statistics_offence_check
    CHECK (offence ~ '^[a-z0-9_-]+$');
ALTER TABLE core.police_statistics
    ADD COLUMN source text NOT NULL DEFAULT 'manual',
    ADD COLUMN import_id bigint REFERENCES core.statistic_imports ON DELETE SET NULL;
CREATE INDEX police_statistics_source_month ON core.police_statistics (source, month);
CREATE INDEX police_statistics_month ON core.police_statistics (month, offence);

-- Residents per area and year (GUS: the population on 31 December), for rates per 100,000.
CREATE TABLE core.area_population (
    area_code  text NOT NULL REFERENCES core.areas,
    year       integer NOT NULL CHECK (year BETWEEN 1900 AND 2200),
    residents  integer NOT NULL CHECK (residents > 0),
    source     text NOT NULL,
    import_id  bigint REFERENCES core.statistic_imports ON DELETE SET NULL,
    PRIMARY KEY (area_code, year)
);

-- Road sections with their incidents over a period (months from period_from to period_to).
CREATE TABLE core.road_sections (
    id           bigserial PRIMARY KEY,
    source       text NOT NULL,
    import_id    bigint REFERENCES core.statistic_imports ON DELETE SET NULL,
    road         text NOT NULL,
    km_from      numeric(8, 3) NOT NULL CHECK (km_from >= 0),
    km_to        numeric(8, 3) NOT NULL CHECK (km_to >= km_from),
    period_from  date NOT NULL CHECK (period_from = date_trunc('month', period_from)::date),
    period_to    date NOT NULL CHECK (period_to = date_trunc('month', period_to)::date
                                      AND period_to >= period_from),
    incidents    integer NOT NULL CHECK (incidents >= 0),
    deaths       integer NOT NULL CHECK (deaths >= 0),
    injuries     integer NOT NULL CHECK (injuries >= 0),
    geom         geometry(MultiLineString, 2180) NOT NULL,
    geom_4326    geometry(MultiLineString, 4326) NOT NULL,
    geom_3857    geometry(MultiLineString, 3857) NOT NULL
);
CREATE INDEX road_sections_source_period ON core.road_sections (source, period_from, period_to);
CREATE INDEX road_sections_geom_3857 ON core.road_sections USING gist (geom_3857);
