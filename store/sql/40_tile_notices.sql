-- The data version and targeted tile invalidation: a change of open.reports says where it
-- happened, so a tile cache evicts only the tiles that show it instead of everything.
--
-- Each statement that changes open.reports bumps the data version (core.data_version, on which
-- tile caches and ETags key) and sends, before the version itself on `threatmap_open_changed`,
-- a JSON note on `threatmap_open_tiles`:
--     {"version": 42, "points": [[x, y], ...], "areas": ["1465", "14", ...]}
-- points: the EPSG:3857 public places (cell centres, rounded to the metre) of the rows before
-- and after the change; areas: their public county and voivodeship codes. Above a size bound
-- (a rebuild of the layer) the note says {"version": 42, "everything": true}. A change of the
-- categories or of the policy sends a bare version: listeners drop everything.
--
-- Privacy: anyone who may LISTEN (the public role can) reads these notes, so they carry only
-- what open.reports shows every reader anyway (public cell centres and area codes), never an
-- exact point, a time, an id or text.
SET LOCAL ROLE threatmap_app;

-- A bare new version (categories, policy, truncation of open.reports).
CREATE OR REPLACE FUNCTION core.bump_data_version() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v bigint;
BEGIN
    UPDATE core.data_version SET version = version + 1 RETURNING version INTO v;
    PERFORM pg_notify('threatmap_open_changed', v::text);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION core.tile_change_note(v bigint, places geometry[], codes text[]) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT json_build_object(
        'version', v,
        'points', (SELECT coalesce(json_agg(p ORDER BY p), '[]'::json)
                   FROM (SELECT DISTINCT ARRAY[round(ST_X(g))::bigint, round(ST_Y(g))::bigint] AS p
                         FROM unnest(places) AS g WHERE g IS NOT NULL) AS distinct_places),
        'areas', (SELECT coalesce(json_agg(c ORDER BY c), '[]'::json)
                  FROM (SELECT DISTINCT c FROM unnest(codes) AS c WHERE c IS NOT NULL) AS distinct_codes)
    )::text
$$;

CREATE OR REPLACE FUNCTION core.open_reports_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    max_rows constant integer := 100;   -- keeps the note far below pg_notify's 8000 bytes
    changed  integer;
    places   geometry[];
    codes    text[];
    v        bigint;
    note     text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        SELECT count(*) INTO changed FROM (SELECT FROM old_rows LIMIT max_rows + 1) AS r;
    ELSE
        SELECT count(*) INTO changed FROM (SELECT FROM new_rows LIMIT max_rows + 1) AS r;
    END IF;
    IF changed = 0 THEN
        RETURN NULL;                       -- nothing public changed: every cache stays valid
    END IF;
    UPDATE core.data_version SET version = version + 1 RETURNING version INTO v;
    IF changed > max_rows THEN
        note := json_build_object('version', v, 'everything', true)::text;
    ELSE
        IF TG_OP = 'INSERT' THEN
            SELECT array_agg(r.geom_3857), array_agg(r.county_code) || array_agg(r.voivodeship_code)
            INTO places, codes FROM new_rows AS r;
        ELSIF TG_OP = 'UPDATE' THEN
            SELECT array_agg(r.geom_3857), array_agg(r.county_code) || array_agg(r.voivodeship_code)
            INTO places, codes
            FROM (SELECT n.geom_3857, n.county_code, n.voivodeship_code FROM new_rows AS n
                  UNION ALL
                  SELECT o.geom_3857, o.county_code, o.voivodeship_code FROM old_rows AS o) AS r;
        ELSE
            SELECT array_agg(r.geom_3857), array_agg(r.county_code) || array_agg(r.voivodeship_code)
            INTO places, codes FROM old_rows AS r;
        END IF;
        note := core.tile_change_note(v, places, codes);
    END IF;
    -- The place first, then the version: a listener that sees a bare version it has no place
    -- for (categories, policy, truncation) knows to drop everything.
    PERFORM pg_notify('threatmap_open_tiles', note);
    PERFORM pg_notify('threatmap_open_changed', v::text);
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER open_reports_version_inserted AFTER INSERT ON open.reports
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.open_reports_changed();
CREATE OR REPLACE TRIGGER open_reports_version_updated AFTER UPDATE ON open.reports
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.open_reports_changed();
CREATE OR REPLACE TRIGGER open_reports_version_deleted AFTER DELETE ON open.reports
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.open_reports_changed();
CREATE OR REPLACE TRIGGER open_reports_version_truncated AFTER TRUNCATE ON open.reports
    FOR EACH STATEMENT EXECUTE FUNCTION core.bump_data_version();
CREATE OR REPLACE TRIGGER categories_changed AFTER INSERT OR UPDATE OR DELETE ON core.categories
    FOR EACH STATEMENT EXECUTE FUNCTION core.bump_data_version();
-- A policy change (k) changes what tiles show: caches keyed on the data version must drop.
CREATE OR REPLACE TRIGGER privacy_policy_changed AFTER UPDATE ON core.privacy_policy
    FOR EACH STATEMENT EXECUTE FUNCTION core.bump_data_version();
