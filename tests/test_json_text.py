"""store.json_text: PostgreSQL writes values byte for byte as Python's json.dumps (ensure_ascii,
float repr) writes them, or NULL where it cannot; and gateway.graphql.raw_json puts such text
into an answer where json.dumps would have written the value."""

import json
import math
import random
import struct
from datetime import date

import psycopg
import pytest
from psycopg import sql

from gateway.graphql.raw_json import RawJson, dumps, ensure_ascii
from store import json_text

STRINGS = [
    "", "plain ASCII, with punctuation !#$%&'()*+,-./:;<=>?@[]^_`{|}~", 'a "quoted" word',
    "back\\slash", "\\\"", "tab\there", "new\nline", "cr\rlf\n", "\b\f", "\x01\x02\x1f", "del\x7f",
    "Zaśmiecanie lasu — Łódź, Świętokrzyskie", "„cudzysłów”", "€ ½ ñ", "\u2028\u2029", "\ufeff",
    "fox 🦊 and 𝄞", "\U0010ffff", "日本語", "mixed \"ł\"\\\t🦊",
]
FLOATS = [0.0, -0.0, 1.0, -1.0, 21.0, 52.2, 20.85, 21.012345678901234, 1 / 3, 2 / 3, 0.1, 0.2 + 0.1,
          1e-4, 1.0000000000000001e-4, 9.999999999999999e-05, 1e-5, 123456.789, 1e14, 99999999999999.98,
          999999999999999.9, 1e15, 1e16, 1e22, 5e-324, 1.7976931348623157e308,
          float("inf"), float("-inf"), float("nan")]


def _random_strings(n: int) -> list[str]:
    rng = random.Random(16)
    alphabet = [chr(c) for c in range(1, 0x300)] + ["🦊", "𝄞", "\u2028", "\uffff", "\U000e0001"]
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(n)]


def _random_floats(n: int) -> list[float]:
    rng = random.Random(16)
    values = [rng.uniform(14, 25) for _ in range(n)] + [rng.uniform(49, 55) for _ in range(n)]
    values += [struct.unpack("<d", rng.randbytes(8))[0] for _ in range(n)]
    return [v for v in values if not math.isnan(v)]


def written(conn: psycopg.Connection, expression: sql.Composable, values: list, cast: str) -> list:
    """The expression over each value (bound as `v`), in order."""
    query = sql.SQL("SELECT {} FROM unnest(%s::{}[]) WITH ORDINALITY AS t(v, i) ORDER BY i").format(
        expression, sql.SQL(cast))
    return [row[0] for row in conn.execute(query, [values]).fetchall()]


def test_strings_are_written_as_json_dumps_writes_them(public_conn: psycopg.Connection) -> None:
    """As json.dumps without ensure_ascii; with ensure_ascii once the reader has escaped what lies
    beyond ASCII."""
    values = STRINGS + _random_strings(400)
    got = written(public_conn, json_text.string(sql.SQL("v")), values, "text")
    assert got == [json.dumps(v, ensure_ascii=False) for v in values]
    assert [ensure_ascii(text) for text in got] == [json.dumps(v) for v in values]


def test_floats_are_written_as_repr_or_not_at_all(public_conn: psycopg.Connection) -> None:
    """Python's repr where both write the same text (magnitudes in [1e-4, 1e15) and zero), NULL
    elsewhere (NaN and the infinities, which GraphQL's Float refuses, included)."""
    values = FLOATS + _random_floats(300)
    got = written(public_conn, json_text.float8(sql.SQL("v")), values, "float8")
    for value, text in zip(values, got, strict=True):
        if math.isfinite(value) and (value == 0 or 1e-4 <= abs(value) < 1e15):
            assert text == json.dumps(value), value
        else:
            assert text is None, value


def test_ints_booleans_days_and_enums(public_conn: psycopg.Connection) -> None:
    ints = [0, -1, 42, 2**31 - 1, -2**31, 2**31, -2**31 - 1, 10**15]
    assert written(public_conn, json_text.int32(sql.SQL("v")), ints, "bigint") == \
        [str(i) if -2**31 <= i < 2**31 else None for i in ints]
    assert written(public_conn, json_text.boolean(sql.SQL("v")), [True, False, None], "boolean") == \
        ["true", "false", None]
    days = [date(2026, 3, 5), date(1, 1, 1), date(999, 12, 31), date(9999, 12, 31)]
    assert written(public_conn, json_text.day(sql.SQL("v")), days, "date") == \
        [json.dumps(d.isoformat()) for d in days]
    names = (("day", "DAY"), ("month", "MONTH"))
    assert written(public_conn, json_text.enum(sql.SQL("v"), names), ["month", "day", "year"], "text") == \
        ['"MONTH"', '"DAY"', None]


def test_an_enum_name_that_is_no_graphql_name_is_refused() -> None:
    """enum: a name outside [_A-Za-z][_0-9A-Za-z]* (no schema has one) is the caller's defect:
    refused, not left out (which would make every value of it NULL, the page the ordinary way)."""
    for bad in ("not a name", "9LIVES", "ZAŻÓŁĆ", ""):
        with pytest.raises(ValueError, match="not a GraphQL name"):
            json_text.enum(sql.SQL("v"), (("day", "DAY"), ("x", bad)))
    with pytest.raises(ValueError, match="without values"):
        json_text.enum(sql.SQL("v"), ())


def test_a_null_column_is_null_only_where_nothing_failed(public_conn: psycopg.Connection) -> None:
    """nullable: `null` for a NULL column, NULL (the sign to answer the ordinary way) for a value
    that could not be written."""
    expression = json_text.nullable(sql.SQL("v"), json_text.float8(sql.SQL("v")))
    assert written(public_conn, expression, [None, 1.5, float("inf")], "float8") == ["null", "1.5", None]


def test_concat_merges_known_text_and_is_null_if_a_piece_is(public_conn: psycopg.Connection) -> None:
    expression = json_text.concat(["{", json_text.key("a"), json_text.int32(sql.SQL("v")), "}"])
    assert written(public_conn, expression, [1, 2**40], "bigint") == ['{"a":1}', None]
    with pytest.raises(ValueError):
        json_text.key("not a name")


def test_the_guard_holds_on_the_test_cluster(public_conn: psycopg.Connection) -> None:
    assert public_conn.execute(sql.SQL("SELECT {}").format(json_text.GUARD)).fetchone()[0] is True


# -- gateway.graphql.raw_json -------------------------------------------------------------------
def test_raw_json_text_takes_the_place_of_its_value() -> None:
    value = {"a": [1, 2.5, None], "s": "ł\"\\", "n": {"x": True}}
    answer = {"data": {"first": RawJson(json.dumps(value, separators=(",", ":"))), "second": value,
                       "third": RawJson("[]")}, "errors": [{"message": "a \"raw-json-\" look-alike"}]}
    plain = {"data": {"first": value, "second": value, "third": []},
             "errors": [{"message": "a \"raw-json-\" look-alike"}]}
    assert dumps(answer) == json.dumps(plain, separators=(",", ":"))
    assert dumps(plain) == json.dumps(plain, separators=(",", ":"))
    with pytest.raises(TypeError):
        dumps({"x": object()})
