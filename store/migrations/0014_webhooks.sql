-- Partners' webhooks (issue 15, point 8). (The bulk ingest, point 7, needs no table of its own:
-- idempotency by (partner, external id) is the constraint reports_partner_external_id of 0013.)
SET LOCAL ROLE threatmap_app;

-- A partner's webhook: where its reports' status changes are POSTed, and the secret they are
-- signed with (HMAC-SHA256). The secret is kept as is, not hashed: signing needs it.
CREATE TABLE core.partner_webhooks (
    partner_id  bigint PRIMARY KEY REFERENCES core.partners ON DELETE CASCADE,
    url         text NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2000),
    secret      text NOT NULL CHECK (char_length(secret) >= 32),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- The transactional outbox: one row per event to send, written by a trigger in the transaction
-- of the status change (store/sql/94_webhooks.sql), sent by the deliverer (gateway/webhooks.py).
CREATE TABLE core.webhook_outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        uuid NOT NULL UNIQUE,
    partner_id      bigint NOT NULL REFERENCES core.partners ON DELETE CASCADE,
    report_id       uuid NOT NULL REFERENCES core.reports ON DELETE CASCADE,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);
CREATE INDEX webhook_outbox_due ON core.webhook_outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_outbox_partner ON core.webhook_outbox (partner_id, id);

-- Every attempt to deliver an event: when, where, the HTTP status or the error, how long.
CREATE TABLE core.webhook_attempts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    outbox_id   bigint NOT NULL REFERENCES core.webhook_outbox ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT now(),
    url         text NOT NULL,
    http_status integer,
    error       text CHECK (char_length(error) <= 1000),
    duration_ms integer NOT NULL CHECK (duration_ms >= 0)
);
CREATE INDEX webhook_attempts_outbox ON core.webhook_attempts (outbox_id, at);
