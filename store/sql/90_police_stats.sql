-- Pillar 1, police statistics (issue 15, points 3-4): the public views every door reads.
-- Imported by `threatmap stats import` (store/police_stats.py) into core.police_statistics,
-- core.area_population and core.road_sections (migration 0012).
--
-- Privacy reasoning: these are aggregates the police publish themselves (counts per area and
-- month, incidents per 5-km road section over a period), not reports; still, like every count
-- the service publishes, a count from 1 to k-1 is left out (the policy's k): a road section is
-- published with at least k incidents, its deaths and injuries only when 0 or at least k, a rate
-- only beside a published count. The citizens' side of the comparison is the public reports per
-- area, category and month, summed over statuses from the unsuppressed counts and published when
-- at least k (as open.area_totals does).
SET LOCAL ROLE threatmap_app;

CREATE OR REPLACE VIEW open.statistic_kinds AS
    SELECT id, group_id, name_pl, name_en, since, sort_order FROM core.statistic_kinds;
GRANT SELECT ON open.statistic_kinds TO threatmap_public;

CREATE OR REPLACE VIEW open.road_sections AS
    SELECT r.id, r.road, r.km_from, r.km_to, r.period_from, r.period_to, r.incidents,
           CASE WHEN r.deaths = 0 OR r.deaths >= p.k THEN r.deaths END AS deaths,
           CASE WHEN r.injuries = 0 OR r.injuries >= p.k THEN r.injuries END AS injuries,
           round((ST_Length(r.geom) / 1000)::numeric, 3) AS length_km,
           r.geom_4326 AS geom, r.geom_3857
    FROM core.road_sections AS r CROSS JOIN (SELECT k FROM core.privacy_policy LIMIT 1) AS p
    WHERE r.incidents >= p.k;
GRANT SELECT ON open.road_sections TO threatmap_public;

-- For one area and month, side by side: the citizens' public reports per category and the
-- police's figures per kind (one row per area, month, side and subject).
CREATE OR REPLACE VIEW open.area_comparison AS
    WITH policy AS (SELECT k FROM core.privacy_policy LIMIT 1)
    SELECT c.area_code, c.month, 'citizens'::text AS side, c.category_id AS subject,
           cat.name_pl, cat.name_en, c.n::integer AS count, NULL::numeric AS rate_per_100k
    FROM (SELECT area_code, category_id, month, sum(n) AS n FROM core.area_counts
          GROUP BY area_code, category_id, month) AS c
    JOIN core.categories AS cat ON cat.id = c.category_id
    WHERE c.n >= (SELECT k FROM policy)
    UNION ALL
    SELECT s.area_code, s.month, 'police', s.offence, k.name_pl, k.name_en, s.count, s.rate_per_100k
    FROM open.police_statistics AS s
    LEFT JOIN core.statistic_kinds AS k ON k.id = s.offence;
GRANT SELECT ON open.area_comparison TO threatmap_public;

-- OGC API Features collections (every column public, a unique id: see 70_ogc_views.sql).
CREATE OR REPLACE VIEW open.ogc_police_statistics AS
    SELECT concat_ws(':', s.area_code, s.offence, s.month) AS id, s.area_code, s.level, s.area_name,
           s.offence AS kind, k.name_pl AS kind_name_pl, k.name_en AS kind_name_en, s.month, s.count,
           s.residents, s.rate_per_100k, s.geom
    FROM open.police_statistics AS s
    LEFT JOIN core.statistic_kinds AS k ON k.id = s.offence;
GRANT SELECT ON open.ogc_police_statistics TO threatmap_public;

CREATE OR REPLACE VIEW open.ogc_road_sections AS
    SELECT id, road, km_from, km_to, period_from, period_to, incidents, deaths, injuries, length_km, geom
    FROM open.road_sections;
GRANT SELECT ON open.ogc_road_sections TO threatmap_public;

CREATE OR REPLACE VIEW open.ogc_area_comparison AS
    SELECT concat_ws(':', c.area_code, c.month, c.side, c.subject) AS id, c.area_code, a.level,
           a.name AS area_name, c.month, c.side, c.subject, c.name_pl AS subject_name_pl,
           c.name_en AS subject_name_en, c.count, c.rate_per_100k, a.geom
    FROM open.area_comparison AS c JOIN core.areas AS a ON a.code = c.area_code;
GRANT SELECT ON open.ogc_area_comparison TO threatmap_public;

-- An import changes what the tiles' statistics layers show: caches keyed on the data version drop
-- (one bare version per statement: an import's delete and insert are a few statements).
CREATE OR REPLACE TRIGGER police_statistics_changed AFTER INSERT OR UPDATE OR DELETE
    ON core.police_statistics FOR EACH STATEMENT EXECUTE FUNCTION core.bump_data_version();
CREATE OR REPLACE TRIGGER area_population_changed AFTER INSERT OR UPDATE OR DELETE
    ON core.area_population FOR EACH STATEMENT EXECUTE FUNCTION core.bump_data_version();
CREATE OR REPLACE TRIGGER road_sections_changed AFTER INSERT OR UPDATE OR DELETE
    ON core.road_sections FOR EACH STATEMENT EXECUTE FUNCTION core.bump_data_version();
