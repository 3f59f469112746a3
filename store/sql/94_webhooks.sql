-- Webhooks (issue 15, point 8): each status change of a partner's report goes into the outbox
-- (core.webhook_outbox, migration 0014) in the same transaction as the change, so an event is
-- sent if and only if the change committed; the officer's transaction pays one indexed lookup
-- and one insert, never the HTTP call (the deliverer sends later: gateway/webhooks.py).
-- The payload carries no description, contact, point or time of the report: the partner sent
-- those itself; it gets our id, its own id, the statuses and when the change was made.
SET LOCAL ROLE threatmap_app;

CREATE OR REPLACE FUNCTION core.enqueue_webhook() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    event uuid := gen_random_uuid();
BEGIN
    INSERT INTO core.webhook_outbox (event_id, partner_id, report_id, payload)
    SELECT event, w.partner_id, r.id,
           jsonb_build_object(
               'id', event,
               'type', 'report.status_changed',
               'created_at', NEW.at,
               'report', jsonb_build_object('id', r.id, 'external_id', r.external_id,
                                            'status', NEW.to_status,
                                            'previous_status', NEW.from_status))
    FROM core.reports AS r JOIN core.partner_webhooks AS w ON w.partner_id = r.partner_id
    WHERE r.id = NEW.report_id;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER report_events_webhook AFTER INSERT ON core.report_events
    FOR EACH ROW WHEN (NEW.kind = 'status_changed') EXECUTE FUNCTION core.enqueue_webhook();
