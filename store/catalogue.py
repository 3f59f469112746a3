"""The category catalogue and the status workflow: YAML in config/, validated, loaded idempotently."""

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
    # KMZB requires a description for some categories (the form and submitReport enforce it)
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


class Status(Strict):
    id: StatusId
    name_pl: Name
    name_en: Name
    initial: bool = False
    closed: bool = False
    # its colour on the citizen map (pins, legend)
    colour: Annotated[str, StringConstraints(pattern=r"^#[0-9a-f]{6}$")] = "#4b5563"


class Workflow(Strict):
    statuses: list[Status]
    transitions: dict[StatusId, list[StatusId]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> "Workflow":
        ids = {s.id for s in self.statuses}
        if sum(s.initial for s in self.statuses) != 1:
            raise ValueError("exactly one status must be initial")
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
                             sort_order)
VALUES (%(id)s, %(group)s, %(name_pl)s, %(name_en)s, %(colour)s, %(icon)s, %(sensitive)s,
        %(active)s, %(sort_order)s)
ON CONFLICT (id) DO UPDATE SET group_id = EXCLUDED.group_id, name_pl = EXCLUDED.name_pl,
    name_en = EXCLUDED.name_en, colour = EXCLUDED.colour, icon = EXCLUDED.icon,
    sensitive = EXCLUDED.sensitive, active = EXCLUDED.active, sort_order = EXCLUDED.sort_order
WHERE (categories.group_id, categories.name_pl, categories.name_en, categories.colour,
       categories.icon, categories.sensitive, categories.active, categories.sort_order)
    IS DISTINCT FROM (EXCLUDED.group_id, EXCLUDED.name_pl, EXCLUDED.name_en, EXCLUDED.colour,
       EXCLUDED.icon, EXCLUDED.sensitive, EXCLUDED.active, EXCLUDED.sort_order)
"""

UPSERT_STATUS = """
INSERT INTO core.statuses (id, name_pl, name_en, is_initial, is_closed, sort_order)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (id) DO UPDATE SET name_pl = EXCLUDED.name_pl, name_en = EXCLUDED.name_en,
    is_initial = EXCLUDED.is_initial, is_closed = EXCLUDED.is_closed,
    sort_order = EXCLUDED.sort_order
"""


def seed_catalogue(conn: psycopg.Connection, catalogue: Catalogue, workflow: Workflow) -> None:
    """Loads the catalogue and the workflow; running it again changes nothing."""
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(UPSERT_GROUP, [(g.id, g.name_pl, g.name_en, i)
                                       for i, g in enumerate(catalogue.groups)])
        cur.executemany(UPSERT_CATEGORY, [c.model_dump() | {"sort_order": i}
                                          for i, c in enumerate(catalogue.categories)])
        cur.executemany(UPSERT_STATUS, [(s.id, s.name_pl, s.name_en, s.initial, s.closed, i)
                                        for i, s in enumerate(workflow.statuses)])
        pairs = [(a, b) for a, targets in workflow.transitions.items() for b in targets]
        cur.execute("DELETE FROM core.status_transitions "
                    "WHERE NOT from_status || '>' || to_status = ANY(%s)",
                    [[f"{a}>{b}" for a, b in pairs]])
        cur.executemany("INSERT INTO core.status_transitions VALUES (%s, %s) "
                        "ON CONFLICT DO NOTHING", pairs)
