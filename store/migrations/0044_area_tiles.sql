-- The areas layer's outlines clipped once, not at every request: ST_AsMVTGeom of the county
-- and voivodeship polygons cost a z 5 tile about 5 ms (0.3 ms a polygon: clipping, snapping to
-- the tile grid, making the result valid), against about 1.5 ms for its density layer
-- (measured on 100,000 reports). Each area's outline is stored per tile it touches, already in
-- tile coordinates (extent 4096, buffer 64, as tiles.queries asks), for zooms 0-11 (the areas
-- layer stops at the switch zoom, 12) and both levels; a tile then only joins the counts.
-- Kept in step with core.areas by statement triggers (areas change rarely).
-- Public data: the boundaries are published as they are in open.areas.
SET LOCAL ROLE threatmap_app;

CREATE TABLE core.area_tiles (
    z       integer NOT NULL,
    x       integer NOT NULL,
    y       integer NOT NULL,
    code    text NOT NULL REFERENCES core.areas ON DELETE CASCADE,
    geom    geometry NOT NULL,           -- ST_AsMVTGeom's output: tile coordinates, no SRID
    PRIMARY KEY (z, x, y, code)
);
CREATE INDEX area_tiles_code ON core.area_tiles (code);

CREATE FUNCTION core.refresh_area_tiles(codes text[]) RETURNS void
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

CREATE FUNCTION core.areas_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM core.refresh_area_tiles((SELECT array_agg(code) FROM new_rows));
    RETURN NULL;
END
$$;
CREATE TRIGGER area_tiles_inserted AFTER INSERT ON core.areas
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.areas_changed();
CREATE TRIGGER area_tiles_updated AFTER UPDATE ON core.areas
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.areas_changed();

SELECT core.refresh_area_tiles((SELECT coalesce(array_agg(code), '{}') FROM core.areas));
ANALYZE core.area_tiles;

CREATE VIEW open.area_tiles AS
    SELECT z, x, y, code, geom FROM core.area_tiles;
