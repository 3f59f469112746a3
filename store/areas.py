"""Administrative areas (16 voivodeships, 380 counties) and one police unit per area.

Boundaries come from config/poland/ (MIT, see its LICENSE). Voivodeships carry their TERYT
codes. The county file has no TERYT codes, so a county's code is its voivodeship's code plus
its rank by name within the voivodeship: stable for this file, not the official TERYT code.
"""

import json
from pathlib import Path

import psycopg

VOIVODESHIP_TERYT = {
    "dolnośląskie": "02", "kujawsko-pomorskie": "04", "lubelskie": "06", "lubuskie": "08",
    "łódzkie": "10", "małopolskie": "12", "mazowieckie": "14", "opolskie": "16",
    "podkarpackie": "18", "podlaskie": "20", "pomorskie": "22", "śląskie": "24",
    "świętokrzyskie": "26", "warmińsko-mazurskie": "28", "wielkopolskie": "30",
    "zachodniopomorskie": "32",
}

GEOMETRY = "ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326)), 3))"

UPSERT_VOIVODESHIP = f"""
INSERT INTO core.areas (code, level, name, geom) VALUES (%s, 'voivodeship', %s, {GEOMETRY})
ON CONFLICT (code) DO NOTHING
"""

STAGE_COUNTY = f"INSERT INTO county_stage (name, geom) VALUES (%s, {GEOMETRY})"

# Each county goes to the voivodeship containing most of it, numbered by name within it.
INSERT_COUNTIES = """
INSERT INTO core.areas (code, level, name, parent_code, geom)
SELECT parent_code || lpad(row_number() OVER (PARTITION BY parent_code ORDER BY name, id)::text,
                           2, '0'),
       'county', name, parent_code, geom
FROM (
    SELECT s.id, s.name, s.geom,
           (SELECT v.code FROM core.areas AS v
            WHERE v.level = 'voivodeship' AND ST_Intersects(v.geom, s.geom)
            ORDER BY ST_Area(ST_Intersection(v.geom, s.geom)) DESC LIMIT 1) AS parent_code
    FROM county_stage AS s
) AS placed
ON CONFLICT (code) DO NOTHING
"""

INSERT_POLICE_UNITS = """
INSERT INTO core.police_units (id, name, level, area_code, parent_id)
SELECT CASE a.level WHEN 'voivodeship' THEN 'kwp-' ELSE 'kpp-' END || a.code,
       CASE a.level WHEN 'voivodeship' THEN 'Komenda Wojewódzka Policji, województwo ' || a.name
                    ELSE 'Komenda Powiatowa Policji, ' || a.name END,
       a.level, a.code,
       CASE WHEN a.parent_code IS NOT NULL THEN 'kwp-' || a.parent_code END
FROM core.areas AS a
ORDER BY a.level DESC, a.code
ON CONFLICT (id) DO NOTHING
"""


def _features(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["features"]


def seed_areas(conn: psycopg.Connection, data_dir: Path) -> None:
    """Loads areas and police units unless present; running it again changes nothing."""
    with conn.transaction():
        if conn.execute("SELECT count(*) FROM core.areas").fetchone()[0] == 0:
            with conn.cursor() as cur:
                cur.executemany(UPSERT_VOIVODESHIP, [
                    (VOIVODESHIP_TERYT[f["properties"]["nazwa"]], f["properties"]["nazwa"],
                     json.dumps(f["geometry"]))
                    for f in _features(data_dir / "wojewodztwa-min.geojson")])
                cur.execute("CREATE TEMP TABLE county_stage (id serial, name text, "
                            "geom geometry(MultiPolygon, 4326)) ON COMMIT DROP")
                cur.executemany(STAGE_COUNTY, [
                    (f["properties"]["nazwa"], json.dumps(f["geometry"]))
                    for f in _features(data_dir / "powiaty-min.geojson")])
                cur.execute(INSERT_COUNTIES)
        conn.execute(INSERT_POLICE_UNITS)
