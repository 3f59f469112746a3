-- The ids of open.reports with their points in one index (issue 16, point 5): an OGC page of a
-- city-sized box (store/ogc_items.py KEPT_JOINED: a box wider than a viewport, or with other
-- filters) takes its ids in id order, the box as a filter. Through the primary key that filter
-- reads every row it passes in the heap, which `threatmap db reorder` keeps in point order, so
-- consecutive ids sit on different pages: the Kraków page of 1,000 read 24,405 rows and 20,616
-- buffers from outside shared_buffers at 5,000,000 reports. With the point beside the id the
-- box is tested in the index (an index-only scan: the heap is visited only for pages not yet
-- all-visible), and a page of 1,000 of the six city boxes took 9-14 ms at the database instead
-- of 73-110 ms at 5,000,000 reports (at 1,000,000 the planner keeps a bitmap scan of the box
-- and a sort for four of them, 17-20 ms as before; bench/RESULTS.md, "City boxes' ids with their
-- points"). The index is about 47 bytes a report (225 MB at 5,000,000); building it took 4 s there,
-- during which writes to open.reports wait.
SET LOCAL ROLE threatmap_app;
CREATE INDEX open_reports_id_geom ON open.reports (id) INCLUDE (geom);
