-- Which reports an officer handles, written once (issue 9, 4): those in the unit's area (a
-- county unit: its county; a voivodeship unit: the counties of its voivodeship) and those handed
-- to the unit. The work list's scope (store/staff.py) and the private-field and change checks
-- (store/reports.py: `handled`) all call core.officer_handles.
-- core.officer_handles is a single-expression IMMUTABLE SQL function, so the planner inlines it:
-- `r.police_unit_id = $unit OR r.county_code = ANY ($counties)`, which the work list's indexes
-- serve (reports_worklist, reports_county_occurred, reports_police_unit). The counties come from
-- core.unit_counties, computed once per statement or per request: a table-reading function
-- evaluated inside the inlined expression would run once per row.
SET LOCAL ROLE threatmap_app;

CREATE OR REPLACE FUNCTION core.unit_counties(unit_id text) RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(a.code ORDER BY a.code), '{}')
    FROM core.police_units AS u
    JOIN core.areas AS a ON a.level = 'county' AND (a.code = u.area_code OR a.parent_code = u.area_code)
    WHERE u.id = unit_id
$$;
COMMENT ON FUNCTION core.unit_counties(text) IS
    'The counties of a police unit''s area: a county unit''s county, a voivodeship unit''s counties.';

CREATE OR REPLACE FUNCTION core.officer_handles(unit_id text, unit_counties text[],
                                                county_code text, assigned_unit text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT assigned_unit = unit_id OR county_code = ANY (unit_counties)
$$;
COMMENT ON FUNCTION core.officer_handles(text, text[], text, text) IS
    'Whether an officer of unit_id (whose counties are core.unit_counties(unit_id)) handles a '
    'report in county_code handed to assigned_unit. Null, as in a WHERE clause, means no.';
