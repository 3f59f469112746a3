-- The public projection: what open.reports shows of one core.reports row. This is the
-- anonymization itself; every public door reads its result, never core.
--
-- Privacy reasoning (review of the first public layer):
-- - The place is the centre of the report's grid cell (store/sql/10_grid.sql), coarser for
--   sensitive categories; the date is the local day, or the month for sensitive categories.
-- - The county and voivodeship are those of the PUBLIC point, so that they tell nothing the
--   point does not. Where a cell centre falls in no county (coast, national border), the county
--   nearest the public point is used (the report's own county would be a function of the
--   exact point). Among counties touching the centre, the lowest code wins (deterministic).
-- - The responsible police unit: the police assign it from the exact point, so in a cell that
--   straddles a county border the assigned unit told which side the report is on. The public
--   unit is the assigned one only when it is the unit of the public county or voivodeship
--   (both functions of the public point); otherwise the public county's unit.
SET LOCAL ROLE threatmap_app;

-- The police unit the public may see: a function of the public place and of the assignment
-- (none yet, or handled at voivodeship level), never of the exact point.
CREATE OR REPLACE FUNCTION core.public_police_unit(assigned text, county text, voivodeship text)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN assigned IS NULL THEN NULL ELSE coalesce(
        (SELECT u.id FROM core.police_units AS u
         WHERE u.id = assigned AND u.area_code IN (county, voivodeship)),
        (SELECT u.id FROM core.police_units AS u WHERE u.area_code = county)) END
$$;

-- Whether a category's reports are public by month (on the coarse grid, and published only in
-- the monthly batch of store/sql/30_publication.sql): the categories marked sensitive.
CREATE OR REPLACE FUNCTION core.dated_by_month(category text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT c.sensitive FROM core.categories AS c WHERE c.id = category), false)
$$;

-- The grid a category's reports are published on: coarser for the categories dated by month.
CREATE OR REPLACE FUNCTION core.public_cell_m(category text) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN core.dated_by_month(category) THEN p.sensitive_cell_m ELSE p.cell_m END
    FROM core.privacy_policy AS p
$$;

-- The county (and its voivodeship) of a public point: among the counties touching it the lowest
-- code; in none (coast, border), the nearest.
CREATE OR REPLACE FUNCTION core.public_county(centre geometry, OUT county_code text,
                                              OUT voivodeship_code text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    SELECT a.code, a.parent_code INTO county_code, voivodeship_code
    FROM core.areas AS a
    WHERE a.level = 'county' AND ST_Intersects(a.geom, centre)
    ORDER BY a.code
    LIMIT 1;
    IF county_code IS NULL THEN
        SELECT a.code, a.parent_code INTO county_code, voivodeship_code
        FROM core.areas AS a
        WHERE a.level = 'county'
        ORDER BY a.geom <-> centre, a.code
        LIMIT 1;
    END IF;
END
$$;

-- The public place of one report: its grid, the centre of its cell and the county of that
-- centre. What costs in the projection (the county polygons); kept per report in
-- core.report_places (store/sql/18_report_places.sql).
CREATE OR REPLACE FUNCTION core.public_place(r core.reports) RETURNS core.report_places
LANGUAGE plpgsql STABLE AS $$
DECLARE
    place core.report_places;
BEGIN
    place.report_id := r.id;
    place.cell_m := core.public_cell_m(r.category_id);
    place.geom := core.cell_centre(r.geom, place.cell_m);
    SELECT p.county_code, p.voivodeship_code INTO place.county_code, place.voivodeship_code
    FROM core.public_county(place.geom) AS p;
    RETURN place;
END
$$;

-- The public projection of one report row at its public place (core.public_place(r), or the
-- one kept in core.report_places): what open.reports shows of it.
CREATE OR REPLACE FUNCTION core.public_report_at(r core.reports, place core.report_places)
RETURNS open.reports
LANGUAGE plpgsql STABLE AS $$
DECLARE
    policy      core.privacy_policy;
    sensitive   boolean;
    result      open.reports;
    local_time  timestamp;
BEGIN
    SELECT * INTO policy FROM core.privacy_policy;
    sensitive := core.dated_by_month(r.category_id);
    local_time := r.occurred_at AT TIME ZONE policy.timezone;
    result.id := r.id;
    result.category_id := r.category_id;
    result.status := r.status;
    result.cell_m := place.cell_m;
    result.geom := place.geom;
    result.geom_3857 := ST_Transform(result.geom, 3857);
    IF sensitive THEN
        result.occurred_on := date_trunc('month', local_time)::date;
        result.date_precision := 'month';
        result.published_on := date_trunc('month', r.published_at AT TIME ZONE policy.timezone)::date;
    ELSE
        result.occurred_on := local_time::date;
        result.date_precision := 'day';
        result.published_on := (r.published_at AT TIME ZONE policy.timezone)::date;
    END IF;
    -- Everything below depends on the public point only.
    result.county_code := place.county_code;
    result.voivodeship_code := place.voivodeship_code;
    result.police_unit_id := core.public_police_unit(r.police_unit_id, result.county_code,
                                                     result.voivodeship_code);
    RETURN result;
END
$$;

-- The public projection of one report row: what open.reports shows of it.
CREATE OR REPLACE FUNCTION core.public_report(r core.reports) RETURNS open.reports
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN core.public_report_at(r, core.public_place(r));
END
$$;

-- Published (by the police taking it up, or by the delay of core.publish_due_reports), not
-- marked abusive, and not one the police did not confirm, unless the policy publishes those
-- (config/privacy.yml publication.not_confirmed; KMZB takes them off the map).
CREATE OR REPLACE FUNCTION core.is_public(r core.reports) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT r.published_at IS NOT NULL AND NOT r.abusive
       AND (r.status <> 'not_confirmed'
            OR (SELECT publish_not_confirmed FROM core.privacy_policy))
$$;

-- The month a report counts in, in the policy's time zone.
CREATE OR REPLACE FUNCTION core.report_month(r core.reports) RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT date_trunc('month', r.occurred_at AT TIME ZONE (SELECT timezone FROM core.privacy_policy))::date
$$;
