"""The `filter` of an items request read before pygeoapi sees it: CQL2 text or CQL2 JSON, in the
query string (`filter-lang` chooses) or a POST body, with errors that say what is wrong and where.

pygeoapi 0.24 parses `?filter=` as CQL2 text whatever `filter-lang` says (so the README's
`filter-lang=cql2-json` on GET was a 400), and answers any parse error with "Bad CQL text" or
"Bad CQL JSON". Here the filter is parsed once in the request's language; a mistake is refused
naming its line, column and token (pygeofilter's lark parser knows them) or the JSON member at
fault. pygeoapi then parses it again with `parse_filter_text` installed in place of its CQL2 text
parser: the same text parser, plus CQL2 JSON for a text that is a JSON object (no CQL2 text
begins with "{", and a JSON filter only gets this far when `filter-lang=cql2-json` said so).
"""

import functools
import json
from typing import Any

import pygeoapi.api.itemtypes as itemtypes_api
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from pygeofilter import ast, values
from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
from pygeofilter.parsers.cql2_text import parse as parse_cql2_text

TEXT_LANGUAGES = {None, "cql2-text", "cql-text"}
JSON_LANGUAGES = {"cql2-json", "cql-json"}
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
SHOWN_EXPECTED = 8   # how many of the tokens the parser expected an error lists

# What the grammar's terminals are, in a client's words (the rest are keywords, shown as they are).
TERMINALS = {
    "INT": "a number", "FLOAT": "a number", "SIGNED_NUMBER": "a number", "MINUS": "-",
    "SINGLE_QUOTED": "a 'text'", "DOUBLE_QUOTED": 'a "property"', "LPAR": "(", "RPAR": ")",
    "LSQB": "[", "RSQB": "]", "COMMA": ",", "EQUAL": "=", "LESSTHAN": "<", "MORETHAN": ">",
    "PLUS": "+", "STAR": "*", "SLASH": "/", "BOOLEAN": "TRUE or FALSE", "$END": "the end",
}


# Parsing CQL2 text takes milliseconds (lark): the check and pygeoapi's own parse of the same text
# share one parse. Safe to share: pygeoapi deep-copies the tree before it changes it
# (modify_pygeofilter) and ogc/cql.py only reads it. A text that fails is not cached.
_parse_cql2_text_once = functools.lru_cache(maxsize=256)(parse_cql2_text)


class FilterSyntaxError(ValueError):
    """A filter that cannot be read: the message names the problem and where it is."""


def _terminal(name: str) -> str | None:
    name = name.rsplit("__", 1)[-1]
    if name.startswith("/") or name.startswith("ANON"):
        return "a property name" if "a-zA-Z" in name else None
    return TERMINALS.get(name, name.strip('"'))


def _expected(names: set[str]) -> str:
    readable = sorted({t for n in names if (t := _terminal(n))})
    if not readable:
        return ""
    shown = [f"'{t}'" if len(t) == 1 else t for t in readable[:SHOWN_EXPECTED]]
    more = ", ..." if len(readable) > SHOWN_EXPECTED else ""
    return f"; expected one of: {', '.join(shown)}{more}"


def _text_error(error: UnexpectedInput, text: str) -> FilterSyntaxError:
    where = f"line {error.line}, column {error.column}" if len(text.splitlines()) > 1 \
        else f"column {error.column}"
    if isinstance(error, UnexpectedToken):
        token = error.token
        if token.type == "$END":
            return FilterSyntaxError(f"CQL2 text: the filter ends too early (after column {len(text)})"
                                     f"{_expected(error.expected)}")
        return FilterSyntaxError(f"CQL2 text: unexpected {str(token)!r} at {where}"
                                 f"{_expected(error.expected)}")
    if isinstance(error, UnexpectedCharacters):
        return FilterSyntaxError(f"CQL2 text: unexpected {error.char!r} at {where}"
                                 f"{_expected(set(error.allowed or ()))}")
    if isinstance(error, UnexpectedEOF):
        return FilterSyntaxError(f"CQL2 text: the filter ends too early{_expected(set(error.expected))}")
    return FilterSyntaxError(f"CQL2 text: cannot be read at {where}")


def _path(document: Any, wanted: Any, here: str = "") -> str | None:
    """Where `wanted` first appears in the JSON document (as args[1].args[0]), or None."""
    if document == wanted and here:
        return here
    children = (document.items() if isinstance(document, dict)
                else enumerate(document) if isinstance(document, list) else ())
    for key, child in children:
        step = f"{here}[{key}]" if isinstance(key, int) else (f"{here}.{key}" if here else key)
        if (found := _path(child, wanted, step)) is not None:
            return found
    return None


def _json_problem(document: Any, error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"an operation has no {error.args[0]!r} member"
    if isinstance(error, TypeError) and "positional argument" in str(error):
        operator = str(error).split(".", 1)[0]
        return f"wrong number of arguments for {operator}"
    node = error.args[1] if len(error.args) > 1 else None
    text = str(error)
    if text.startswith("Unable to parse expression node "):
        bad = text.removeprefix("Unable to parse expression node ")
        for candidate in _candidates(document):
            if repr(candidate) == bad:
                node = candidate
                break
        where = _path(document, node) if node is not None else None
        shown = json.dumps(node)[:80] if node is not None else bad[:80]
        return f"not a CQL2 expression: {shown}" + (f" (at {where})" if where else "")
    return text[:200] or type(error).__name__


def _candidates(document: Any) -> list[Any]:
    found = [document]
    if isinstance(document, dict):
        for child in document.values():
            found += _candidates(child)
    elif isinstance(document, list):
        for child in document:
            found += _candidates(child)
    return found


def parse_text(text: str) -> ast.Node:
    try:
        node = _parse_cql2_text_once(text)
    except UnexpectedInput as error:
        raise _text_error(error, text) from None
    except RecursionError:
        raise FilterSyntaxError("CQL2 text: nested too deeply") from None
    except Exception as error:  # pygeofilter's transformer: a literal it cannot read, and others
        raise FilterSyntaxError(f"CQL2 text: {str(error).splitlines()[0][:200]}") from None
    return _predicate(node, "CQL2 text")


def parse_json(text: str | bytes) -> ast.Node:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise FilterSyntaxError(f"CQL2 JSON is not JSON: {error.msg} at line {error.lineno}, "
                                f"column {error.colno}") from None
    except (ValueError, RecursionError):
        raise FilterSyntaxError("CQL2 JSON is not JSON (or is nested too deeply)") from None
    if not isinstance(document, dict):
        raise FilterSyntaxError("CQL2 JSON: the filter must be an object such as "
                                '{"op": "=", "args": [{"property": "status"}, "verified"]}')
    try:
        node = parse_cql2_json(document)
    except RecursionError:
        raise FilterSyntaxError("CQL2 JSON: nested too deeply") from None
    except Exception as error:
        raise FilterSyntaxError(f"CQL2 JSON: {_json_problem(document, error)}") from None
    return _predicate(node, "CQL2 JSON")


def _predicate(node: Any, language: str) -> ast.Node:
    """A filter must say true or false of a feature: a bare value or property is not one."""
    if not isinstance(node, ast.Node) or isinstance(node, ast.Attribute | ast.Function | ast.Arithmetic):
        raise FilterSyntaxError(f"{language}: the filter is a value, not a condition "
                                "(such as status = 'verified')")
    return node


def _has_envelope(node: Any) -> bool:
    if isinstance(node, ast.BBox | values.Envelope) or (
            isinstance(node, ast.Function) and node.name.lower() == "bbox"):
        return True
    children = node.get_sub_nodes() if isinstance(node, ast.Node) else \
        node if isinstance(node, list) else ()
    return any(_has_envelope(child) for child in children)


def check(params: Any, method: str, body: bytes, crs_list: list[str]) -> str | None:
    """Why the request's filter cannot be read (its language, its text, its body, its CRS), or
    None. `crs_list`: the CRSs the collection offers (filter-crs must be one of them)."""
    language = params.get("filter-lang")
    if language not in TEXT_LANGUAGES | JSON_LANGUAGES:
        return f"filter-lang must be cql2-text or cql2-json, not {language!r}"
    filter_crs = params.get("filter-crs")
    if filter_crs is not None and filter_crs not in crs_list:
        return f"filter-crs {filter_crs!r} is not one of this collection's CRSs: {', '.join(crs_list)}"
    text = params.get("filter")
    try:
        if text is not None:
            if language in JSON_LANGUAGES:
                node = parse_json(text)
            else:
                try:
                    node = parse_text(text)
                except FilterSyntaxError as error:
                    if text.lstrip().startswith("{"):
                        raise FilterSyntaxError(f"{error} (a CQL2 JSON filter in the query string "
                                                "needs filter-lang=cql2-json)") from None
                    raise
        elif method == "POST" and body.strip():
            node = parse_json(body)
        else:
            return None
    except FilterSyntaxError as error:
        return str(error)
    if filter_crs not in (None, CRS84) and _has_envelope(node):
        # pygeoapi reprojects the filter's geometries (POINT, POLYGON...) from filter-crs, but
        # not a BBOX or ENVELOPE, which would then be read as CRS84 coordinates.
        return ("a BBOX or ENVELOPE in a filter is read in CRS84 only: with filter-crs, "
                "write the box as a POLYGON")
    return None


def parse_filter_text(text: str) -> ast.Node:
    """pygeoapi's `parse_cql2_text`, reading a JSON object as CQL2 JSON (see the module's doc)."""
    if text.lstrip().startswith("{"):
        return parse_cql2_json(json.loads(text))
    return _parse_cql2_text_once(text)


def install() -> None:
    """Routes pygeoapi's items handler through `parse_filter_text` (idempotent)."""
    itemtypes_api.parse_cql2_text = parse_filter_text
