-- The areas layer's outlines, clipped per tile in advance (table core.area_tiles: see the
-- baseline migration for why), kept in step with core.areas by statement triggers.
-- Public data: the boundaries are published as they are in open.areas.
SET LOCAL ROLE threatmap_app;

CREATE OR REPLACE FUNCTION core.refresh_area_tiles(codes text[]) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM core.area_tiles WHERE code = ANY(codes);
    WITH zooms AS (
        SELECT z, 40075016.68557849 / 2 ^ z AS w, 40075016.68557849 / 2 ^ z * 64 / 4096 AS buffer
        FROM generate_series(0, 11) AS z
    ),
    boxes AS (
        SELECT a.code, a.geom_3857, Box2D(a.geom_3857) AS b FROM core.areas AS a
        WHERE a.code = ANY(codes)
    ),
    candidates AS (
        SELECT b.code, b.geom_3857, zs.z, x, y
        FROM boxes AS b
        CROSS JOIN zooms AS zs
        CROSS JOIN LATERAL generate_series(
            greatest(0, floor((ST_XMin(b.b) - zs.buffer + 20037508.342789244) / zs.w)::integer),
            least(2 ^ zs.z - 1, floor((ST_XMax(b.b) + zs.buffer + 20037508.342789244) / zs.w))::integer) AS x
        CROSS JOIN LATERAL generate_series(
            greatest(0, floor((20037508.342789244 - ST_YMax(b.b) - zs.buffer) / zs.w)::integer),
            least(2 ^ zs.z - 1, floor((20037508.342789244 - ST_YMin(b.b) + zs.buffer) / zs.w))::integer) AS y
    )
    INSERT INTO core.area_tiles (z, x, y, code, geom)
    SELECT c.z, c.x, c.y, c.code, g.geom
    FROM candidates AS c
    CROSS JOIN LATERAL (SELECT ST_AsMVTGeom(c.geom_3857, ST_TileEnvelope(c.z, c.x, c.y), 4096, 64, true)
                        AS geom) AS g
    WHERE g.geom IS NOT NULL
    ORDER BY 1, 2, 3, 4;
$$;

CREATE OR REPLACE FUNCTION core.areas_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM core.refresh_area_tiles((SELECT array_agg(code) FROM new_rows));
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER area_tiles_inserted AFTER INSERT ON core.areas
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.areas_changed();
CREATE OR REPLACE TRIGGER area_tiles_updated AFTER UPDATE ON core.areas
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.areas_changed();

CREATE OR REPLACE VIEW open.area_tiles AS
    SELECT z, x, y, code, geom FROM core.area_tiles;
GRANT SELECT ON open.area_tiles TO threatmap_public;
