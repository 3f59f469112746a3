-- Room on each page of open.reports for a status change (issue 16, point 5). A status change
-- rewrites the public row (core.sync_public_report) without changing an indexed column, so
-- PostgreSQL can keep the new version on the same page (a HOT update: no index entry, and the
-- row keeps its place in the spatial order of store/reorder.py) if that page has room. A bulk
-- load or a reorder fills every page: on 1,000,000 reports, 2,000 status changes after
-- `threatmap db reorder` were 11 % HOT and moved 1,772 rows to other blocks; with fillfactor 90,
-- 100 % HOT and none moved (bench/RESULTS.md, "The heap in spatial order"). It applies to pages
-- written from now on: the next rebuild of the public layer or `threatmap db reorder`.
-- core.report_cells is left at 100: its count n is in an index (report_cells_geom INCLUDE (n)),
-- so its updates cannot be HOT whatever the room.
SET LOCAL ROLE threatmap_app;
ALTER TABLE open.reports SET (fillfactor = 90);
