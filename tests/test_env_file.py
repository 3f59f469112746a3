"""`.env.example` and the env file (issue 11, point 13a): the example lists every setting with
its description and default, generated from Settings, and the service reads an env file
(THREATMAP_ENV_FILE, or `.env` in the working directory) below the environment."""

import os
import re
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.env_example import PROJECT, env_example
from gateway.settings import PROJECT_ROOT, Settings, load_settings

COMMITTED = PROJECT_ROOT / ".env.example"
ASSIGNMENT = re.compile(r"^# (THREATMAP_[A-Z0-9_]+)=(.*)$")


@pytest.fixture(autouse=True)
def no_threatmap_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Neither the machine's THREATMAP_ variables nor a `.env` in the project get in the way."""
    for name in list(os.environ):
        if name.startswith("THREATMAP_") or name in ("DATABASE_URL", "HOST", "PORT"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_the_committed_example_is_the_generated_one() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == env_example(), (
        "The settings changed: regenerate the example with "
        "`threatmap settings example > .env.example` and commit it.")


def test_every_setting_has_a_description_and_a_line() -> None:
    example = env_example()
    for name, field in Settings.model_fields.items():
        assert field.description, f"Settings.{name} has no description"
        assert f"# THREATMAP_{name.upper()}=" in example


def test_the_command_prints_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    main(["settings", "example"])
    assert capsys.readouterr().out == env_example()


def test_the_example_uncommented_gives_the_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each default is spelled so that the env file reads it back as the same value."""
    lines, names = [], []
    for line in env_example().splitlines():
        match = ASSIGNMENT.match(line)
        if match and match[2] and PROJECT not in match[2]:
            lines.append(f"{match[1]}={match[2]}")
            names.append(match[1].removeprefix("THREATMAP_").lower())
    assert len(names) > 20
    env = tmp_path / "example.env"
    env.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setenv("THREATMAP_ENV_FILE", str(env))
    loaded, defaults = load_settings(), Settings()
    for name in names:
        assert getattr(loaded, name) == getattr(defaults, name), name


def test_a_value_in_the_env_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / "threatmap.env"
    env.write_text('THREATMAP_PORT=9123\nTHREATMAP_TRUSTED_PROXIES=\'["127.0.0.1"]\'\n'
                   "THREATMAP_PUBLIC_URL=https://map.example.org/\n", encoding="utf-8")
    monkeypatch.setenv("THREATMAP_ENV_FILE", str(env))
    settings = load_settings()
    assert (settings.port, settings.trusted_proxies, settings.public_url) == (
        9123, ["127.0.0.1"], "https://map.example.org")
    monkeypatch.setenv("THREATMAP_PORT", "9124")        # the environment wins over the file
    assert load_settings().port == 9124
    assert Settings().port == 9124 and Settings().public_url is None   # Settings() alone: no file


def test_dot_env_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("THREATMAP_TILE_MAX_AGE_S=7\n", encoding="utf-8")
    assert load_settings().tile_max_age_s == 7


def test_a_bad_value_in_the_env_file_is_refused_naming_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    env = tmp_path / "threatmap.env"
    env.write_text("THREATMAP_PUBLIC_URL=map.example.org\n", encoding="utf-8")
    monkeypatch.setenv("THREATMAP_ENV_FILE", str(env))
    with pytest.raises(SystemExit, match="PUBLIC_URL"):
        main(["settings", "example"])


def test_a_missing_env_file_named_by_the_variable_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREATMAP_ENV_FILE", "/nonexistent/threatmap.env")
    with pytest.raises(SystemExit, match=r"/nonexistent/threatmap\.env"):
        main(["settings", "example"])
