"""The JSON of GraphQL requests, read so that no body or message can make the server fail.

Strawberry reads a POST body with `json.loads` and then calls `.get` on what it got, and
catches only JSONDecodeError: a body that is valid JSON but not an object (`null`, `"text"`,
`42`, `true`) raised AttributeError, and JSON that Python cannot read as data (an integer of
more than 4300 digits: ValueError; arrays nested past the recursion limit: RecursionError)
escaped as a 500 (over a WebSocket, it ended the connection with an error), and so did a body
that is not UTF-8 (UnicodeDecodeError). Here each is a
400 that says why, and over a WebSocket strawberry's "WebSocket message must be valid JSON"
(close code 4400).
"""

import json
from typing import Any

from cross_web import HTTPException
from strawberry.http.parse_content_type import parse_content_type

from store.text import MAX_DIGITS


class UnreadableJson(json.JSONDecodeError):
    """Valid JSON this server will not read as data; a JSONDecodeError, so that strawberry's
    WebSocket handler treats it as the invalid JSON it is to us."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, "", 0)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


def _integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_DIGITS:
        raise UnreadableJson(f"A number in the JSON has {digits} digits; numbers have at most "
                             f"{MAX_DIGITS}.")
    return int(text)


def decode(data: str | bytes) -> Any:
    """json.loads, refusing (UnreadableJson) what it would fail on other than by a syntax error."""
    try:
        return json.loads(data, parse_int=_integer)
    except UnicodeDecodeError:
        raise UnreadableJson("The JSON is not UTF-8 text.") from None
    except RecursionError:
        raise UnreadableJson("The JSON is nested too deeply to be read.") from None


class CheckedJsonBody:
    """For strawberry's HTTP view (list it before the view's class): refusals with a reason."""

    def decode_json(self, data: str | bytes) -> object:
        return decode(data)

    def parse_json(self, data: str | bytes) -> Any:
        try:
            return decode(data)
        except UnreadableJson as error:
            raise HTTPException(400, str(error)) from None
        except json.JSONDecodeError as error:
            raise HTTPException(400, f"Unable to parse the JSON of the request: {error}") from None

    async def parse_http_body(self, request: Any) -> Any:
        content_type, _ = parse_content_type(request.content_type or "")
        if request.method == "POST" and "application/json" in content_type:
            # What json.loads would read first: a GraphQL request is an object (or a list of them).
            first = (await request.get_body()).lstrip(b" \t\r\n")[:1]
            if first not in (b"{", b"["):
                raise HTTPException(400, 'The request body must be a JSON object: {"query": "...", '
                                         '"variables": {...}}.')
        return await super().parse_http_body(request)  # type: ignore[misc]
