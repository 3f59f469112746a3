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

CREATE OR REPLACE VIEW open.ogc_report_density AS
    SELECT concat_ws(':', cell_m, cx, cy, category_id, status, month) AS id,
           cell_m, cx, cy, category_id, status, month, count, geom
    FROM open.report_density;
GRANT SELECT ON open.ogc_report_density TO threatmap_public;

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

-- The totals of area-statistics, per area: over everything, and per category, status, month and
-- each pair of them (every subset of the three but the full cells, which area-statistics has).
-- Each is summed from the UNSUPPRESSED counts and suppressed below k at its own level, so it is
-- the true number of public reports it covers (not a sum of cells already cut below k). A NULL
-- category_id, status or month means "all"; the id spells it `*` (e.g. `14:*:*:2026-03-01`).
-- What differencing these against the cells reveals: README "Privacy", known limits.
CREATE OR REPLACE VIEW open.ogc_area_totals AS
    SELECT concat_ws(':', t.area_code, coalesce(t.category_id, '*'), coalesce(t.status, '*'),
                     coalesce(t.month::text, '*')) AS id,
           t.area_code, a.level, a.name AS area_name, t.category_id, t.status, t.month, t.count, a.geom
    FROM (SELECT s.area_code, s.category_id, s.status, s.month, sum(s.n)::integer AS count
          FROM core.area_counts AS s
          GROUP BY s.area_code, CUBE (s.category_id, s.status, s.month)
          HAVING GROUPING(s.category_id, s.status, s.month) <> 0) AS t
    JOIN core.areas AS a ON a.code = t.area_code
    WHERE t.count >= (SELECT k FROM core.privacy_policy);
GRANT SELECT ON open.ogc_area_totals TO threatmap_public;
