"""The category catalogue and the status workflow: YAML in config/, validated, loaded idempotently."""

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import psycopg
import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
StatusId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+$")]
Name = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CategoryGroup(Strict):
    id: Slug
    name_pl: Name
    name_en: Name


class Category(Strict):
    id: Slug
    group: Slug
    name_pl: Name
    name_en: Name
    colour: Annotated[str, StringConstraints(pattern=r"^#[0-9a-f]{6}$")]
    icon: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]+$")]
    sensitive: bool = False
    active: bool = True
    description_required: bool = False


class Catalogue(Strict):
    groups: list[CategoryGroup]
    categories: list[Category]

    @model_validator(mode="after")
    def _consistent(self) -> "Catalogue":
        groups = {g.id for g in self.groups}
        ids = [c.id for c in self.categories]
        if len(set(ids)) != len(ids):
            raise ValueError("category ids must be unique")
        for category in self.categories:
            if category.group not in groups:
                raise ValueError(f"category {category.id}: unknown group {category.group!r}")
        return self


Colour = Annotated[str, StringConstraints(pattern=r"^#[0-9a-f]{6}$")]


class Status(Strict):
    id: StatusId
    name_pl: Name
    name_en: Name
    colour: Colour
    initial: bool = False
    closed: bool = False
    verdict: bool = False      # reaching it is the result of the verification
    forwarding: bool = False   # reaching it names a body outside the police (forward_to)


class Deadlines(Strict):
    read_within_days: float = Field(2, gt=0, le=365)
    verify_within_days: float = Field(5, gt=0, le=365)
    due_soon_hours: float = Field(12, ge=0, le=24 * 30)


class ForwardBody(Strict):
    id: Slug
    name_pl: Name
    name_en: Name


class Workflow(Strict):
    statuses: list[Status]
    transitions: dict[StatusId, list[StatusId]] = Field(default_factory=dict)
    deadlines: Deadlines = Deadlines()
    forward_to: list[ForwardBody] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> "Workflow":
        ids = {s.id for s in self.statuses}
        if sum(s.initial for s in self.statuses) != 1:
            raise ValueError("exactly one status must be initial")
        if any(s.forwarding for s in self.statuses) and not self.forward_to:
            raise ValueError("a forwarding status needs the bodies of forward_to")
        if len({b.id for b in self.forward_to}) != len(self.forward_to):
            raise ValueError("forward_to ids must be unique")
        for source, targets in self.transitions.items():
            for status in (source, *targets):
                if status not in ids:
                    raise ValueError(f"transition names unknown status {status!r}")
        return self

    @property
    def initial(self) -> Status:
        return next(s for s in self.statuses if s.initial)


def _load_yaml(path: Path) -> dict:
    with path.open(encoding="utf-8") as file:
        return yaml.safe_load(file)


def load_catalogue(config_dir: Path) -> Catalogue:
    return Catalogue.model_validate(_load_yaml(config_dir / "categories.yml"))


def load_workflow(config_dir: Path) -> Workflow:
    return Workflow.model_validate(_load_yaml(config_dir / "statuses.yml"))


UPSERT_GROUP = """
INSERT INTO core.category_groups (id, name_pl, name_en, sort_order) VALUES (%s, %s, %s, %s)
ON CONFLICT (id) DO UPDATE SET name_pl = EXCLUDED.name_pl, name_en = EXCLUDED.name_en,
    sort_order = EXCLUDED.sort_order
WHERE (category_groups.name_pl, category_groups.name_en, category_groups.sort_order)
    IS DISTINCT FROM (EXCLUDED.name_pl, EXCLUDED.name_en, EXCLUDED.sort_order)
"""

UPSERT_CATEGORY = """
INSERT INTO core.categories (id, group_id, name_pl, name_en, colour, icon, sensitive, active,
                             description_required, sort_order)
VALUES (%(id)s, %(group)s, %(name_pl)s, %(name_en)s, %(colour)s, %(icon)s, %(sensitive)s,
        %(active)s, %(description_required)s, %(sort_order)s)
ON CONFLICT (id) DO UPDATE SET group_id = EXCLUDED.group_id, name_pl = EXCLUDED.name_pl,
    name_en = EXCLUDED.name_en, colour = EXCLUDED.colour, icon = EXCLUDED.icon,
    sensitive = EXCLUDED.sensitive, active = EXCLUDED.active,
    description_required = EXCLUDED.description_required, sort_order = EXCLUDED.sort_order
WHERE (categories.group_id, categories.name_pl, categories.name_en, categories.colour,
       categories.icon, categories.sensitive, categories.active, categories.description_required,
       categories.sort_order)
    IS DISTINCT FROM (EXCLUDED.group_id, EXCLUDED.name_pl, EXCLUDED.name_en, EXCLUDED.colour,
       EXCLUDED.icon, EXCLUDED.sensitive, EXCLUDED.active, EXCLUDED.description_required,
       EXCLUDED.sort_order)
"""

UPSERT_STATUS = """
INSERT INTO core.statuses (id, name_pl, name_en, is_initial, is_closed, colour, is_verdict,
                           is_forwarding, sort_order)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (id) DO UPDATE SET name_pl = EXCLUDED.name_pl, name_en = EXCLUDED.name_en,
    is_initial = EXCLUDED.is_initial, is_closed = EXCLUDED.is_closed, colour = EXCLUDED.colour,
    is_verdict = EXCLUDED.is_verdict, is_forwarding = EXCLUDED.is_forwarding,
    sort_order = EXCLUDED.sort_order
"""

# Only one status may be initial at a time (a unique index): the old one lets go first.
RELEASE_INITIAL = "UPDATE core.statuses SET is_initial = false WHERE is_initial AND id <> %s"

UPSERT_FORWARD_BODY = """
INSERT INTO core.forward_bodies (id, name_pl, name_en, active, sort_order)
VALUES (%s, %s, %s, true, %s)
ON CONFLICT (id) DO UPDATE SET name_pl = EXCLUDED.name_pl, name_en = EXCLUDED.name_en,
    active = true, sort_order = EXCLUDED.sort_order
"""
RETIRE_FORWARD_BODIES = "UPDATE core.forward_bodies SET active = false WHERE active AND NOT id = ANY(%s)"

WRITE_DEADLINES = """
UPDATE core.workflow_deadlines SET read_within = %(read)s, verify_within = %(verify)s,
    due_soon = %(soon)s
WHERE (read_within, verify_within, due_soon)
    IS DISTINCT FROM (%(read)s::interval, %(verify)s::interval, %(soon)s::interval)
"""


def seed_catalogue(conn: psycopg.Connection, catalogue: Catalogue, workflow: Workflow) -> None:
    """Loads the catalogue and the workflow; running it again changes nothing."""
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(UPSERT_GROUP, [(g.id, g.name_pl, g.name_en, i)
                                       for i, g in enumerate(catalogue.groups)])
        cur.executemany(UPSERT_CATEGORY, [c.model_dump() | {"sort_order": i}
                                          for i, c in enumerate(catalogue.categories)])
        cur.execute(RELEASE_INITIAL, [workflow.initial.id])
        cur.executemany(UPSERT_STATUS, [(s.id, s.name_pl, s.name_en, s.initial, s.closed, s.colour,
                                         s.verdict, s.forwarding, i)
                                        for i, s in enumerate(workflow.statuses)])
        read = timedelta(days=workflow.deadlines.read_within_days)
        verify = timedelta(days=workflow.deadlines.verify_within_days)
        cur.execute(WRITE_DEADLINES, {"read": read, "verify": verify,
                                      "soon": timedelta(hours=workflow.deadlines.due_soon_hours)})
        cur.executemany(UPSERT_FORWARD_BODY, [(b.id, b.name_pl, b.name_en, i)
                                              for i, b in enumerate(workflow.forward_to)])
        cur.execute(RETIRE_FORWARD_BODIES, [[b.id for b in workflow.forward_to]])
        pairs = [(a, b) for a, targets in workflow.transitions.items() for b in targets]
        cur.execute("DELETE FROM core.status_transitions "
                    "WHERE NOT from_status || '>' || to_status = ANY(%s)",
                    [[f"{a}>{b}" for a, b in pairs]])
        cur.executemany("INSERT INTO core.status_transitions VALUES (%s, %s) "
                        "ON CONFLICT DO NOTHING", pairs)


def load_statistic_kinds(config_dir: Path) -> list[dict]:
    """config/statistic_kinds.yml (issue 15): the kinds of police statistics, in order."""
    return _load_yaml(config_dir / "statistic_kinds.yml")["kinds"]
