"""JSON text handed to the response as it is: a field's value the database has already written
exactly as the response's encoder would (store.public_pages, store.json_text), so that it is not
parsed into Python objects only to be written again.

An executor puts a `RawJson` in the result where the value goes; `dumps` (the view's encoder:
strawberry's `json.dumps(data, separators=(",", ":"))`) writes everything else as before and the
text in its place. Only a caller whose answer is written by `dumps` may get one (the GraphQL view
says so in its context: `Context.raw_json`); anyone else gets the parsed value (`parsed`).
"""

import json
import re
import secrets
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

# What ensure_ascii escapes and PostgreSQL's JSON (and json.dumps without it) leaves as it is.
BEYOND_ASCII = re.compile("[\x7f-\U0010ffff]+")


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


def ensure_ascii(text: str) -> str:
    """JSON text written without ensure_ascii as json.dumps writes it with: each character beyond
    '~' as \\uXXXX (store.json_text: the database writes the rest). Such characters occur in JSON
    text only inside strings, and their escape depends on nothing around them."""
    return text if text.isascii() and "\x7f" not in text else BEYOND_ASCII.sub(_escaped, text)


def _escaped(run: re.Match[str]) -> str:
    return encode_basestring_ascii(run.group())[1:-1]


def parsed(text: str) -> Any:
    """The value the text stands for (for a caller that does not write with `dumps`)."""
    return json.loads(text)


__all__ = ["RawJson", "dumps", "ensure_ascii", "parsed"]
