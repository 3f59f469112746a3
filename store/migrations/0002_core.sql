-- The private truth. Everything here belongs to the application role; the public role
-- has no USAGE on this schema and therefore cannot read any of it.
SET LOCAL ROLE threatmap_app;

CREATE TABLE core.category_groups (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name_pl     text NOT NULL CHECK (name_pl <> ''),
    name_en     text NOT NULL CHECK (name_en <> ''),
    sort_order  integer NOT NULL DEFAULT 0
);

CREATE TABLE core.categories (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    group_id    text NOT NULL REFERENCES core.category_groups,
    name_pl     text NOT NULL CHECK (name_pl <> ''),
    name_en     text NOT NULL CHECK (name_en <> ''),
    colour      text NOT NULL CHECK (colour ~ '^#[0-9a-f]{6}$'),
    icon        text NOT NULL CHECK (icon ~ '^[a-z0-9-]+$'),
    sensitive   boolean NOT NULL DEFAULT false,
    active      boolean NOT NULL DEFAULT true,
    sort_order  integer NOT NULL DEFAULT 0
);

CREATE TABLE core.statuses (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9_]+$'),
    name_pl     text NOT NULL CHECK (name_pl <> ''),
    name_en     text NOT NULL CHECK (name_en <> ''),
    is_initial  boolean NOT NULL DEFAULT false,
    is_closed   boolean NOT NULL DEFAULT false,
    sort_order  integer NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX statuses_one_initial ON core.statuses (is_initial) WHERE is_initial;

-- The KMZB workflow as data: a status change not listed here is refused by the database.
CREATE TABLE core.status_transitions (
    from_status text NOT NULL REFERENCES core.statuses,
    to_status   text NOT NULL REFERENCES core.statuses,
    PRIMARY KEY (from_status, to_status),
    CHECK (from_status <> to_status)
);

CREATE TABLE core.areas (
    code        text PRIMARY KEY CHECK (code ~ '^[0-9]{2}([0-9]{2})?$'),
    level       text NOT NULL CHECK (level IN ('voivodeship', 'county')),
    name        text NOT NULL CHECK (name <> ''),
    parent_code text REFERENCES core.areas,
    geom        geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    geom_3857   geometry(MultiPolygon, 3857) GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED,
    CHECK ((level = 'voivodeship') = (parent_code IS NULL)),
    CHECK ((level = 'voivodeship') = (length(code) = 2))
);
CREATE INDEX areas_geom ON core.areas USING gist (geom);
CREATE INDEX areas_geom_3857 ON core.areas USING gist (geom_3857);

CREATE TABLE core.police_units (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9-]+$'),
    name        text NOT NULL CHECK (name <> ''),
    level       text NOT NULL CHECK (level IN ('voivodeship', 'county')),
    area_code   text NOT NULL UNIQUE REFERENCES core.areas,
    parent_id   text REFERENCES core.police_units
);

CREATE TABLE core.reports (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    category_id         text NOT NULL REFERENCES core.categories,
    status              text NOT NULL REFERENCES core.statuses,
    geom                geometry(Point, 4326) NOT NULL CHECK (
                            NOT ST_IsEmpty(geom)
                            AND ST_X(geom) BETWEEN -180 AND 180
                            AND ST_Y(geom) BETWEEN -90 AND 90),
    occurred_at         timestamptz NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    description         text CHECK (char_length(description) <= 4000),
    contact             text CHECK (char_length(contact) <= 500),
    source              text NOT NULL DEFAULT 'citizen' CHECK (source IN (
                            'citizen', 'local_government', 'ngo', 'police_system', 'partner_platform')),
    police_unit_id      text REFERENCES core.police_units,
    county_code         text REFERENCES core.areas,
    idempotency_key     text UNIQUE CHECK (char_length(idempotency_key) BETWEEN 1 AND 200),
    payload_hash        text,
    external_id         text CHECK (char_length(external_id) BETWEEN 1 AND 200),
    tracking_token_hash bytea UNIQUE,
    abusive             boolean NOT NULL DEFAULT false,
    published_at        timestamptz,
    closed_at           timestamptz,
    contact_erased_at   timestamptz,
    UNIQUE (source, external_id),
    CHECK (occurred_at <= created_at + interval '5 minutes'),
    CHECK (contact_erased_at IS NULL OR contact IS NULL)
);
CREATE INDEX reports_geom ON core.reports USING gist (geom);
CREATE INDEX reports_status ON core.reports (status);
CREATE INDEX reports_unpublished ON core.reports (created_at) WHERE published_at IS NULL;
CREATE INDEX reports_closed_with_contact ON core.reports (closed_at) WHERE contact IS NOT NULL;

CREATE TABLE core.report_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    report_id   uuid NOT NULL REFERENCES core.reports ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN (
                    'created', 'status_changed', 'assigned', 'information_added',
                    'marked_abusive', 'contact_erased')),
    from_status text REFERENCES core.statuses,
    to_status   text REFERENCES core.statuses,
    actor       text NOT NULL CHECK (actor <> ''),
    at          timestamptz NOT NULL DEFAULT now(),
    comment     text CHECK (char_length(comment) <= 4000),
    CHECK ((kind = 'status_changed') = (from_status IS NOT NULL AND to_status IS NOT NULL))
);
CREATE INDEX report_events_report ON core.report_events (report_id, at);

-- Counts imported from police IT systems (pillar 1), per area, offence and month.
CREATE TABLE core.police_statistics (
    area_code   text NOT NULL REFERENCES core.areas,
    offence     text NOT NULL CHECK (offence ~ '^[a-z0-9-]+$'),
    month       date NOT NULL CHECK (month = date_trunc('month', month)::date),
    count       integer NOT NULL CHECK (count >= 0),
    PRIMARY KEY (area_code, offence, month)
);

-- A status change must follow core.status_transitions.
CREATE FUNCTION core.check_status_transition() RETURNS trigger
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
CREATE TRIGGER reports_status_transition BEFORE UPDATE OF status ON core.reports
    FOR EACH ROW EXECUTE FUNCTION core.check_status_transition();
