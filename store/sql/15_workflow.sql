-- The KMZB workflow on core.reports: a status change must follow core.status_transitions.
SET LOCAL ROLE threatmap_app;

CREATE OR REPLACE FUNCTION core.check_status_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- A listed step, or from the initial status two steps at once (an officer opening a new
    -- report and giving the verdict in one action: both steps are in its history).
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT EXISTS (
        SELECT FROM core.status_transitions
        WHERE from_status = OLD.status AND to_status = NEW.status
    ) AND NOT EXISTS (
        SELECT FROM core.status_transitions AS first
        JOIN core.status_transitions AS second ON second.from_status = first.to_status
        JOIN core.statuses AS s ON s.id = first.from_status AND s.is_initial
        WHERE first.from_status = OLD.status AND second.to_status = NEW.status
    ) THEN
        RAISE EXCEPTION 'illegal status transition from % to %', OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'status_transition';
    END IF;
    RETURN NEW;
END
$$;
CREATE OR REPLACE TRIGGER reports_status_transition BEFORE UPDATE OF status ON core.reports
    FOR EACH ROW EXECUTE FUNCTION core.check_status_transition();

-- Where a report stands against one deadline (read-by or verify-by): met or missed once done,
-- else pending, due soon (within `soon` of it) or overdue. The work list and its filters use it.
CREATE OR REPLACE FUNCTION core.deadline_state(done_at timestamptz, due_at timestamptz,
                                               soon interval) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN done_at IS NOT NULL THEN CASE WHEN done_at <= due_at THEN 'met' ELSE 'missed' END
        WHEN now() > due_at THEN 'overdue'
        WHEN now() > due_at - soon THEN 'due_soon'
        ELSE 'pending' END
$$;
