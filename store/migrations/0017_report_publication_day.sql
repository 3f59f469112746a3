-- The publication day on open.reports (issue 14: feeds of a big county or category): the Atom
-- feeds list a county's or a category's newest publications; computed per row through
-- core.reports (store/sql/88_catalog.sql before), the newest 50 of Warsaw meant reading all of
-- Warsaw's reports and sorting them. Stored with the public row (core.public_report fills it,
-- store/sql/20_projection.sql; same day and same month rule as the feed had), an index per feed
-- answers with the first rows.
-- The day is what the feeds already publish: privacy reasoning in store/sql/88_catalog.sql.
SET LOCAL ROLE threatmap_app;

ALTER TABLE open.reports ADD COLUMN published_on date;

-- Filling the column changes no public value that tiles, counts or subscriptions show: their
-- statement triggers would announce a million changed rows for nothing.
ALTER TABLE open.reports DISABLE TRIGGER USER;
UPDATE open.reports AS o
SET published_on = CASE WHEN o.date_precision = 'month'
                        THEN date_trunc('month', r.published_at AT TIME ZONE p.timezone)::date
                        ELSE (r.published_at AT TIME ZONE p.timezone)::date END
FROM core.reports AS r CROSS JOIN core.privacy_policy AS p
WHERE r.id = o.id;
ALTER TABLE open.reports ENABLE TRIGGER USER;

CREATE INDEX open_reports_county_feed ON open.reports (county_code, published_on DESC, id);
CREATE INDEX open_reports_category_feed ON open.reports (category_id, published_on DESC, id);

-- A new column of open.reports needs its own column grant (0002: no table-wide SELECT).
GRANT SELECT (published_on) ON open.reports TO threatmap_public;
