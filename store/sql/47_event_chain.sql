-- The tamper-evident history of a report (store/migrations/0009_report_event_chain.sql says how
-- the chain is built; 0019 adds the forwarded-to body to it). A new event gets its place and its hashes here, whoever inserts it; an
-- event is never changed, and never deleted while its report exists (a report deleted as a
-- whole takes its events with it: the cascade runs after the report row is gone).
SET LOCAL ROLE threatmap_app;

CREATE OR REPLACE FUNCTION core.chain_report_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    last core.report_events%ROWTYPE;
BEGIN
    -- One writer per report at a time, so two events inserted at once do not both claim the
    -- same place; the lock ends with the transaction. A bulk load (threatmap.bulk, store/demo.py)
    -- locks the whole table once instead: a lock per report ran out of shared memory (the lock
    -- table holds max_locks_per_transaction x connections) at 100,000 reports in one transaction.
    -- It also brings its own chain, computed set-based (store/demo.py): kept as given (a wrong
    -- one is a break `threatmap audit verify` names, like any other).
    IF coalesce(current_setting('threatmap.bulk', true), 'off') = 'on' THEN
        IF NEW.hash IS NOT NULL THEN
            RETURN NEW;
        END IF;
    ELSE
        PERFORM pg_advisory_xact_lock(1347, hashtext(NEW.report_id::text));
    END IF;
    SELECT * INTO last FROM core.report_events
    WHERE report_id = NEW.report_id ORDER BY seq DESC LIMIT 1;
    NEW.seq := coalesce(last.seq, 0) + 1;
    NEW.previous_hash := last.hash;
    NEW.hash := core.report_event_hash(NEW.previous_hash, NEW.report_id, NEW.seq, NEW.kind,
                                       NEW.from_status, NEW.to_status, NEW.actor, NEW.at,
                                       NEW.comment, NEW.forwarded_to);
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION core.refuse_report_event_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'report events are never changed (event %)', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF EXISTS (SELECT 1 FROM core.reports WHERE id = OLD.report_id) THEN
        RAISE EXCEPTION 'report events are never deleted while their report exists (event %)', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN OLD;
END
$$;

CREATE OR REPLACE TRIGGER report_events_chain BEFORE INSERT ON core.report_events
    FOR EACH ROW EXECUTE FUNCTION core.chain_report_event();
CREATE OR REPLACE TRIGGER report_events_unchanged BEFORE UPDATE OR DELETE ON core.report_events
    FOR EACH ROW EXECUTE FUNCTION core.refuse_report_event_change();
