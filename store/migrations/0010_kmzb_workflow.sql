-- The KMZB workflow (issue 13, points 1-4): a report is `new` (zgłoszone) until an officer opens
-- it; opening records that it was read; the first verdict records that it was verified; a
-- report that is not confirmed leaves the public layer unless the policy publishes it;
-- categories may require a description; deadlines to read and to verify.
SET LOCAL ROLE threatmap_app;

-- Statuses: a colour (the map's), whether reaching it is a verdict of the verification, and
-- whether it hands the report to a body outside the police.
ALTER TABLE core.statuses
    ADD COLUMN colour text NOT NULL DEFAULT '#777777' CHECK (colour ~ '^#[0-9a-f]{6}$'),
    ADD COLUMN is_verdict boolean NOT NULL DEFAULT false,
    ADD COLUMN is_forwarding boolean NOT NULL DEFAULT false;

-- Categories: a description may be required (KMZB: the dangerous entertainment venue).
ALTER TABLE core.categories ADD COLUMN description_required boolean NOT NULL DEFAULT false;

-- The bodies outside the police a confirmed threat may be handed to (config/statuses.yml
-- forward_to, loaded at start-up; one no longer listed is kept, inactive, for history).
CREATE TABLE core.forward_bodies (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name_pl     text NOT NULL CHECK (name_pl <> ''),
    name_en     text NOT NULL CHECK (name_en <> ''),
    active      boolean NOT NULL DEFAULT true,
    sort_order  integer NOT NULL DEFAULT 0
);

-- Reports: when an officer first opened it, when the first verdict was given, and to which
-- body outside the police it was forwarded.
ALTER TABLE core.reports
    ADD COLUMN read_at timestamptz,
    ADD COLUMN verified_at timestamptz,
    ADD COLUMN forwarded_to text REFERENCES core.forward_bodies;
CREATE INDEX reports_unit_created ON core.reports (police_unit_id, created_at);

-- Events: opening a report, and an officer's internal note.
ALTER TABLE core.report_events DROP CONSTRAINT report_events_kind_check,
    ADD CONSTRAINT report_events_kind_check CHECK (kind IN (
        'created', 'status_changed', 'assigned', 'information_added', 'marked_abusive',
        'contact_erased', 'photos_erased', 'opened', 'note'));

-- Whether reports that were not confirmed stay on the public map (KMZB: they leave it).
ALTER TABLE core.privacy_policy ADD COLUMN publish_not_confirmed boolean NOT NULL DEFAULT false;

-- The deadlines of the workflow (config/statuses.yml, written at start-up like the catalogue).
CREATE TABLE core.workflow_deadlines (
    singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    read_within     interval NOT NULL DEFAULT '2 days' CHECK (read_within > interval '0'),
    verify_within   interval NOT NULL DEFAULT '5 days' CHECK (verify_within > interval '0'),
    due_soon        interval NOT NULL DEFAULT '12 hours' CHECK (due_soon >= interval '0')
);
INSERT INTO core.workflow_deadlines DEFAULT VALUES;

-- The new initial status, so that existing reports can move to it here (the start-up loads
-- names, colours and transitions from config/statuses.yml right after).
UPDATE core.statuses SET is_initial = false WHERE is_initial AND id <> 'new';
INSERT INTO core.statuses (id, name_pl, name_en, is_initial, colour)
VALUES ('new', 'zgłoszone', 'reported', true, '#15803d')
ON CONFLICT (id) DO UPDATE SET is_initial = true;

-- Existing data: under the old workflow `under_verification` was where every report started,
-- so those reports were never opened: they are `new`. Statuses that were verdicts get their
-- time of verdict from their history.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_trigger WHERE tgname = 'reports_status_transition') THEN
        ALTER TABLE core.reports DISABLE TRIGGER reports_status_transition;
    END IF;
    -- The public layer is rebuilt once below, not row by row.
    PERFORM set_config('threatmap.bulk', 'on', true);
    UPDATE core.reports SET status = 'new' WHERE status = 'under_verification';
    -- Each move is in the report's history, chained like every event (0009).
    INSERT INTO core.report_events (report_id, kind, from_status, to_status, actor, at, comment,
                                    seq, previous_hash, hash)
    SELECT r.id, 'status_changed', 'under_verification', 'new', 'system:migration', now(), note,
           last.seq + 1, last.hash,
           core.report_event_hash(last.hash, r.id, last.seq + 1, 'status_changed',
                                  'under_verification', 'new', 'system:migration', now(), note)
    FROM core.reports AS r
    CROSS JOIN (VALUES ('the KMZB workflow: a report not yet opened is new')) AS n (note)
    CROSS JOIN LATERAL (SELECT e.seq, e.hash FROM core.report_events AS e
                        WHERE e.report_id = r.id ORDER BY e.seq DESC LIMIT 1) AS last
    WHERE r.status = 'new';
    UPDATE core.reports AS r SET verified_at = e.first_change, read_at = e.first_change
    FROM (SELECT report_id, min(at) AS first_change FROM core.report_events
          WHERE kind = 'status_changed' GROUP BY report_id) AS e
    WHERE r.id = e.report_id;
    IF EXISTS (SELECT FROM pg_trigger WHERE tgname = 'reports_status_transition') THEN
        ALTER TABLE core.reports ENABLE TRIGGER reports_status_transition;
    END IF;
END $$;

-- Which reports are public, as store/sql/20_projection.sql defines it from now on (the same
-- text: defined here too because the rebuild below needs it before store/sql is applied).
CREATE OR REPLACE FUNCTION core.is_public(r core.reports) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT r.published_at IS NOT NULL AND NOT r.abusive
       AND (r.status <> 'not_confirmed'
            OR (SELECT publish_not_confirmed FROM core.privacy_policy))
$$;

-- An existing database's public layer follows the new statuses and leaves out the reports not
-- confirmed (a database being created has no reports and no rebuild function yet).
DO $$
BEGIN
    IF EXISTS (SELECT FROM core.reports) THEN
        PERFORM core.rebuild_public_layer();
    END IF;
END $$;
