-- A tamper-evident history (issue 13, point 5). Each report event carries `seq`, its place in the
-- report's history (1, 2, ...), `previous_hash`, the hash of the event before it (NULL for the
-- first), and `hash`, the SHA-256 of its own content and of `previous_hash`. Altering an event
-- changes its content but not its stored hash; deleting one leaves a gap in `seq` and a
-- `previous_hash` that names an event no longer there; `threatmap audit verify` (store/audit.py)
-- recomputes every chain and names the first break.
--
-- The hash function is defined here, not in store/sql/, because this migration computes the
-- hashes of the events that already exist; store/sql/47_event_chain.sql holds the trigger that
-- computes them for new events with this same function. Its text must not change once applied
-- (the Python verifier recomputes the same bytes); a new format would be a new function.
--
-- The content, field by field: `-` for NULL, else `<length>:<text>` (so no field can run into the
-- next), joined by `|`; the time as microseconds since the Unix epoch (exact: PostgreSQL stores
-- microseconds). The hash is sha256(previous_hash hex || '|' || content) in UTF-8.
SET LOCAL ROLE threatmap_app;

CREATE FUNCTION core.report_event_hash(previous bytea, report_id uuid, seq integer, kind text,
                                       from_status text, to_status text, actor text,
                                       at timestamptz, comment text) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sha256(convert_to(concat_ws('|',
        coalesce(encode(previous, 'hex'), '-'),
        report_id::text,
        seq::text,
        CASE WHEN kind IS NULL THEN '-' ELSE char_length(kind) || ':' || kind END,
        CASE WHEN from_status IS NULL THEN '-' ELSE char_length(from_status) || ':' || from_status END,
        CASE WHEN to_status IS NULL THEN '-' ELSE char_length(to_status) || ':' || to_status END,
        CASE WHEN actor IS NULL THEN '-' ELSE char_length(actor) || ':' || actor END,
        (extract(epoch FROM at) * 1000000)::bigint::text,
        CASE WHEN comment IS NULL THEN '-' ELSE char_length(comment) || ':' || comment END
    ), 'UTF8'))
$$;

ALTER TABLE core.report_events
    ADD COLUMN seq integer,
    ADD COLUMN previous_hash bytea,
    ADD COLUMN hash bytea;

-- The events that exist get their places in insertion order (id), then their hashes, one step
-- of every chain at a time: set-based, so a database of millions of events takes seconds.
UPDATE core.report_events AS e SET seq = numbered.seq
FROM (SELECT id, row_number() OVER (PARTITION BY report_id ORDER BY id)::integer AS seq
      FROM core.report_events) AS numbered
WHERE e.id = numbered.id;

DO $$
DECLARE
    step integer := 1;
    longest integer;
BEGIN
    SELECT coalesce(max(seq), 0) INTO longest FROM core.report_events;
    WHILE step <= longest LOOP
        UPDATE core.report_events AS e
        SET previous_hash = before.hash,
            hash = core.report_event_hash(before.hash, e.report_id, e.seq, e.kind, e.from_status,
                                          e.to_status, e.actor, e.at, e.comment)
        FROM core.report_events AS e2
        LEFT JOIN core.report_events AS before
               ON before.report_id = e2.report_id AND before.seq = e2.seq - 1
        WHERE e.id = e2.id AND e.seq = step;
        step := step + 1;
    END LOOP;
END $$;

ALTER TABLE core.report_events
    ALTER COLUMN seq SET NOT NULL,
    ALTER COLUMN hash SET NOT NULL,
    ADD CONSTRAINT report_events_seq_positive CHECK (seq >= 1),
    ADD CONSTRAINT report_events_place UNIQUE (report_id, seq);
