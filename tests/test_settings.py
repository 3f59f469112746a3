"""Settings are checked when the app is built: a bad value stops the start with a message naming
the variable, never an internal error on the first request that uses it."""

import httpx
import pytest
from pydantic import ValidationError

from gateway.app import create_app
from gateway.settings import Settings
from tests.support import running_app

BAD_VALUES = [
    ("THREATMAP_SUBMIT_RATE_LIMIT", "lots"),
    ("THREATMAP_SUBMIT_RATE_LIMIT", "20/fortnight"),
    ("THREATMAP_TRUSTED_PROXIES", '["10.0.0.0/8", "proxy.example.org"]'),
    ("THREATMAP_TRUSTED_PROXIES", '["10.0.0.300"]'),
    ("THREATMAP_RATE_LIMIT_STORAGE", "memory://"),        # not asynchronous: the limiter needs it
    ("THREATMAP_RATE_LIMIT_STORAGE", "carrier-pigeon://loft"),
    ("THREATMAP_PUBLIC_URL", "map.example.org"),
    ("DATABASE_URL", "not a connection string"),
]


@pytest.mark.parametrize(("variable", "value"), BAD_VALUES)
def test_a_bad_value_in_the_environment_is_refused_naming_the_variable(
        monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert variable.removeprefix("THREATMAP_") in str(refused.value)
    assert value.strip('[]"').split('", "')[-1] in str(refused.value)


@pytest.mark.parametrize(("field", "value"), [("submit_rate_limit", "lots"),
                                              ("trusted_proxies", ["proxy.example.org"])])
def test_create_app_checks_settings_copied_without_validation(field: str, value: object) -> None:
    # model_copy(update=...) skips pydantic's validation: the app checks again when it is built.
    copied = Settings().model_copy(update={field: value})
    with pytest.raises(ValidationError, match=f"THREATMAP_{field.upper()}"):
        create_app(copied)


def test_good_values_are_accepted_as_given() -> None:
    settings = Settings(submit_rate_limit="5 per minute", trusted_proxies=["10.0.0.0/8", "::1"],
                        rate_limit_storage="async+memory://", public_url="https://map.example.org/")
    assert settings.submit_rate_limit == "5 per minute"
    assert settings.trusted_proxies == ["10.0.0.0/8", "::1"]
    assert settings.public_url == "https://map.example.org"
    create_app(settings)


async def test_every_door_writes_links_from_the_same_public_url(settings: Settings) -> None:
    public = settings.model_copy(update={"public_url": "https://map.example.org"})
    async with running_app(public) as (http, _):
        links = (await http.get("/api")).json()["links"]
        tilejson = (await http.get("/tiles/reports.json")).json()
        style = (await http.get("/tiles/style.json")).json()
        tilesets = (await http.get("/ogc/collections/reports/tiles")).json()
        landing = (await http.get("/ogc", params={"f": "json"}, follow_redirects=True)).json()
    hrefs = [*links.values(), *tilejson["tiles"], style["sources"]["threatmap"]["url"],
             *(link["href"] for link in tilesets["links"]),
             *(link["href"] for link in landing["links"] if link["rel"] in ("self", "data", "conformance"))]
    assert len(hrefs) > 10
    assert [h for h in hrefs if not h.startswith("https://map.example.org/")] == []


async def test_without_a_public_url_links_follow_the_request(client: httpx.AsyncClient) -> None:
    links = (await client.get("/api")).json()["links"]
    tilejson = (await client.get("/tiles/reports.json")).json()
    assert links["tilejson"] == "http://testserver/tiles/reports.json"
    assert tilejson["tiles"][0].startswith("http://testserver/tiles/reports/")
