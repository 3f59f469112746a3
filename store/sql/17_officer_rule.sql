-- Which reports an officer handles, written once (issue 9, 4; issue 13, 7): those handed to the
-- unit, and those in the unit's area (a county unit: its county; a voivodeship unit: the counties
-- of its voivodeship) unless handed to a unit outside that area: a report handed to a
-- neighbouring county's unit leaves the list of the unit that handed it over (KMZB), and stays on
-- the list of the voivodeship unit both belong to. The work list's scope (store/staff.py) and the private-field and change checks
-- (store/reports.py: `handled`) all call core.officer_handles.
-- core.officer_handles is a single-expression IMMUTABLE SQL function, so the planner inlines it:
-- `r.police_unit_id = $unit OR (r.county_code = ANY ($scope) AND (r.police_unit_id IS NULL OR
-- r.police_unit_id = ANY ($scope)))`, which the work list's indexes serve (reports_worklist,
-- reports_county_occurred, reports_police_unit). The scope comes from core.unit_counties,
-- computed once per statement or per request (a table-reading function evaluated inside the
-- inlined expression would run once per row): the codes of the unit's counties and the ids of
-- the police units of its area, in one array (TERYT codes are digits, unit ids are not: the
-- two never meet).
SET LOCAL ROLE threatmap_app;

CREATE OR REPLACE FUNCTION core.unit_counties(unit_id text) RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce((SELECT array_agg(a.code ORDER BY a.code)
                     FROM core.police_units AS u
                     JOIN core.areas AS a ON a.level = 'county'
                                         AND (a.code = u.area_code OR a.parent_code = u.area_code)
                     WHERE u.id = unit_id), '{}')
        || coalesce((SELECT array_agg(other.id ORDER BY other.id)
                     FROM core.police_units AS u
                     JOIN core.areas AS a ON a.code = u.area_code OR a.parent_code = u.area_code
                     JOIN core.police_units AS other ON other.area_code = a.code
                     WHERE u.id = unit_id), '{}')
$$;
COMMENT ON FUNCTION core.unit_counties(text) IS
    'The scope of a police unit: the codes of the counties of its area (a county unit''s county, a '
    'voivodeship unit''s counties) and the ids of the police units whose area lies in its area.';

CREATE OR REPLACE FUNCTION core.officer_handles(unit_id text, unit_counties text[],
                                                county_code text, assigned_unit text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT assigned_unit = unit_id
        OR (county_code = ANY (unit_counties)
            AND (assigned_unit IS NULL OR assigned_unit = ANY (unit_counties)))
$$;
COMMENT ON FUNCTION core.officer_handles(text, text[], text, text) IS
    'Whether an officer of unit_id (whose scope is core.unit_counties(unit_id)) handles a report '
    'in county_code handed to assigned_unit: handed to the unit, or in its area and not handed to '
    'a unit outside it. Null, as in a WHERE clause, means no.';
