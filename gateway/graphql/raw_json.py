"""JSON text handed to the response as it is: a field's value the database has already written
exactly as the response's encoder would (store.public_pages, store.json_text), so that it is not
parsed into Python objects only to be written again.

An executor puts a `RawJson` in the result where the value goes; `dumps` (the view's encoder:
strawberry's `json.dumps(data, separators=(",", ":"))`) writes everything else as before and the
text in its place. Only a caller whose answer is written by `dumps` may get one (the GraphQL view
says so in its context: `Context.raw_json`); anyone else gets the parsed value (json.loads).
"""

import codecs
import json
import secrets
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]


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
    text only inside strings, and their escape depends on nothing around them. The ASCII codec
    scans the text (a regular expression took ~0.3 ms for a page of 100) and calls the handler
    for each run beyond it; DEL is ASCII to the codec, so it is replaced apart."""
    if not text.isascii():
        text = text.encode("ascii", _HANDLER).decode("ascii")
    return text.replace("\x7f", "\\u007f") if "\x7f" in text else text


def _escaped(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    return encode_basestring_ascii(error.object[error.start:error.end])[1:-1], error.end


_HANDLER = "threatmap-json-ascii"
codecs.register_error(_HANDLER, _escaped)


__all__ = ["RawJson", "dumps", "ensure_ascii"]
