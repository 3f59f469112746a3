-- The police's work list (GraphQL `staffReports`) pages through core.reports newest first by
-- exact time, within a county (or a voivodeship's counties) and the reports handed to a unit,
-- usually filtered by status. The first index carries every column those filters read, so a
-- page's keys come from an index-only scan (no heap visit per skipped report); the other two
-- serve small scopes (a county with few reports, the reports handed to a unit).
SET LOCAL ROLE threatmap_app;

CREATE INDEX reports_worklist ON core.reports (occurred_at, id)
    INCLUDE (county_code, police_unit_id, status, category_id, source);
CREATE INDEX reports_county_occurred ON core.reports (county_code, occurred_at, id);
CREATE INDEX reports_police_unit ON core.reports (police_unit_id) WHERE police_unit_id IS NOT NULL;
