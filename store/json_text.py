"""JSON text written by PostgreSQL byte for byte as Python writes it: what
`json.dumps(value, separators=(",", ":"))` (strawberry's response encoder) makes of the value the
ordinary GraphQL completion would give, so that the database's text can go into a response as it
is (store.public_pages, gateway.graphql.raw_json).

Every expression here is NULL when it cannot write its value the way Python would (a value the
GraphQL scalar refuses, a float outside the range where both write the same digits the same way)
and NULL goes up through `||` to the whole document: a NULL document is the caller's sign to let
the ordinary path answer. A nullable field therefore writes `null` only for a NULL column
(`nullable`), never for a value that failed to convert.

What Python writes, and how it is matched:
- strings: PostgreSQL's own JSON escaping (to_json) is Python's without ensure_ascii: `"` and
  `\\` escaped, \\b \\f \\n \\r \\t by name, other control characters as \\u00XX (lowercase
  hex). What ensure_ascii adds (every character beyond '~' as \\uXXXX, a surrogate pair beyond the
  BMP) depends on nothing around it: the reader applies it to the whole text
  (gateway.graphql.raw_json.ensure_ascii), which costs nothing for ASCII text. Escaping beyond
  ASCII in SQL would take a subquery per string (planned with every statement).
- floats: `repr`, the shortest digits that read back as the same double, as PostgreSQL's own
  output does with extra_float_digits >= 1 (its default); both write plain digits (no exponent)
  for magnitudes in [1e-4, 1e15), where Python adds `.0` to a whole number. Outside that range
  (and NaN, infinities, which GraphQL refuses): NULL.
- Int: 32 bits or NULL (GraphQL's Int); Boolean: true/false; Date: ISO 8601 (YYYY-MM-DD).
`GUARD` holds where PostgreSQL's own output matches these rules (shortest float digits, ISO
dates); the writer puts it in front of the document.
"""

import re

from psycopg import sql

# The session settings the text depends on: shortest float digits, ISO dates.
GUARD = sql.SQL("(current_setting('extra_float_digits')::int > 0 "
                "AND current_setting('DateStyle') LIKE 'ISO%%')")
INT_MIN, INT_MAX = -2**31, 2**31 - 1
GRAPHQL_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")

def literal(text: str) -> sql.Composable:
    """A piece of JSON known when the statement is written (keys, punctuation, enum names)."""
    return sql.SQL("{}::text").format(sql.Literal(text))


def name(text: str) -> str:
    """A GraphQL name ([_A-Za-z][_0-9A-Za-z]*: a response key, a type's name) as a JSON
    string: quoting is all it needs. Anything else is refused (ValueError)."""
    if GRAPHQL_NAME.fullmatch(text) is None:
        raise ValueError(f"not a GraphQL name: {text!r}")
    return f'"{text}"'


def key(text: str) -> str:
    """A response key and its colon."""
    return name(text) + ":"


def string(expression: sql.Composable) -> sql.Composable:
    """A text value as a JSON string, as json.dumps writes it with ensure_ascii=False (PostgreSQL's
    own escaping: `"`, `\\`, \\b \\f \\n \\r \\t by name, other control characters as
    \\u00XX): the reader escapes what lies beyond ASCII (gateway.graphql.raw_json.ensure_ascii)."""
    return sql.SQL("to_json({}::text)::text").format(expression)


def plain(expression: sql.Composable) -> sql.Composable:
    """A text that needs no escape by construction (a uuid, a date, base64) as a JSON string."""
    return sql.SQL("""'"' || {} || '"'""").format(expression)


def float8(expression: sql.Composable) -> sql.Composable:
    """A double as Python's repr writes it (GraphQL Float), or NULL outside the range where the
    two agree."""
    return sql.SQL("""CASE WHEN abs({v}) >= '1e15'::float8 OR {v} = 'NaN'::float8
          OR abs({v}) < '1e-4'::float8 AND {v} <> 0 THEN NULL
     WHEN {v} = trunc({v}) THEN {v}::text || '.0' ELSE {v}::text END""").format(
        v=expression)


def int32(expression: sql.Composable) -> sql.Composable:
    """An integer as GraphQL's Int (32 bits), or NULL beyond."""
    return sql.SQL("CASE WHEN {v} BETWEEN {lo} AND {hi} THEN {v}::text END").format(
        v=expression, lo=sql.Literal(INT_MIN), hi=sql.Literal(INT_MAX))


def boolean(expression: sql.Composable) -> sql.Composable:
    return sql.SQL("CASE WHEN {v} THEN 'true' WHEN NOT {v} THEN 'false' END").format(v=expression)


def day(expression: sql.Composable) -> sql.Composable:
    """A date as the Date scalar writes it (date.isoformat(): PostgreSQL's own output under
    DateStyle ISO, which GUARD requires; to_char cost 8 % of a page's statement)."""
    return plain(sql.SQL("{}::text").format(expression))


def enum(expression: sql.Composable, names: tuple[tuple[str, str], ...]) -> sql.Composable:
    """A stored value as its enum name (a JSON string), NULL for a stored value without a name
    (the ordinary completion refuses it with an error: the caller lets it answer).

    `names` are the schema's (stored value, enum name) pairs: a name that is not a GraphQL name
    cannot come from a valid schema (graphql-core refuses it when the schema is built), so it is
    a defect of the caller and raises ValueError (`name`), as does an enum without values
    (`CASE` needs a `WHEN`), rather than leaving its value out and sending every page of it the
    ordinary way unnoticed."""
    if not names:
        raise ValueError("an enum without values")
    return sql.SQL("CASE {} {} END").format(expression, sql.SQL(" ").join(
        sql.SQL("WHEN {} THEN {}").format(sql.Literal(stored), sql.Literal(name(graphql)))
        for stored, graphql in names))


def nullable(column: sql.Composable, value: sql.Composable) -> sql.Composable:
    """`null` for a NULL column, else the value (NULL if it failed: the document's sign)."""
    return sql.SQL("CASE WHEN {} IS NULL THEN 'null' ELSE {} END").format(column, value)


def concat(pieces: list[sql.Composable | str]) -> sql.Composable:
    """The pieces one after the other (str: JSON text known now, merged with its neighbours);
    NULL if any piece is NULL."""
    merged: list[sql.Composable] = []
    known = ""
    for piece in pieces:
        if isinstance(piece, str):
            known += piece
            continue
        if known:
            merged.append(literal(known))
            known = ""
        merged.append(sql.SQL("({})").format(piece))
    if known or not merged:
        merged.append(literal(known))
    return sql.SQL(" || ").join(merged)


__all__ = ["GUARD", "boolean", "concat", "day", "enum", "float8", "int32", "key", "literal",
           "name", "nullable", "plain", "string"]
