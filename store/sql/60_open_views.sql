-- The views the public role reads. They run with their owner's rights, so the public role
-- needs no access to core; each exposes only public columns and suppresses counts below k.
-- (open.reports itself is a table, kept by store/sql/30_publication.sql.)
--
-- CREATE OR REPLACE VIEW keeps grants and dependants, and can only append columns: to rename,
-- retype or remove one, drop the view in a migration (store/sql is re-applied right after).
SET LOCAL ROLE threatmap_app;

CREATE OR REPLACE VIEW open.categories AS
    SELECT c.id, c.group_id, g.name_pl AS group_name_pl, g.name_en AS group_name_en,
           c.name_pl, c.name_en, c.colour, c.icon, c.sensitive, c.active, c.sort_order,
           c.description_required
    FROM core.categories AS c JOIN core.category_groups AS g ON g.id = c.group_id;
GRANT SELECT ON open.categories TO threatmap_public;

CREATE OR REPLACE VIEW open.statuses AS
    SELECT id, name_pl, name_en, is_initial, is_closed, sort_order, colour, is_verdict
    FROM core.statuses;
GRANT SELECT ON open.statuses TO threatmap_public;

CREATE OR REPLACE VIEW open.forward_bodies AS
    SELECT id, name_pl, name_en, active, sort_order FROM core.forward_bodies;
GRANT SELECT ON open.forward_bodies TO threatmap_public;

CREATE OR REPLACE VIEW open.status_transitions AS
    SELECT from_status, to_status FROM core.status_transitions;
GRANT SELECT ON open.status_transitions TO threatmap_public;

CREATE OR REPLACE VIEW open.areas AS
    SELECT code, level, name, parent_code, geom, geom_3857 FROM core.areas;
GRANT SELECT ON open.areas TO threatmap_public;

CREATE OR REPLACE VIEW open.police_units AS
    SELECT u.id, u.name, u.level, u.area_code, u.parent_id, a.geom, a.geom_3857
    FROM core.police_units AS u JOIN core.areas AS a ON a.code = u.area_code;
GRANT SELECT ON open.police_units TO threatmap_public;

CREATE OR REPLACE VIEW open.data_version AS
    SELECT version FROM core.data_version;
GRANT SELECT ON open.data_version TO threatmap_public;

CREATE OR REPLACE VIEW open.privacy_policy AS
    SELECT cell_m, sensitive_cell_m, k, density_cell_m FROM core.privacy_policy;
GRANT SELECT ON open.privacy_policy TO threatmap_public;

-- Density per cell, category, status and month.
CREATE OR REPLACE VIEW open.report_density AS
    SELECT d.cell_m, d.cx, d.cy, d.category_id, d.status, d.month, d.n AS count,
           c.geom, c.geom_3857, c.centre_3857
    FROM core.density_counts AS d
    JOIN core.density_cells AS c USING (cell_m, cx, cy)
    WHERE d.n >= (SELECT k FROM core.privacy_policy);
GRANT SELECT ON open.report_density TO threatmap_public;

-- Density per cell over everything: what a map shows with no filter (each cell carries its
-- total, so this is an indexed read).
CREATE OR REPLACE VIEW open.report_density_totals AS
    SELECT c.cell_m, c.cx, c.cy, c.n AS count, c.geom, c.geom_3857, c.centre_3857
    FROM core.density_cells AS c
    WHERE c.n >= (SELECT k FROM core.privacy_policy);
GRANT SELECT ON open.report_density_totals TO threatmap_public;

CREATE OR REPLACE VIEW open.area_statistics AS
    SELECT a.code AS area_code, a.level, a.name AS area_name, s.category_id, s.status, s.month,
           s.n AS count, a.geom, a.geom_3857
    FROM core.area_counts AS s JOIN core.areas AS a ON a.code = s.area_code
    WHERE s.n >= (SELECT k FROM core.privacy_policy);
GRANT SELECT ON open.area_statistics TO threatmap_public;

CREATE OR REPLACE VIEW open.area_totals AS
    SELECT a.code AS area_code, a.level, a.name AS area_name, t.n AS count, a.geom, a.geom_3857
    FROM (SELECT area_code, sum(n)::integer AS n FROM core.area_counts GROUP BY area_code) AS t
    JOIN core.areas AS a ON a.code = t.area_code
    WHERE t.n >= (SELECT k FROM core.privacy_policy);
GRANT SELECT ON open.area_totals TO threatmap_public;

CREATE OR REPLACE VIEW open.police_statistics AS
    SELECT s.area_code, a.level, a.name AS area_name, s.offence, s.month, s.count, a.geom
    FROM core.police_statistics AS s JOIN core.areas AS a ON a.code = s.area_code
    WHERE s.count = 0 OR s.count >= (SELECT k FROM core.privacy_policy);
GRANT SELECT ON open.police_statistics TO threatmap_public;
