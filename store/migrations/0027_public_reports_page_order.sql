-- The public pages' order as one index (issue 16, points 4 and 5): the GraphQL page of public
-- reports is ordered by (occurred_on, id), newest first by default, and keyset-paged on that pair
-- (store/reports.py, store/public_pages.py). With an index on occurred_on alone PostgreSQL reads
-- it in day order and sorts each day's rows by id (an incremental sort): to give the page's last
-- rows it reads every report of the day they fall on that the page's bbox or filter keeps, and a
-- day holds 5 x the reports at 5 x the data. On (occurred_on, id) the walk stops at the page's
-- last row, whatever the table's size: the Warsaw page of 101 read 1,741 buffers in 2.2 ms warm
-- on 1,000,000 reports, 1,021 in 0.6 ms with this index, and 1,052 in 0.9 ms on 5,000,000
-- (bench/RESULTS.md, "The kept texts in a table of their own, and the page order as one index").
-- A date range is found through it as through the old one, which it replaces.
SET LOCAL ROLE threatmap_app;
CREATE INDEX open_reports_occurred_on_id ON open.reports (occurred_on, id);
DROP INDEX open.open_reports_occurred_on;
