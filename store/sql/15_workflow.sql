-- The KMZB workflow on core.reports: a status change must follow core.status_transitions.
SET LOCAL ROLE threatmap_app;

CREATE OR REPLACE FUNCTION core.check_status_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT EXISTS (
        SELECT FROM core.status_transitions
        WHERE from_status = OLD.status AND to_status = NEW.status
    ) THEN
        RAISE EXCEPTION 'illegal status transition from % to %', OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'status_transition';
    END IF;
    RETURN NEW;
END
$$;
CREATE OR REPLACE TRIGGER reports_status_transition BEFORE UPDATE OF status ON core.reports
    FOR EACH ROW EXECUTE FUNCTION core.check_status_transition();
