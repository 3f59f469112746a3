"""Text and numbers the service can take in, checked at each door before anything uses them.

- PostgreSQL text cannot hold NUL (U+0000): psycopg refuses to send it, whatever the column.
- A lone surrogate (U+D800 to U+DFFF outside a pair) is no character: UTF-8 cannot encode it,
  so it can be neither sent to the database nor written in a UTF-8 answer. JSON's `\\ud800`
  escape and Python's own decoding (surrogateescape) can make one; a valid pair decodes to one
  astral character, so any surrogate left in a `str` is a lone one.
- Python refuses to parse an integer of more than 4300 digits (ValueError, CVE-2020-10735);
  no number this service reads needs more than MAX_DIGITS.
"""

import re
from collections.abc import Iterator
from typing import Any

MAX_DIGITS = 100
_UNFIT = re.compile("[\x00\ud800-\udfff]")
_LONG_NUMBER = re.compile(rf"\d{{{MAX_DIGITS + 1},}}")


def unfit_character(text: str) -> str | None:
    """Why `text` cannot be taken as text (naming the character), or None when it can."""
    found = _UNFIT.search(text)
    if found is None:
        return None
    code = ord(found.group())
    if code == 0:
        return "contains a NUL character (U+0000), which text cannot hold"
    return f"contains a lone surrogate (U+{code:04X}), which is not a character"


def long_number(text: str) -> str | None:
    """Why `text` holds a number too long to read (naming its length), or None."""
    found = _LONG_NUMBER.search(text)
    if found is None:
        return None
    return f"has a number of {len(found.group())} digits; numbers have at most {MAX_DIGITS}"


def strings_in(value: Any) -> Iterator[str]:
    """Every string in a decoded JSON value, object keys included; iterative, so that a value
    nested as deep as its parser allowed cannot exhaust the stack here."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def unfit_in(value: Any) -> str | None:
    """unfit_character of the first string in `value` (strings_in) that has one, or None."""
    for text in strings_in(value):
        if reason := unfit_character(text):
            return reason
    return None
