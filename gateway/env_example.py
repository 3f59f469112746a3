"""`.env.example`, generated from the Settings class (`threatmap settings example`): every
variable with its description and default, commented out, so that a copy changes only what it
uncomments. tests/test_env_file.py checks the committed file against this output, so a new setting
(with its description) reaches the example."""

import json
import textwrap
from pathlib import Path

from pydantic.fields import FieldInfo

from gateway.settings import DEFAULT_ENV_FILE, ENV_FILE_VARIABLE, PROJECT_ROOT, Settings

HEADER = f"""\
# threatmap settings: every variable the service reads, with its default.
# Generated from gateway/settings.py by `threatmap settings example > .env.example`: do not edit.
#
# Copy it to {DEFAULT_ENV_FILE} in the directory the service runs in (or anywhere, and point
# {ENV_FILE_VARIABLE} at the copy), then uncomment and change what you need. Variables set in
# the environment win over the file; lists are JSON. Values are read by pydantic-settings
# (python-dotenv syntax: KEY=value, quotes optional).
"""
WIDTH = 98
PROJECT = "<project>"   # stands for the project's folder in a default path


def variables(name: str, field: FieldInfo) -> list[str]:
    """The environment variables a field is read from, the THREATMAP_ one first."""
    prefixed = f"THREATMAP_{name.upper()}"
    aliases = getattr(field.validation_alias, "choices", None) or []
    others = [a for a in aliases if isinstance(a, str) and a != prefixed]
    return [prefixed, *others]


def rendered(value: object) -> str:
    """A default as the env file spells it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Path):
        return (f"{PROJECT}/{value.relative_to(PROJECT_ROOT)}"
                if value.is_relative_to(PROJECT_ROOT) else str(value))
    if isinstance(value, list | dict):
        return "'" + json.dumps(value) + "'"
    return str(value)


def env_example() -> str:
    blocks = [HEADER]
    for name, field in Settings.model_fields.items():
        names = variables(name, field)
        lines = [f"# {line}" for line in textwrap.wrap(field.description or "", WIDTH)]
        if len(names) > 1:
            lines.append(f"# (also read as {', '.join(names[1:])})")
        if field.default is None:
            lines.append("# Default: unset (leave the line commented out).")
        lines.append(f"# {names[0]}={rendered(field.default)}")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)
