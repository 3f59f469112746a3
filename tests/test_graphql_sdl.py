"""The schema as SDL (issue 11, point 8): `threatmap graphql schema`, GET
/graphql/schema.graphql, and the committed copy that makes a schema change visible in review."""

from pathlib import Path

import httpx
import pytest

from gateway.cli import main
from gateway.graphql.schema import schema_sdl
from gateway.settings import PROJECT_ROOT, Settings
from tests.support import running_app

COMMITTED = PROJECT_ROOT / "gateway" / "graphql" / "schema.graphql"


def test_the_committed_schema_is_the_schema() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == schema_sdl(), (
        "The GraphQL schema changed: regenerate the committed copy with "
        "`threatmap graphql schema --output gateway/graphql/schema.graphql` and commit it.")


def test_the_sdl_names_the_doors_types() -> None:
    sdl = schema_sdl()
    for definition in ("type Query {", "type Mutation {", "type Subscription {",
                       "type Report {", "submitReport("):
        assert definition in sdl


def test_the_command_prints_the_sdl(capsys: pytest.CaptureFixture[str]) -> None:
    main(["graphql", "schema"])
    assert capsys.readouterr().out == schema_sdl()


def test_the_command_writes_the_sdl_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "schema.graphql"
    main(["graphql", "schema", "--output", str(target)])
    assert target.read_text(encoding="utf-8") == schema_sdl()


async def test_the_sdl_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql/schema.graphql")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == schema_sdl()


async def test_without_introspection_the_sdl_is_not_served(settings: Settings) -> None:
    async with running_app(settings.model_copy(update={"graphql_introspection": False})) as (http, _):
        response = await http.get("/graphql/schema.graphql")
        assert response.status_code == 404
        assert "type Query" not in response.text
