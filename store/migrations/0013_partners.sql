-- Partners (issue 15, point 5): local governments, NGOs, municipal guards and partner platforms,
-- registered by an admin (`threatmap partner add`), each with API keys that are shown once and
-- stored hashed (store/partners.py says why SHA-256 is enough). A partner submits reports
-- (Open311 `POST requests`, the bulk ingest) and reads back its own.
SET LOCAL ROLE threatmap_app;

CREATE TABLE core.partners (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    kind        text NOT NULL CHECK (kind IN ('ngo', 'local_government', 'municipal_guard', 'platform')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    active      boolean NOT NULL DEFAULT true
);

CREATE TABLE core.partner_keys (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partner_id   bigint NOT NULL REFERENCES core.partners ON DELETE CASCADE,
    hash         bytea NOT NULL UNIQUE CHECK (length(hash) = 32),   -- SHA-256 of the whole key
    prefix       text NOT NULL CHECK (char_length(prefix) BETWEEN 4 AND 32),   -- shown to admins
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_used_at timestamptz
);
CREATE INDEX partner_keys_prefix ON core.partner_keys (prefix);
CREATE INDEX partner_keys_partner ON core.partner_keys (partner_id);

-- A report's source is its partner's kind (store/partners.py SOURCE_BY_KIND: a platform's is
-- the existing 'partner_platform'); municipal guards are a new source.
CREATE OR REPLACE FUNCTION core.report_sources() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY['citizen', 'local_government', 'ngo', 'police_system', 'partner_platform',
                 'municipal_guard']
$$;

-- Reports: the partner that sent one, its id at the partner (idempotent by (partner, external
-- id): the bulk ingest), and a media URL sent through Open311 (kept as text, never fetched).
ALTER TABLE core.reports
    ADD COLUMN partner_id bigint REFERENCES core.partners,
    ADD COLUMN media_url text CHECK (char_length(media_url) BETWEEN 1 AND 2000);
-- (source, external_id) was unique: two partners of one kind may use the same external ids, so
-- the uniqueness is per partner for partners' reports and per source for the others.
ALTER TABLE core.reports DROP CONSTRAINT reports_source_external_id_key;
-- (A plain constraint on (partner_id, external_id): `ON CONFLICT (partner_id, external_id)`
-- infers it; a citizen's NULL partner_id never conflicts.)
CREATE UNIQUE INDEX reports_source_external_id ON core.reports (source, external_id)
    WHERE partner_id IS NULL;
ALTER TABLE core.reports ADD CONSTRAINT reports_partner_external_id UNIQUE (partner_id, external_id);
CREATE INDEX reports_partner ON core.reports (partner_id, created_at) WHERE partner_id IS NOT NULL;
