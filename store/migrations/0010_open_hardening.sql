-- Closes leaks found in review of 0003 (the public layer) without editing it:
-- 1. The responsible police unit was published as assigned. The police assign it from the exact
--    point, so in a cell that straddles a county border it told which side the report is on.
--    Now the public unit is the assigned one only when it is the unit of the public county or
--    voivodeship (both functions of the public point); otherwise the public county's unit.
-- 2. Where a cell centre falls in no county (coast, national border), the report's own county
--    (a function of the exact point) was published; now the county nearest the public point.
--    Among counties touching the centre, the lowest code wins, so the choice is deterministic.
-- 3. open.reports is a table, and a table's system columns are readable with a table-wide
--    SELECT: xmin is the id of the transaction that published or last changed each row, which
--    anyone who samples the transaction counter can turn into a time. The public role now has
--    SELECT on the named columns only, which does not cover xmin, ctid or tableoid.
-- 4. Marking a category sensitive (or no longer sensitive) in the catalogue left its public
--    reports on the old grid and date precision; now they are re-projected at once.
SET LOCAL ROLE threatmap_app;

-- The police unit the public may see: a function of the public place and of the assignment
-- (none yet, or handled at voivodeship level), never of the exact point.
CREATE FUNCTION core.public_police_unit(assigned text, county text, voivodeship text)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN assigned IS NULL THEN NULL ELSE coalesce(
        (SELECT u.id FROM core.police_units AS u
         WHERE u.id = assigned AND u.area_code IN (county, voivodeship)),
        (SELECT u.id FROM core.police_units AS u WHERE u.area_code = county)) END
$$;

CREATE OR REPLACE FUNCTION core.public_report(r core.reports) RETURNS open.reports
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
    -- Everything below depends on the public point only.
    SELECT a.code, a.parent_code INTO result.county_code, result.voivodeship_code
    FROM core.areas AS a
    WHERE a.level = 'county' AND ST_Intersects(a.geom, result.geom)
    ORDER BY a.code
    LIMIT 1;
    IF result.county_code IS NULL THEN
        SELECT a.code, a.parent_code INTO result.county_code, result.voivodeship_code
        FROM core.areas AS a
        WHERE a.level = 'county'
        ORDER BY a.geom <-> result.geom, a.code
        LIMIT 1;
    END IF;
    result.police_unit_id := core.public_police_unit(r.police_unit_id, result.county_code,
                                                     result.voivodeship_code);
    RETURN result;
END
$$;

-- Brings the public rows of the given reports in line with core.public_report, moving their
-- counts in the aggregates; returns how many changed. For re-projecting a subset in place
-- (a category's sensitivity changed); a changed policy uses core.rebuild_public_layer().
CREATE FUNCTION core.reproject_public_reports(ids uuid[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    r       core.reports;
    stored  open.reports;
    fresh   open.reports;
    changed bigint := 0;
BEGIN
    FOR r IN SELECT c.* FROM core.reports AS c WHERE c.id = ANY (ids) AND core.is_public(c) LOOP
        fresh := core.public_report(r);
        stored := NULL;
        SELECT * INTO stored FROM open.reports WHERE id = r.id;
        CONTINUE WHEN stored IS NOT DISTINCT FROM fresh;
        IF stored.id IS NOT NULL THEN
            PERFORM core.count_public_report(stored, core.report_month(r), -1);
        END IF;
        PERFORM core.count_public_report(fresh, core.report_month(r), 1);
        INSERT INTO open.reports SELECT fresh.*
        ON CONFLICT (id) DO UPDATE SET
            category_id = EXCLUDED.category_id, status = EXCLUDED.status,
            occurred_on = EXCLUDED.occurred_on, date_precision = EXCLUDED.date_precision,
            cell_m = EXCLUDED.cell_m, voivodeship_code = EXCLUDED.voivodeship_code,
            county_code = EXCLUDED.county_code, police_unit_id = EXCLUDED.police_unit_id,
            geom = EXCLUDED.geom, geom_3857 = EXCLUDED.geom_3857;
        changed := changed + 1;
    END LOOP;
    RETURN changed;
END
$$;

CREATE FUNCTION core.reproject_category() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM core.reproject_public_reports(
        ARRAY(SELECT id FROM core.reports WHERE category_id = NEW.id));
    RETURN NULL;
END
$$;
CREATE TRIGGER categories_sensitivity_changed AFTER UPDATE OF sensitive ON core.categories
    FOR EACH ROW WHEN (OLD.sensitive IS DISTINCT FROM NEW.sensitive)
    EXECUTE FUNCTION core.reproject_category();

-- Existing public rows under the new rules. The police unit is not counted anywhere, so it is
-- corrected in place; the county is, so rows whose public point lies in no county go through
-- core.reproject_public_reports (few: only cells whose centre is at sea or abroad).
UPDATE open.reports AS p
SET police_unit_id = core.public_police_unit(r.police_unit_id, p.county_code, p.voivodeship_code)
FROM core.reports AS r
WHERE r.id = p.id
  AND p.police_unit_id IS DISTINCT FROM
      core.public_police_unit(r.police_unit_id, p.county_code, p.voivodeship_code);

SELECT core.reproject_public_reports(ARRAY(
    SELECT p.id
    FROM open.reports AS p
    JOIN (SELECT centre.geom
          FROM (SELECT DISTINCT geom FROM open.reports) AS centre
          WHERE NOT EXISTS (SELECT FROM core.areas AS a
                            WHERE a.level = 'county' AND ST_Intersects(a.geom, centre.geom))
         ) AS outside ON outside.geom = p.geom));

-- Column privileges instead of a table-wide SELECT: the named columns only, no system columns.
DO $$
DECLARE
    columns text;
BEGIN
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO columns
    FROM pg_attribute
    WHERE attrelid = 'open.reports'::regclass AND attnum > 0 AND NOT attisdropped;
    REVOKE ALL ON open.reports FROM threatmap_public;
    EXECUTE format('GRANT SELECT (%s) ON open.reports TO threatmap_public', columns);
END
$$;
