-- The Atom feeds of newly published reports (catalog/feeds.py): each public report with the
-- day it was published, so that a feed lists reports in the order of the publication batches.
-- The day is stored with the public row (open.reports.published_on, core.public_report in
-- store/sql/20_projection.sql; migration 0017), indexed per county and per category.
--
-- Privacy reasoning:
-- - Only public columns (those of open.reports) and the publication DAY, in the policy's time
--   zone: the moment of publication is already visible to anyone polling the layer or
--   following the subscription (store/sql/30_publication.sql publishes by clock-hour batches,
--   in id order); the day tells no more than that, and no time of day at all.
-- - A report dated by month (sensitive category) gets the first day of its publication month:
--   its monthly batch tells the month, and a report published earlier by day (its category
--   made sensitive since) must not keep a day that dates it.
-- - Within a day, feeds order by id (random UUIDs), never by the exact moment.
SET LOCAL ROLE threatmap_app;

CREATE OR REPLACE VIEW open.report_feed AS
    SELECT o.id, o.category_id, o.status, o.occurred_on, o.date_precision, o.cell_m,
           o.voivodeship_code, o.county_code, o.geom, o.published_on
    FROM open.reports AS o;
GRANT SELECT ON open.report_feed TO threatmap_public;
