-- The anonymized public layer. Everything a public door may read lives in schema `open`;
-- it is derived from `core` by triggers in one place (this file) under one policy
-- (core.privacy_policy, loaded from config/privacy.yml by the application).
SET LOCAL ROLE threatmap_app;

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

-- Counter bumped by every change of the public layer: tile caches and ETags key on it.
CREATE TABLE core.data_version (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version     bigint NOT NULL DEFAULT 1
);
INSERT INTO core.data_version DEFAULT VALUES;

-- The public reports: exactly the public columns, kept in step with core.reports by trigger.
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

-- Unsuppressed counts, private: the open views below publish them with small counts removed.
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
CREATE TABLE core.density_cells (
    cell_m      integer NOT NULL,
    cx          integer NOT NULL,
    cy          integer NOT NULL,
    geom        geometry(Polygon, 4326) NOT NULL,
    geom_3857   geometry(Polygon, 3857) NOT NULL,
    centre_3857 geometry(Point, 3857) NOT NULL,
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

-- The public place of a point: the centre of its cell in the EPSG:2180 grid.
CREATE FUNCTION core.cell_index(g geometry, cell_m integer) RETURNS integer[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT ARRAY[floor(ST_X(p) / cell_m)::integer, floor(ST_Y(p) / cell_m)::integer]
    FROM (SELECT ST_Transform(g, 2180) AS p) AS projected
$$;

CREATE FUNCTION core.cell_centre(g geometry, cell_m integer) RETURNS geometry
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT ST_Transform(ST_SetSRID(ST_MakePoint((i[1] + 0.5) * cell_m, (i[2] + 0.5) * cell_m), 2180), 4326)
    FROM (SELECT core.cell_index(g, cell_m) AS i) AS cell
$$;

CREATE FUNCTION core.cell_polygon(cell_m integer, cx integer, cy integer) RETURNS geometry
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT ST_Transform(ST_MakeEnvelope(cx::float8 * cell_m, cy::float8 * cell_m,
                                        (cx + 1)::float8 * cell_m, (cy + 1)::float8 * cell_m, 2180), 4326)
$$;

-- The public projection of one report row: what open.reports shows of it.
CREATE FUNCTION core.public_report(r core.reports) RETURNS open.reports
LANGUAGE plpgsql STABLE AS $$
DECLARE
    policy      core.privacy_policy;
    sensitive   boolean;
    result      open.reports;
    local_time  timestamp;
BEGIN
    SELECT * INTO policy FROM core.privacy_policy;
    SELECT c.sensitive INTO sensitive FROM core.categories AS c WHERE c.id = r.category_id;
    local_time := r.occurred_at AT TIME ZONE policy.timezone;
    result.id := r.id;
    result.category_id := r.category_id;
    result.status := r.status;
    result.cell_m := CASE WHEN sensitive THEN policy.sensitive_cell_m ELSE policy.cell_m END;
    result.geom := core.cell_centre(r.geom, result.cell_m);
    result.geom_3857 := ST_Transform(result.geom, 3857);
    IF sensitive THEN
        result.occurred_on := date_trunc('month', local_time)::date;
        result.date_precision := 'month';
    ELSE
        result.occurred_on := local_time::date;
        result.date_precision := 'day';
    END IF;
    -- Areas of the public point, so that they tell nothing the point does not; at a border
    -- where the cell centre falls outside every county, the report's own county is used.
    SELECT a.code, a.parent_code INTO result.county_code, result.voivodeship_code
    FROM core.areas AS a
    WHERE a.level = 'county' AND ST_Intersects(a.geom, result.geom)
    LIMIT 1;
    IF result.county_code IS NULL THEN
        SELECT a.code, a.parent_code INTO result.county_code, result.voivodeship_code
        FROM core.areas AS a WHERE a.code = r.county_code;
    END IF;
    SELECT u.id INTO result.police_unit_id FROM core.police_units AS u
    WHERE u.id = r.police_unit_id;
    RETURN result;
END
$$;

CREATE FUNCTION core.is_public(r core.reports) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT r.published_at IS NOT NULL AND NOT r.abusive
$$;

-- Adds (delta = 1) or removes (delta = -1) one public report from the aggregates.
CREATE FUNCTION core.count_public_report(p open.reports, in_month date, delta integer)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    level_m integer;
    idx     integer[];
BEGIN
    FOREACH level_m IN ARRAY (SELECT density_cell_m FROM core.privacy_policy) LOOP
        idx := core.cell_index(p.geom, level_m);
        IF delta > 0 THEN
            INSERT INTO core.density_cells (cell_m, cx, cy, geom, geom_3857, centre_3857)
            SELECT level_m, idx[1], idx[2], poly, ST_Transform(poly, 3857),
                   ST_Transform(ST_Centroid(ST_Transform(poly, 2180)), 3857)
            FROM core.cell_polygon(level_m, idx[1], idx[2]) AS poly
            ON CONFLICT DO NOTHING;
        END IF;
        INSERT INTO core.density_counts AS d (cell_m, cx, cy, category_id, status, month, n)
        VALUES (level_m, idx[1], idx[2], p.category_id, p.status, in_month, greatest(delta, 0))
        ON CONFLICT ON CONSTRAINT density_counts_pkey DO UPDATE SET n = d.n + delta;
    END LOOP;
    INSERT INTO core.area_counts AS a (area_code, category_id, status, month, n)
    SELECT code, p.category_id, p.status, in_month, greatest(delta, 0)
    FROM unnest(ARRAY[p.county_code, p.voivodeship_code]) AS code
    WHERE code IS NOT NULL
    ON CONFLICT ON CONSTRAINT area_counts_pkey DO UPDATE SET n = a.n + delta;
END
$$;

CREATE FUNCTION core.report_month(r core.reports) RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT date_trunc('month', r.occurred_at AT TIME ZONE (SELECT timezone FROM core.privacy_policy))::date
$$;

-- Keeps open.reports and the aggregates in step with one changed core.reports row.
-- Bulk loaders set threatmap.bulk = 'on' and call core.rebuild_public_layer() once instead.
CREATE FUNCTION core.sync_public_report() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    old_public  open.reports;
    new_public  open.reports;
BEGIN
    IF current_setting('threatmap.bulk', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND core.is_public(OLD) THEN
        old_public := core.public_report(OLD);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND core.is_public(NEW) THEN
        new_public := core.public_report(NEW);
    END IF;
    IF old_public IS NOT DISTINCT FROM new_public
       AND (TG_OP <> 'UPDATE' OR core.report_month(OLD) = core.report_month(NEW)) THEN
        RETURN NULL;
    END IF;
    IF old_public.id IS NOT NULL THEN
        PERFORM core.count_public_report(old_public, core.report_month(OLD), -1);
    END IF;
    IF new_public.id IS NOT NULL THEN
        PERFORM core.count_public_report(new_public, core.report_month(NEW), 1);
        INSERT INTO open.reports SELECT new_public.*
        ON CONFLICT (id) DO UPDATE SET
            category_id = EXCLUDED.category_id, status = EXCLUDED.status,
            occurred_on = EXCLUDED.occurred_on, date_precision = EXCLUDED.date_precision,
            cell_m = EXCLUDED.cell_m, voivodeship_code = EXCLUDED.voivodeship_code,
            county_code = EXCLUDED.county_code, police_unit_id = EXCLUDED.police_unit_id,
            geom = EXCLUDED.geom, geom_3857 = EXCLUDED.geom_3857;
    ELSIF old_public.id IS NOT NULL THEN
        DELETE FROM open.reports WHERE id = OLD.id;
    END IF;
    RETURN NULL;
END
$$;

-- Derived private columns: publication, closing time, county, timestamps.
CREATE FUNCTION core.prepare_report() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.geom IS DISTINCT FROM OLD.geom THEN
        NEW.county_code := (SELECT code FROM core.areas
                            WHERE level = 'county' AND ST_Intersects(geom, NEW.geom) LIMIT 1);
    END IF;
    IF NEW.published_at IS NULL
       AND NOT (SELECT is_initial FROM core.statuses WHERE id = NEW.status) THEN
        NEW.published_at := now();
    END IF;
    IF (SELECT is_closed FROM core.statuses WHERE id = NEW.status) THEN
        NEW.closed_at := coalesce(NEW.closed_at, now());
    ELSE
        NEW.closed_at := NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER reports_prepare BEFORE INSERT OR UPDATE ON core.reports
    FOR EACH ROW EXECUTE FUNCTION core.prepare_report();
CREATE TRIGGER reports_sync_public AFTER INSERT OR UPDATE OR DELETE ON core.reports
    FOR EACH ROW EXECUTE FUNCTION core.sync_public_report();

CREATE FUNCTION core.bump_data_version() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v bigint;
BEGIN
    UPDATE core.data_version SET version = version + 1 RETURNING version INTO v;
    PERFORM pg_notify('threatmap_open_changed', v::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER open_reports_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON open.reports
    FOR EACH STATEMENT EXECUTE FUNCTION core.bump_data_version();
CREATE TRIGGER categories_changed AFTER INSERT OR UPDATE OR DELETE ON core.categories
    FOR EACH STATEMENT EXECUTE FUNCTION core.bump_data_version();

-- Rebuilds the whole public layer from core in a few set-based statements: after a bulk
-- load, or after the policy changed. Readers keep reading the old rows until it commits.
CREATE FUNCTION core.rebuild_public_layer() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    published bigint;
BEGIN
    UPDATE core.reports AS r
    SET county_code = a.code
    FROM core.areas AS a
    WHERE r.county_code IS NULL AND a.level = 'county' AND ST_Intersects(a.geom, r.geom);

    DELETE FROM open.reports;
    INSERT INTO open.reports
    SELECT (core.public_report(r)).* FROM core.reports AS r WHERE core.is_public(r);
    GET DIAGNOSTICS published = ROW_COUNT;

    DELETE FROM core.density_counts;
    DELETE FROM core.area_counts;
    INSERT INTO core.density_counts (cell_m, cx, cy, category_id, status, month, n)
    SELECT levels.cell_m, i[1], i[2], p.category_id, p.status, core.report_month(r), count(*)
    FROM open.reports AS p
    JOIN core.reports AS r USING (id)
    CROSS JOIN unnest((SELECT density_cell_m FROM core.privacy_policy)) AS levels(cell_m)
    CROSS JOIN LATERAL core.cell_index(p.geom, levels.cell_m) AS i
    GROUP BY 1, 2, 3, 4, 5, 6;
    INSERT INTO core.density_cells (cell_m, cx, cy, geom, geom_3857, centre_3857)
    SELECT DISTINCT ON (d.cell_m, d.cx, d.cy) d.cell_m, d.cx, d.cy, poly, ST_Transform(poly, 3857),
           ST_Transform(ST_Centroid(ST_Transform(poly, 2180)), 3857)
    FROM core.density_counts AS d
    CROSS JOIN LATERAL core.cell_polygon(d.cell_m, d.cx, d.cy) AS poly
    ON CONFLICT DO NOTHING;
    INSERT INTO core.area_counts (area_code, category_id, status, month, n)
    SELECT code, p.category_id, p.status, core.report_month(r), count(*)
    FROM open.reports AS p
    JOIN core.reports AS r USING (id)
    CROSS JOIN unnest(ARRAY[p.county_code, p.voivodeship_code]) AS code
    WHERE code IS NOT NULL
    GROUP BY 1, 2, 3, 4;
    RETURN published;
END
$$;

-- Publishes reports the police have not taken up within the policy's delay. Reports created
-- in the same clock hour are published together, so the moment of publication (visible to
-- anyone polling the layer) tells no more than the hour of submission.
CREATE FUNCTION core.publish_due_reports() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    published bigint;
BEGIN
    UPDATE core.reports SET published_at = now()
    WHERE published_at IS NULL AND NOT abusive
      AND created_at < date_trunc('hour', now() - (SELECT publish_after FROM core.privacy_policy));
    GET DIAGNOSTICS published = ROW_COUNT;
    RETURN published;
END
$$;

-- Erases contacts of reports closed longer than the retention period, recording each erasure.
CREATE FUNCTION core.purge_contacts() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    erased bigint;
BEGIN
    WITH purged AS (
        UPDATE core.reports SET contact = NULL, contact_erased_at = now()
        WHERE contact IS NOT NULL
          AND closed_at < now() - (SELECT contact_retention FROM core.privacy_policy)
        RETURNING id
    )
    INSERT INTO core.report_events (report_id, kind, actor, comment)
    SELECT id, 'contact_erased', 'system:retention', 'contact erased after the retention period'
    FROM purged;
    GET DIAGNOSTICS erased = ROW_COUNT;
    RETURN erased;
END
$$;

-- ---------------------------------------------------------------------------------------
-- The views the public role reads. They run with their owner's rights, so the public role
-- needs no access to core; each exposes only public columns and suppresses counts below k.
CREATE VIEW open.categories AS
    SELECT c.id, c.group_id, g.name_pl AS group_name_pl, g.name_en AS group_name_en,
           c.name_pl, c.name_en, c.colour, c.icon, c.sensitive, c.active, c.sort_order
    FROM core.categories AS c JOIN core.category_groups AS g ON g.id = c.group_id;

CREATE VIEW open.statuses AS
    SELECT id, name_pl, name_en, is_initial, is_closed, sort_order FROM core.statuses;

CREATE VIEW open.status_transitions AS
    SELECT from_status, to_status FROM core.status_transitions;

CREATE VIEW open.areas AS
    SELECT code, level, name, parent_code, geom, geom_3857 FROM core.areas;

CREATE VIEW open.police_units AS
    SELECT u.id, u.name, u.level, u.area_code, u.parent_id, a.geom, a.geom_3857
    FROM core.police_units AS u JOIN core.areas AS a ON a.code = u.area_code;

CREATE VIEW open.data_version AS
    SELECT version FROM core.data_version;

CREATE VIEW open.privacy_policy AS
    SELECT cell_m, sensitive_cell_m, k, density_cell_m FROM core.privacy_policy;

-- Density per cell, category, status and month.
CREATE VIEW open.report_density AS
    SELECT d.cell_m, d.cx, d.cy, d.category_id, d.status, d.month, d.n AS count,
           c.geom, c.geom_3857, c.centre_3857
    FROM core.density_counts AS d
    JOIN core.density_cells AS c USING (cell_m, cx, cy)
    WHERE d.n >= (SELECT k FROM core.privacy_policy);

-- Density per cell over everything: what a map shows with no filter.
CREATE VIEW open.report_density_totals AS
    SELECT c.cell_m, c.cx, c.cy, t.n AS count, c.geom, c.geom_3857, c.centre_3857
    FROM (SELECT cell_m, cx, cy, sum(n)::integer AS n
          FROM core.density_counts GROUP BY cell_m, cx, cy) AS t
    JOIN core.density_cells AS c USING (cell_m, cx, cy)
    WHERE t.n >= (SELECT k FROM core.privacy_policy);

CREATE VIEW open.area_statistics AS
    SELECT a.code AS area_code, a.level, a.name AS area_name, s.category_id, s.status, s.month,
           s.n AS count, a.geom, a.geom_3857
    FROM core.area_counts AS s JOIN core.areas AS a ON a.code = s.area_code
    WHERE s.n >= (SELECT k FROM core.privacy_policy);

CREATE VIEW open.area_totals AS
    SELECT a.code AS area_code, a.level, a.name AS area_name, t.n AS count, a.geom, a.geom_3857
    FROM (SELECT area_code, sum(n)::integer AS n FROM core.area_counts GROUP BY area_code) AS t
    JOIN core.areas AS a ON a.code = t.area_code
    WHERE t.n >= (SELECT k FROM core.privacy_policy);

CREATE VIEW open.police_statistics AS
    SELECT s.area_code, a.level, a.name AS area_name, s.offence, s.month, s.count, a.geom
    FROM core.police_statistics AS s JOIN core.areas AS a ON a.code = s.area_code
    WHERE s.count = 0 OR s.count >= (SELECT k FROM core.privacy_policy);
