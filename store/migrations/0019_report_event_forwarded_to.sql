-- The body a status change forwards a report to, as data in its history. Until now the event
-- said it in its comment, in English ("forwarded to road-manager: <the officer's comment>"), which
-- the pages could only show as it was. An event now names the body in `forwarded_to` and keeps
-- the officer's comment alone; the officers' pages say "Forwarded to <the body's name>" in the
-- reader's language. Events written before keep their comment as it is (the chain covers it; it
-- never changes) and read as before.
--
-- The chain covers the new column (store/migrations/0009_report_event_chain.sql, whose function
-- must not change): an event with a body is hashed as
--   sha256(hex(<the nine-field hash of 0009>) || '|' || <length>:<body>)   in UTF-8,
-- an event without one exactly as before, so every existing hash stays valid. store/audit.py
-- (`event_hash`) is the Python twin; store/sql/47_event_chain.sql calls this function.
SET LOCAL ROLE threatmap_app;

ALTER TABLE core.report_events ADD COLUMN forwarded_to text REFERENCES core.forward_bodies;

CREATE FUNCTION core.report_event_hash(previous bytea, report_id uuid, seq integer, kind text,
                                       from_status text, to_status text, actor text,
                                       at timestamptz, comment text, forwarded_to text) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN forwarded_to IS NULL THEN nine.hash
                ELSE sha256(convert_to(encode(nine.hash, 'hex') || '|' || char_length(forwarded_to)
                                       || ':' || forwarded_to, 'UTF8')) END
    FROM (SELECT core.report_event_hash(previous, report_id, seq, kind, from_status, to_status,
                                        actor, at, comment) AS hash) AS nine
$$;
