-- Relations shaped for OGC API Features collections. pygeoapi's `properties:` only hides
-- columns from the output: filters, sortby and ?name=value reach every column of the relation.
-- So each collection reads a view whose EVERY column is public, with the published geometry
-- (a cell centre or an area) and the published date: nothing here can be used to count rows
-- by a private value. Each view has a unique `id` for /items/{id}.
--
-- CREATE OR REPLACE VIEW keeps grants and dependants, and can only append columns: to rename,
-- retype or remove one, drop the view in a migration (store/sql is re-applied right after).
SET LOCAL ROLE threatmap_app;

CREATE OR REPLACE VIEW open.ogc_reports AS
    SELECT r.id, r.category_id, c.name_en AS category_name_en, c.name_pl AS category_name_pl,
           c.group_id AS category_group_id, r.status, r.occurred_on, r.date_precision, r.cell_m,
           r.voivodeship_code, r.county_code, r.police_unit_id, r.geom
    FROM open.reports AS r
    JOIN core.categories AS c ON c.id = r.category_id;
GRANT SELECT ON open.ogc_reports TO threatmap_public;

-- The unfiltered numberMatched of open.ogc_reports comes from the totals kept per area
-- (store/report_totals.py's ogc_count_statement, as for its filters); a view of stop 24 that
-- summed the same rows is gone.
DROP VIEW IF EXISTS open.ogc_reports_total;

-- open.report_density's rows (counts suppressed below k) with an id, for pages ordered by the
-- key (cell_m, cx, cy, category_id, status, month: `id_columns`; issue 16, dens16: the
-- unfiltered page answered 503 on 1,000,000 reports). `count >= 2` changes no row (2 is the
-- least k the policy allows) and lets the planner read core.density_counts_published
-- (store/migrations/0023_density_published_index.sql) in key order instead of computing every
-- id and sorting. Here only: in open.report_density it turned the tiles' filtered density plan
-- from the cells' GiST index to that index (24 -> 64 ms on 100,000 reports, bench/RESULTS.md).
CREATE OR REPLACE VIEW open.ogc_report_density AS
    SELECT concat_ws(':', d.cell_m, d.cx, d.cy, d.category_id, d.status, d.month) AS id,
           d.cell_m, d.cx, d.cy, d.category_id, d.status, d.month, d.count, d.geom
    FROM open.report_density AS d
    WHERE d.count >= 2;
GRANT SELECT ON open.ogc_report_density TO threatmap_public;

-- How many features open.ogc_report_density has, for numberMatched of its unfiltered pages
-- (pygeoapi-config.yml `total_view`): the planner drops the LEFT JOIN to the cells (unique on
-- the key, no column of theirs used), so this is an index-only count of the published index,
-- ~0.1 s on 1,000,000 reports, where the planner's estimate of the view said 36,049 for
-- 262,776. The number the collection's last page tells anyway, nothing of a cell.
CREATE OR REPLACE VIEW open.ogc_report_density_total AS
    SELECT count(*) AS features FROM open.ogc_report_density;
GRANT SELECT ON open.ogc_report_density_total TO threatmap_public;

CREATE OR REPLACE VIEW open.ogc_area_statistics AS
    SELECT concat_ws(':', area_code, category_id, status, month) AS id,
           area_code, level, area_name, category_id, status, month, count, geom
    FROM open.area_statistics;
GRANT SELECT ON open.ogc_area_statistics TO threatmap_public;

CREATE OR REPLACE VIEW open.ogc_police_units AS
    SELECT id, name, level, area_code, parent_id, geom FROM open.police_units;
GRANT SELECT ON open.ogc_police_units TO threatmap_public;

CREATE OR REPLACE VIEW open.ogc_categories AS
    SELECT id, group_id, group_name_en, group_name_pl, name_en, name_pl, colour, icon,
           sensitive, active, sort_order
    FROM open.categories;
GRANT SELECT ON open.ogc_categories TO threatmap_public;

-- How fast the police react, per unit and finished month (store/sql/65_response_times.sql),
-- with the area the unit serves as the geometry, for a choropleth.
CREATE OR REPLACE VIEW open.ogc_response_times AS
    SELECT concat_ws(':', t.police_unit_id, t.month) AS id, t.police_unit_id, u.name AS police_unit_name,
           u.level, t.month, t.reports, t.read, t.read_median_hours, t.read_p90_hours,
           t.read_in_time_percent, t.verified, t.verify_median_hours, t.verify_p90_hours,
           t.verified_in_time_percent, u.geom
    FROM open.response_times AS t JOIN open.police_units AS u ON u.id = t.police_unit_id;
GRANT SELECT ON open.ogc_response_times TO threatmap_public;
-- The totals of area-statistics per area, over every category, status and month: the area's
-- total (category_id NULL, id `14:*`) and its total per category (id `14:vandalism`). Each is
-- the true number of public reports it covers (core.tile_areas keeps them from the unsuppressed
-- counts, store/sql/50_tile_pyramid.sql, so a read is ~400 rows, not an aggregation), published
-- when at least k: not a sum of cells already cut below k. Totals per month or status, and any
-- other combination, are GraphQL's (`stats` with `totals: true`, open.report_count_sums).
-- What differencing these against the cells reveals: README "Privacy", known limits.
CREATE OR REPLACE VIEW open.ogc_area_totals AS
    SELECT concat_ws(':', t.area_code, coalesce(c.category_id, '*')) AS id,
           t.area_code, a.level, a.name AS area_name, c.category_id, c.count, a.geom
    FROM core.tile_areas AS t
    JOIN core.areas AS a ON a.code = t.area_code
    CROSS JOIN LATERAL (SELECT NULL::text AS category_id, t.n AS count
                        UNION ALL
                        SELECT e.key, e.value::integer FROM jsonb_each(t.by_category) AS e
                       ) AS c (category_id, count)
    WHERE c.count >= (SELECT k FROM core.privacy_policy);
GRANT SELECT ON open.ogc_area_totals TO threatmap_public;
