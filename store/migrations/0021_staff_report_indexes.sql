-- The police's work list (GraphQL `staffReports`) pages through core.reports newest first by
-- exact time, within a county (or a voivodeship's counties) and the reports handed to a unit.
SET LOCAL ROLE threatmap_app;

CREATE INDEX reports_occurred ON core.reports (occurred_at, id);
CREATE INDEX reports_county_occurred ON core.reports (county_code, occurred_at, id);
CREATE INDEX reports_police_unit ON core.reports (police_unit_id) WHERE police_unit_id IS NOT NULL;
