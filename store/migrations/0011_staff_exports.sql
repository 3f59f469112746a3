-- The record of every CSV export of the work list (issue 13, point 9): who exported, when,
-- with which filters, how many rows, and which private fields were in it (exact point and time,
-- description, source; contact only for some roles). Written before the first row is sent; read by admins
-- (`threatmap audit exports`).
SET LOCAL ROLE threatmap_app;

CREATE TABLE core.staff_exports (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor            text NOT NULL CHECK (actor <> ''),
    role             text NOT NULL CHECK (role IN ('officer', 'analyst', 'admin')),
    police_unit_id   text REFERENCES core.police_units,
    at               timestamptz NOT NULL DEFAULT now(),
    filters          jsonb NOT NULL DEFAULT '{}'::jsonb,
    row_count        integer NOT NULL CHECK (row_count >= 0),
    private_fields   text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX staff_exports_at ON core.staff_exports (at DESC);
