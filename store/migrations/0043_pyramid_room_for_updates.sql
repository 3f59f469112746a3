-- Room on every page of the pyramid for the next version of its rows, so that updating a cell's
-- counts is a HOT update (no new entry in the primary key or the GiST index on centre_3857):
-- a bulk-loaded table is packed full, so every first update of a row went to another page and
-- into both indexes. Measured on 100,000 reports right after a rebuild (bench/RESULTS.md):
-- a published insert median 5.6 -> 4.3 ms, p95 9.9 -> 4.9 ms.
-- CLUSTER rewrites each partition at its fill factor, in the primary key's (grid) order.
SET LOCAL ROLE threatmap_app;

DO $$
DECLARE
    part regclass;
BEGIN
    FOR part IN SELECT inhrelid::regclass FROM pg_inherits
                WHERE inhparent = 'core.tile_density'::regclass LOOP
        EXECUTE format('ALTER TABLE %s SET (fillfactor = 80)', part);
        EXECUTE format('CLUSTER %s USING %I', part,
                       (SELECT c.relname FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
                        WHERE i.indrelid = part AND i.indisprimary));
    END LOOP;
END
$$;
ALTER TABLE core.tile_areas SET (fillfactor = 50);   -- ~400 rows, updated by every report
CLUSTER core.tile_areas USING tile_areas_pkey;
ANALYZE core.tile_density;
ANALYZE core.tile_areas;
