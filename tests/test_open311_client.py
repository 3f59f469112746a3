"""The Open311 door read by an existing client library from PyPI (issue 15, "Done when"): the
`georeport` package (0.3.1, GeoReport v2, JSON and XML through xmltodict), against the app served
by uvicorn on a real port.

georeport reads only (services, service definitions, requests, one request) and sends no
api_key: the POST goes through raw httpx with the partner's key, the officer's change through
GraphQL. The other Open311 clients on PyPI do not run on Python 3: `open311` 1.1 (2011: Python 2
relative imports, urllib2) and `three` 0.8.0 (2013: itertools.ifilter).
"""

from collections.abc import Iterator

import httpx
import psycopg
import pytest
from georeport import GeoReport

from gateway.settings import Settings
from store import partners
from tests.support import app_in_thread, token

STATUS = """mutation($id: ID!, $s: String!) { setReportStatus(id: $id, status: $s) { id status } }"""
DESCRIPTION = "Zniszczona wiata przystanku, szkło na chodniku"


@pytest.fixture(scope="module")
def base(settings: Settings) -> Iterator[str]:
    with app_in_thread(settings) as url:
        yield url


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_reads_the_door(base: str, settings: Settings, app_conn: psycopg.Connection,
                                  fmt: str, clean_reports: None) -> None:
    client = GeoReport(f"{base}/open311/v2", output_format=fmt)
    services = client.get_service_list()
    by_code = {s["service_code"]: s for s in services}
    assert by_code["vandalism"]["service_name"] == "Akty wandalizmu"
    assert str(by_code["dangerous-entertainment"]["metadata"]).lower() == "true"
    definition = client.get_service_definition("dangerous-entertainment")
    attributes = definition["attributes"]
    attribute = attributes[0] if fmt == "json" else attributes["attribute"]
    assert (attribute["code"], str(attribute["required"]).lower()) == ("description", "true")

    _, key = partners.add_partner(app_conn, f"Platforma {fmt}", "platform")
    with httpx.Client(base_url=base) as http:
        created = http.post("/open311/v2/requests.json", data={
            "api_key": key, "service_code": "vandalism", "lat": "52.2297", "long": "21.0122",
            "description": DESCRIPTION, "email": "anna@example.org"})
        assert created.status_code == 201, created.text
        report_id = created.json()[0]["service_request_id"]
        if fmt == "json":   # georeport fails on an empty XML list (xmltodict makes it None)
            assert client.get_service_requests(service_request_id=report_id) == []
        officer = token(settings, "officer", "kpp-1405")
        answer = http.post("/graphql", headers={"Authorization": f"Bearer {officer}"},
                           json={"query": STATUS, "variables": {"id": report_id, "s": "confirmed"}})
        assert answer.json()["data"]["setReportStatus"]["status"] == "confirmed", answer.text

    request = client.get_service_request(report_id)
    assert (request["service_request_id"], request["status"], request["service_code"]) == (
        report_id, "open", "vandalism")
    assert request["status_notes"] == "potwierdzone"
    assert not request["description"] and not request["media_url"]
    listed = client.get_service_requests(service_code="vandalism", status="open")
    listed = [listed] if isinstance(listed, dict) else listed   # xmltodict: one item is no list
    assert [r["service_request_id"] for r in listed] == [report_id]
    assert DESCRIPTION not in str(listed) and "anna@" not in str(listed)
    with pytest.raises(Exception, match="404"):
        client.get_service_request("00000000-0000-0000-0000-000000000000")
