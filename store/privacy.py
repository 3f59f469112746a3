"""The anonymization policy (config/privacy.yml) and the jobs that enforce it over time.

The policy is validated here and written to core.privacy_policy, where the triggers of
store/sql/ read it (20_projection.sql, 30_publication.sql); a changed policy rebuilds the public
layer in one transaction.
"""

import logging
from datetime import timedelta
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

log = logging.getLogger(__name__)


class PolicyError(ValueError):
    """config/privacy.yml is invalid; the message names the setting."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Grid(_Section):
    cell_m: int = Field(250, gt=0, le=100_000)
    sensitive_cell_m: int = Field(1000, gt=0, le=100_000)


class Publication(_Section):
    after_hours: float = Field(24, ge=0, le=24 * 30)
    not_confirmed: bool = False  # KMZB: a report the police did not confirm leaves the map


# The density grid's cell sizes (metres) unless config/privacy.yml says otherwise.
DENSITY_CELLS_M: Final = (1000, 2000, 4000, 8000, 16000, 32000, 64000)


class Aggregates(_Section):
    k: int = Field(3, ge=2, le=1000)
    density_cell_m: list[int] = Field(default=list(DENSITY_CELLS_M), min_length=1)


class Retention(_Section):
    contact_days: int = Field(30, ge=0, le=3650)


class PrivacyPolicy(_Section):
    grid: Grid = Grid()
    publication: Publication = Publication()
    aggregates: Aggregates = Aggregates()
    retention: Retention = Retention()
    timezone: str = "Europe/Warsaw"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}") from None
        return name

    @model_validator(mode="after")
    def _grids_nest(self) -> "PrivacyPolicy":
        if self.grid.sensitive_cell_m < self.grid.cell_m:
            raise ValueError("grid.sensitive_cell_m must not be finer than grid.cell_m")
        levels = self.aggregates.density_cell_m
        if levels != sorted(set(levels)):
            raise ValueError("aggregates.density_cell_m must be strictly increasing")
        for level in levels:
            if level % self.grid.cell_m or level % self.grid.sensitive_cell_m:
                raise ValueError(
                    f"aggregates.density_cell_m: {level} is not a multiple of both grid cell "
                    "sizes, so a density cell could split a public cell")
        return self

    @property
    def publish_after(self) -> timedelta:
        return timedelta(hours=self.publication.after_hours)

    @property
    def contact_retention(self) -> timedelta:
        return timedelta(days=self.retention.contact_days)


def load_policy(path: Path) -> PrivacyPolicy:
    try:
        with path.open(encoding="utf-8") as file:
            raw = yaml.safe_load(file) or {}
        return PrivacyPolicy.model_validate(raw)
    except FileNotFoundError:
        raise PolicyError(f"{path}: the privacy policy file is missing") from None
    except yaml.YAMLError as error:
        raise PolicyError(f"{path}: not valid YAML: {error}") from None
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'policy'}: {e['msg']}" for e in error.errors())
        raise PolicyError(f"{path}: invalid privacy policy: {problems}") from None


READ_POLICY = """
SELECT cell_m, sensitive_cell_m, k, publish_after, contact_retention, density_cell_m, timezone,
       publish_not_confirmed
FROM core.privacy_policy
"""

WRITE_POLICY = """
UPDATE core.privacy_policy SET cell_m = %s, sensitive_cell_m = %s, k = %s, publish_after = %s,
    contact_retention = %s, density_cell_m = %s, timezone = %s, publish_not_confirmed = %s
"""


def apply_policy(conn: psycopg.Connection, policy: PrivacyPolicy) -> bool:
    """Writes the policy; when it changes how reports project, rebuilds the public layer.

    Returns True when the public layer was rebuilt.
    """
    values = (policy.grid.cell_m, policy.grid.sensitive_cell_m, policy.aggregates.k,
              policy.publish_after, policy.contact_retention, policy.aggregates.density_cell_m,
              policy.timezone, policy.publication.not_confirmed)
    with conn.transaction():
        current = conn.execute(READ_POLICY + " FOR UPDATE").fetchone()
        if current == values:
            return False
        conn.execute(WRITE_POLICY, values)
        projection_changed = current is None or (
            current[0:2] != values[0:2] or current[5:] != values[5:])
        if projection_changed:
            log.info("privacy policy changed: rebuilding the public layer")
            conn.execute("SELECT core.rebuild_public_layer()")
        return projection_changed


def publish_due_reports(conn: psycopg.Connection) -> int:
    with conn.transaction():
        return conn.execute("SELECT core.publish_due_reports()").fetchone()[0]


def purge_contacts(conn: psycopg.Connection) -> int:
    with conn.transaction():
        return conn.execute("SELECT core.purge_contacts()").fetchone()[0]
