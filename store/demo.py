"""Deterministic synthetic reports spread like real ones: clustered on cities by population,
over a rural background, all statuses, two years of dates.

Loaded with COPY in bulk mode (the per-row public-layer trigger is skipped) and followed by one
set-based rebuild of the public layer, so a million reports load in minutes, not hours.
"""

import json
import math
import random
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg
import shapely
from shapely.geometry import shape

# (name, longitude, latitude, population in thousands)
Progress = Callable[[str], None]   # told what a long step is doing

CITIES = [
    ("Warszawa", 21.012, 52.230, 1860), ("Kraków", 19.945, 50.065, 800),
    ("Wrocław", 17.038, 51.108, 670), ("Łódź", 19.457, 51.759, 660),
    ("Poznań", 16.925, 52.406, 540), ("Gdańsk", 18.646, 54.352, 490),
    ("Szczecin", 14.552, 53.428, 390), ("Bydgoszcz", 18.008, 53.123, 330),
    ("Lublin", 22.568, 51.246, 330), ("Białystok", 23.168, 53.132, 290),
    ("Katowice", 19.024, 50.264, 280), ("Gdynia", 18.531, 54.518, 240),
    ("Częstochowa", 19.120, 50.811, 210), ("Radom", 21.147, 51.403, 200),
    ("Rzeszów", 22.004, 50.041, 200), ("Toruń", 18.598, 53.013, 195),
    ("Sosnowiec", 19.104, 50.286, 190), ("Kielce", 20.629, 50.866, 185),
    ("Gliwice", 18.677, 50.294, 175), ("Olsztyn", 20.480, 53.778, 170),
    ("Zielona Góra", 15.506, 51.935, 140), ("Opole", 17.921, 50.675, 125),
    ("Gorzów Wielkopolski", 15.229, 52.731, 120), ("Płock", 19.706, 52.547, 115),
    ("Elbląg", 19.404, 54.156, 115), ("Koszalin", 16.172, 54.194, 105),
]
RURAL_SHARE = 0.25
SOURCES = ["citizen"] * 80 + ["local_government"] * 6 + ["ngo"] * 4 + ["police_system"] * 6 + [
    "partner_platform"] * 4
STATUS_WEIGHTS = {"new": 5, "under_verification": 5, "confirmed": 25, "not_confirmed": 30,
                  "confirmed_eliminated": 30, "confirmed_forwarded": 5}

COPY_REPORTS = """
COPY core.reports (id, category_id, status, geom, occurred_at, created_at, source, external_id,
                   description, police_unit_id)
FROM STDIN
"""

ADD_CREATED_EVENTS = """
INSERT INTO core.report_events (report_id, kind, actor, at)
SELECT id, 'created', 'demo', created_at FROM core.reports WHERE external_id LIKE %s
"""

ADD_STATUS_EVENTS = """
INSERT INTO core.report_events (report_id, kind, from_status, to_status, actor, at)
SELECT id, 'status_changed', 'new', status, 'demo', created_at + interval '2 hours'
FROM core.reports WHERE external_id LIKE %s AND status <> 'new'
"""

# Plausible response times: read 2 hours after submission, a verdict 3 hours to 5 days after.
ADD_RESPONSE_TIMES = """
UPDATE core.reports SET read_at = created_at + interval '2 hours',
    verified_at = CASE WHEN status IN (SELECT id FROM core.statuses WHERE is_verdict)
                       THEN created_at + interval '1 hour' * (3 + abs(hashtext(id::text)) %% 117) END
WHERE external_id LIKE %s AND status <> 'new'
"""

ASSIGN_UNITS = """
UPDATE core.reports SET police_unit_id = 'kpp-' || county_code
WHERE external_id LIKE %s AND county_code IS NOT NULL AND police_unit_id IS NULL
"""


def poland_outline(data_dir: Path) -> shapely.Geometry:
    features = json.loads((data_dir / "wojewodztwa-min.geojson").read_text())["features"]
    outline = shapely.union_all([shapely.make_valid(shape(f["geometry"])) for f in features])
    shapely.prepare(outline)
    return outline


def _points(rng: random.Random, outline: shapely.Geometry, count: int) -> Iterator[tuple]:
    """Points inside Poland: city clusters weighted by population, then a rural background."""
    weights = [pop for *_, pop in CITIES]
    west, south, east, north = outline.bounds
    produced = 0
    while produced < count:
        batch = min(50_000, 2 * (count - produced) + 100)
        xs, ys = [], []
        for _ in range(batch):
            if rng.random() < RURAL_SHARE:
                xs.append(rng.uniform(west, east))
                ys.append(rng.uniform(south, north))
            else:
                _, lon, lat, pop = rng.choices(CITIES, weights)[0]
                spread_km = 2.0 + math.sqrt(pop) / 4
                xs.append(rng.gauss(lon, spread_km / 70))
                ys.append(rng.gauss(lat, spread_km / 111))
        inside = shapely.contains_xy(outline, np.array(xs), np.array(ys))
        for x, y, ok in zip(xs, ys, inside, strict=True):
            if ok and produced < count:
                produced += 1
                yield x, y


def demo_rows(count: int, seed: int, categories: list[str], outline: shapely.Geometry,
              now: datetime) -> Iterator[tuple]:
    rng = random.Random(seed)
    statuses = list(STATUS_WEIGHTS)
    status_weights = list(STATUS_WEIGHTS.values())
    category_weights = [rng.uniform(0.3, 3.0) for _ in categories]
    for index, (lon, lat) in enumerate(_points(rng, outline, count)):
        occurred = now - timedelta(seconds=rng.uniform(3600, 730 * 86400))
        created = min(now, occurred + timedelta(seconds=rng.uniform(60, 48 * 3600)))
        status = rng.choices(statuses, status_weights)[0]
        yield (
            uuid.UUID(int=rng.getrandbits(128), version=4),
            rng.choices(categories, category_weights)[0],
            status,
            f"SRID=4326;POINT({lon:.6f} {lat:.6f})",
            occurred, created,
            rng.choice(SOURCES),
            f"demo-{seed}-{index}",
            f"Synthetic demo report {index}",
            None,
        )


def load_demo(conn: psycopg.Connection, count: int, seed: int, data_dir: Path,
              progress: Progress | None = None) -> int:
    """Adds `count` demo reports for this seed unless they are there. Returns how many it added.
    `progress` hears of each step as it starts (a million reports take a quarter of an hour)."""
    say = progress or (lambda _: None)
    prefix = f"demo-{seed}-%"
    started = time.monotonic()

    def step(text: str) -> None:
        say(f"demo data, {time.monotonic() - started:.0f} s: {text}")

    with conn.transaction():
        if conn.execute("SELECT 1 FROM core.reports WHERE external_id LIKE %s LIMIT 1",
                        [prefix]).fetchone():
            return 0
        categories = [r[0] for r in conn.execute(
            "SELECT id FROM core.categories WHERE active ORDER BY sort_order")]
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        conn.execute("SET LOCAL threatmap.bulk = 'on'")
        every = max(10_000, count // 10)
        with conn.cursor().copy(COPY_REPORTS) as copy:
            for written, row in enumerate(
                    demo_rows(count, seed, categories, poland_outline(data_dir), now), 1):
                copy.write_row(row)
                if written % every == 0 or written == count:
                    step(f"{written:,} of {count:,} reports written")
        step("assigning police units")
        conn.execute(ASSIGN_UNITS, [prefix])
        step("writing the reports' history")
        # the chain's per-report locks are skipped in bulk mode (store/sql/47_event_chain.sql):
        # no other writer adds events while this one does
        conn.execute("LOCK TABLE core.report_events IN SHARE ROW EXCLUSIVE MODE")
        conn.execute(ADD_CREATED_EVENTS, [prefix])
        conn.execute(ADD_STATUS_EVENTS, [prefix])
        conn.execute(ADD_RESPONSE_TIMES, [prefix])
        step("publishing what is due")
        conn.execute("SELECT core.publish_due_reports()")
        conn.execute("SET LOCAL threatmap.bulk = 'off'")
        step("building the public layer (points, density pyramid, area statistics: the longest step)")
        conn.execute("SELECT core.rebuild_public_layer()")
    step(f"{count:,} demo reports loaded")
    return count
