"""JSON text handed to the response as it is: a field's value the database has already written
exactly as the response's encoder would (store.public_pages, store.json_text), so that it is not
parsed into Python objects only to be written again.

An executor puts a `RawJson` in the result where the value goes; `dumps` (the view's encoder:
strawberry's `json.dumps(data, separators=(",", ":"))`) writes everything else as before and the
text in its place. Only a caller whose answer is written by `dumps` may get one (the GraphQL view
says so in its context: `Context.raw_json`); anyone else gets the parsed value (`parsed`).
"""

import json
import secrets
from typing import Any


class RawJson:
    """JSON text standing for a value in a GraphQL result."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"RawJson({self.text[:40]!r}...)"


def dumps(data: object) -> str:
    """json.dumps(data, separators=(",", ":")) with each RawJson's text in its place. The
    encoder writes a placeholder for each (a string with a random part: no value of the result
    can hold it, as it is drawn after the result is made), which the text then replaces."""
    texts: list[str] = []
    nonce: list[str] = []

    def placeholder(value: object) -> str:
        if not isinstance(value, RawJson):   # as json.dumps refuses it
            raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
        if not nonce:
            nonce.append(f"raw-json-{secrets.token_hex(16)}-")
        texts.append(value.text)
        return f"{nonce[0]}{len(texts) - 1}"

    written = json.dumps(data, separators=(",", ":"), default=placeholder)
    if not texts:
        return written
    parts = written.split(f'"{nonce[0]}')
    out = [parts[0]]
    for part in parts[1:]:
        index, _, rest = part.partition('"')
        out += [texts[int(index)], rest]
    return "".join(out)


def parsed(text: str) -> Any:
    """The value the text stands for (for a caller that does not write with `dumps`)."""
    return json.loads(text)


__all__ = ["RawJson", "dumps", "parsed"]
