"""CQL2 (as parsed by pygeofilter) to a psycopg.sql WHERE clause: values as bound parameters,
names as identifiers checked against the collection's public columns.

pygeofilter's own SQL backend splices literals into the SQL text, and its SQLAlchemy backend
needs a reflected model; this one is small, safe and speaks psycopg 3 directly.
"""

from datetime import date, datetime, time, timedelta
from typing import Any

import shapely.geometry
from psycopg import sql
from pygeofilter import ast, values
from pygeofilter.backends.evaluator import Evaluator, handle
from shapely.errors import ShapelyError


class FilterError(ValueError):
    """A filter that cannot be evaluated on this collection (unknown name, function, operator)."""


COMPARISON = {
    ast.ComparisonOp.EQ: "=", ast.ComparisonOp.NE: "<>", ast.ComparisonOp.LT: "<",
    ast.ComparisonOp.LE: "<=", ast.ComparisonOp.GT: ">", ast.ComparisonOp.GE: ">=",
}
ARITHMETIC = {
    ast.ArithmeticOp.ADD: "+", ast.ArithmeticOp.SUB: "-",
    ast.ArithmeticOp.MUL: "*", ast.ArithmeticOp.DIV: "/",
}
SPATIAL = {
    ast.SpatialComparisonOp.INTERSECTS: "ST_Intersects", ast.SpatialComparisonOp.DISJOINT: "ST_Disjoint",
    ast.SpatialComparisonOp.CONTAINS: "ST_Contains", ast.SpatialComparisonOp.WITHIN: "ST_Within",
    ast.SpatialComparisonOp.TOUCHES: "ST_Touches", ast.SpatialComparisonOp.CROSSES: "ST_Crosses",
    ast.SpatialComparisonOp.OVERLAPS: "ST_Overlaps", ast.SpatialComparisonOp.EQUALS: "ST_Equals",
}
# Temporal predicates on instants (our dates are instants: a day or a month start).
TEMPORAL = {
    ast.TemporalComparisonOp.BEFORE: "<", ast.TemporalComparisonOp.AFTER: ">",
    ast.TemporalComparisonOp.TEQUALS: "=",
}
# CQL2 functions we offer, mapped to SQL functions (CQL2 "casei"/"accenti" conformance).
FUNCTIONS = {"casei": "lower", "lower": "lower", "upper": "upper"}


class _Compiler(Evaluator):
    def __init__(self, columns: set[str], geometry: str | None, srid: int) -> None:
        self.columns = columns
        self.geometry = geometry
        self.srid = srid
        self.params: dict[str, Any] = {}

    def bind(self, value: Any) -> sql.Composable:
        """A named placeholder for the value: named, so composing order does not matter."""
        name = f"cql_{len(self.params)}"
        self.params[name] = value
        return sql.Placeholder(name)

    def envelope_sql(self, *corners: float) -> sql.Composable:
        return sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, {})").format(
            *(self.bind(float(v)) for v in corners), self.bind(self.srid))

    def not_geometry(self, *operands: Any) -> None:
        """The geometry is an operand of spatial predicates only: compared with text, PostGIS
        would try to read the text as a geometry and fail (an internal error, XX000)."""
        for operand in operands:
            if isinstance(operand, ast.Attribute) and operand.name == self.geometry:
                raise FilterError(f"{operand.name} is the geometry: use it in a spatial predicate "
                                  "(S_INTERSECTS, S_WITHIN...)")

    @handle(ast.Not)
    def not_(self, node, sub):
        return sql.SQL("(NOT {})").format(sub)

    @handle(ast.And, ast.Or)
    def combination(self, node, lhs, rhs):
        return sql.SQL("({} {} {})").format(lhs, sql.SQL(node.op.value), rhs)

    @handle(ast.Comparison, subclasses=True)
    def comparison(self, node, lhs, rhs):
        self.not_geometry(node.lhs, node.rhs)
        return sql.SQL("({} {} {})").format(lhs, sql.SQL(COMPARISON[node.op]), rhs)

    @handle(ast.Between)
    def between(self, node, lhs, low, high):
        self.not_geometry(node.lhs, node.low, node.high)
        return sql.SQL("({} {}BETWEEN {} AND {})").format(
            lhs, sql.SQL("NOT " if node.not_ else ""), low, high)

    @handle(ast.Like)
    def like(self, node, lhs):
        self.not_geometry(node.lhs)
        pattern, wrap = node.pattern, None
        # CASEI('%dogs%') (case-insensitive comparison): a case function of a text pattern.
        if (isinstance(pattern, ast.Function) and len(pattern.arguments) == 1
                and isinstance(pattern.arguments[0], str)):
            wrap = FUNCTIONS.get(pattern.name.lower())
            if wrap is None:
                raise FilterError(f"unknown function: {pattern.name}")
            pattern = pattern.arguments[0]
        if not isinstance(pattern, str):   # CQL2-JSON lets any expression stand there
            raise FilterError("LIKE needs a text pattern (or CASEI of one)")
        if node.wildcard != "%":
            pattern = pattern.replace(node.wildcard, "%")
        if node.singlechar != "_":
            pattern = pattern.replace(node.singlechar, "_")
        bound = self.bind(pattern)
        if wrap is not None:
            bound = sql.SQL("{}({})").format(sql.SQL(wrap), bound)
        operator = ("NOT " if node.not_ else "") + ("ILIKE" if node.nocase else "LIKE")
        return sql.SQL("({}::text {} {} ESCAPE {})").format(
            lhs, sql.SQL(operator), bound, self.bind(node.escapechar or "\\"))

    @handle(ast.In)
    def in_(self, node, lhs, *options):
        self.not_geometry(node.lhs, *node.sub_nodes)
        return sql.SQL("({} {}IN ({}))").format(
            lhs, sql.SQL("NOT " if node.not_ else ""), sql.SQL(", ").join(options))

    @handle(ast.IsNull)
    def null(self, node, lhs):
        return sql.SQL("({} IS {}NULL)").format(lhs, sql.SQL("NOT " if node.not_ else ""))

    def evaluate(self, node: Any, adopt_result: bool = True) -> Any:
        # An interval's ends may be open (None) or relative (a duration), which the generic walk
        # cannot evaluate as literals: a predicate on an interval is read before its children.
        if isinstance(node, ast.TemporalPredicate) and isinstance(node.rhs, values.Interval):
            return self._on_interval(node)
        return super().evaluate(node, adopt_result)

    def _on_interval(self, node: ast.TemporalPredicate) -> sql.Composable:
        if node.op is not ast.TemporalComparisonOp.DURING:
            raise FilterError(f"temporal operator {node.op.value} is not supported on an interval")
        return sql.SQL("({} BETWEEN {} AND {})").format(
            self.evaluate(node.lhs, False), self._instant(node.rhs.start), self._instant(node.rhs.end))

    @handle(ast.TemporalPredicate, subclasses=True)
    def temporal(self, node, lhs, rhs):
        self.not_geometry(node.lhs, node.rhs)
        if node.op not in TEMPORAL:
            raise FilterError(f"temporal operator {node.op.value} is not supported")
        return sql.SQL("({} {} {})").format(lhs, sql.SQL(TEMPORAL[node.op]), rhs)

    @handle(ast.SpatialComparisonPredicate, subclasses=True)
    def spatial(self, node, lhs, rhs):
        return sql.SQL("{}({}, {})").format(sql.SQL(SPATIAL[node.op]), lhs, rhs)

    @handle(ast.BBox)
    def bbox(self, node, lhs):
        envelope = self.envelope_sql(node.minx, node.miny, node.maxx, node.maxy)
        return sql.SQL("ST_Intersects({}, {})").format(lhs, envelope)

    @handle(ast.Attribute)
    def attribute(self, node):
        if node.name in self.columns or node.name == self.geometry:
            return sql.Identifier(node.name)
        raise FilterError(f"unknown property: {node.name}")

    @handle(ast.Arithmetic, subclasses=True)
    def arithmetic(self, node, lhs, rhs):
        self.not_geometry(node.lhs, node.rhs)
        return sql.SQL("({} {} {})").format(lhs, sql.SQL(ARITHMETIC[node.op]), rhs)

    @handle(ast.Function)
    def function(self, node, *arguments):
        if node.name.lower() == "bbox":  # pygeofilter reads the CQL2 text BBOX(...) literal as a call
            return self._bbox_literal(node.arguments)
        self.not_geometry(*node.arguments)
        name = FUNCTIONS.get(node.name.lower())
        if name is None:
            raise FilterError(f"unknown function: {node.name}")
        return sql.SQL("{}({})").format(sql.SQL(name), sql.SQL(", ").join(arguments))

    @handle(str, float, int, bool, datetime, date, time, timedelta)
    def literal(self, node):
        return self.bind(node)

    @handle(list)
    def array(self, node):
        return sql.SQL("ARRAY[{}]").format(sql.SQL(", ").join(self.evaluate(v, False) for v in node))

    @handle(values.Geometry)
    def geometry(self, node):
        try:
            wkb = shapely.geometry.shape(node.geometry).wkb
        except (ShapelyError, ValueError, TypeError, KeyError, IndexError, AttributeError):
            raise FilterError("a geometry in the filter is not valid GeoJSON or WKT") from None
        return sql.SQL("ST_GeomFromWKB({}, {})").format(self.bind(wkb), self.bind(self.srid))

    @handle(values.Envelope)
    def envelope(self, node):
        return self.envelope_sql(node.x1, node.y1, node.x2, node.y2)

    @handle(values.Interval)
    def interval(self, node, *ends):
        raise FilterError("an interval is only allowed with T_DURING")

    def _bbox_literal(self, corners: list[Any]) -> sql.Composable:
        if len(corners) not in (4, 6) or not all(isinstance(c, int | float) for c in corners):
            raise FilterError("BBOX takes 4 or 6 numbers")
        minx, miny, maxx, maxy = (corners[0], corners[1], corners[3], corners[4]) if len(corners) == 6 \
            else corners
        return self.envelope_sql(minx, miny, maxx, maxy)

    def _instant(self, value: Any) -> sql.Composable:
        if value is None or isinstance(value, timedelta):
            raise FilterError("open or relative intervals are not supported")
        return self.bind(value)

    def adopt(self, node, *sub_args):
        raise FilterError(f"unsupported filter element: {type(node).__name__}")


def to_sql(node: ast.Node, columns: set[str], geometry: str | None,
           srid: int) -> tuple[sql.Composable, dict[str, Any]]:
    """The WHERE clause for a parsed CQL2 filter and its parameters; FilterError when the filter
    names a property, function or operator this collection does not have."""
    if isinstance(node, ast.Include):
        return sql.SQL("false" if node.not_ else "true"), {}
    compiler = _Compiler(columns, geometry, srid)
    return compiler.evaluate(node), compiler.params
