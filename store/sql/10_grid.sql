-- The privacy grid: where a point is published. Square cells of the EPSG:2180 grid (metres),
-- one size for ordinary categories, a coarser one for sensitive ones, and the density levels
-- (config/privacy.yml); a public point is the centre of its cell, never the exact point.
SET LOCAL ROLE threatmap_app;

-- The cell of a point: [column, row] in the EPSG:2180 grid of the given size.
CREATE OR REPLACE FUNCTION core.cell_index(g geometry, cell_m integer) RETURNS integer[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT ARRAY[floor(ST_X(p) / cell_m)::integer, floor(ST_Y(p) / cell_m)::integer]
    FROM (SELECT ST_Transform(g, 2180) AS p) AS projected
$$;

-- The public place of a point: the centre of its cell in the EPSG:2180 grid.
CREATE OR REPLACE FUNCTION core.cell_centre(g geometry, cell_m integer) RETURNS geometry
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT ST_Transform(ST_SetSRID(ST_MakePoint((i[1] + 0.5) * cell_m, (i[2] + 0.5) * cell_m), 2180), 4326)
    FROM (SELECT core.cell_index(g, cell_m) AS i) AS cell
$$;

CREATE OR REPLACE FUNCTION core.cell_polygon(cell_m integer, cx integer, cy integer) RETURNS geometry
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT ST_Transform(ST_MakeEnvelope(cx::float8 * cell_m, cy::float8 * cell_m,
                                        (cx + 1)::float8 * cell_m, (cy + 1)::float8 * cell_m, 2180), 4326)
$$;

-- The centre of a density cell (as core.density_cells.centre_3857, which the bulk rebuild
-- writes only after the counts).
CREATE OR REPLACE FUNCTION core.cell_centre_3857(cell_m integer, cx integer, cy integer) RETURNS geometry
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT ST_Transform(ST_SetSRID(ST_MakePoint((cx + 0.5) * cell_m, (cy + 0.5) * cell_m), 2180), 3857)
$$;
