"""What the OGC door refuses before pygeoapi sees a request: text no query can use.

A NUL in an item id, a `?property=value`, or a CQL2 literal (text or JSON) reached psycopg,
which refuses it (a 500 through pygeoapi's ProviderQueryError); a lone surrogate in a CQL2-JSON
body could not be encoded for the database at all; a number of thousands of digits failed
Python's int() with its own wording. Every value of a request comes from its path, its query
string or its body, so those three are checked here, once, for every endpoint.
"""

import json
from typing import Any

from starlette.requests import Request

from store.text import long_number, unfit_character, unfit_in


def _json(body: bytes) -> Any:
    """The body as JSON, or None when it is not (pygeoapi then refuses it in its own words)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


async def refusal(request: Request) -> str | None:
    """Why the request cannot be answered (the place and the reason), or None."""
    for name, value in request.path_params.items():
        if reason := unfit_character(value) or long_number(value):
            return f"the path's {name} {reason}"
    for name, value in request.query_params.multi_items():
        if reason := unfit_character(name):
            return f"the name of the query parameter {name!r} {reason}"
        if reason := unfit_character(value) or long_number(value):
            return f"the query parameter {name} {reason}"
    if request.method == "POST":
        body = await request.body()
        if b"\x00" in body:
            return "the body contains a NUL byte (U+0000), which text cannot hold"
        if reason := unfit_in(_json(body)):
            return f"the body {reason}"
    return None
