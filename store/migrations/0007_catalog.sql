-- The category Atom feeds (catalog/feeds.py) read a category's newest public reports: an index
-- instead of a scan of every public report (the county feeds use open_reports_county).
CREATE INDEX open_reports_category ON open.reports (category_id);
