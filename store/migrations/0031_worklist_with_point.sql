-- The work list's covering index carries the exact point too (issue 16: staffReports at
-- 5,000,000 reports). A work-list page with a bbox (the workbench's map) walks reports_worklist
-- newest first and tests each report's point; without the point in the index each report passed
-- was read from the heap, in time order, so on different blocks: the Warsaw walk of kwp-14 read
-- about 1,000 reports and 1,032 heap blocks for a page of 100 (8.5 of the page's 20 ms at the
-- database), and the page's time followed the OS cache (p95 39-118 ms from run to run in the
-- suite). With the point the keys are an index-only scan of the same walk: 0.5 ms, no heap block
-- (bench/RESULTS.md, "City boxes' ids with their points, and the work list's keys with their
-- points"). The index is about 32 bytes a report larger (518 -> 671 MB at 5,000,000); building
-- it took 11 s there, during which writes to core.reports wait. It is still private: core.* is
-- the app's alone.
SET LOCAL ROLE threatmap_app;
CREATE INDEX reports_worklist_with_point ON core.reports (occurred_at, id)
    INCLUDE (county_code, police_unit_id, status, category_id, source, geom);
DROP INDEX core.reports_worklist;
ALTER INDEX core.reports_worklist_with_point RENAME TO reports_worklist;
