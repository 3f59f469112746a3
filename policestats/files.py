"""Reading and checking police statistics files (issue 15, point 1): CSV or XLSX, UTF-8, a
header row. Three formats (README "Police statistics"):

- stats:      kind, area, month, count
- population: area, year, residents
- roads:      road, km_from, km_to, period, incidents, deaths, injuries, geometry [, crs]

Rows are streamed (a CSV is never read whole, an XLSX sheet is read in openpyxl's read-only
mode), each checked on its own, so that a file of millions of rows takes bounded memory. A bad
value is an `Issue` naming the line and the column; checking goes on to the end of the file.
"""

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, BinaryIO

import shapely
from shapely.geometry import shape

FORMATS = ("stats", "population", "roads")
COLUMNS: dict[str, tuple[str, ...]] = {
    "stats": ("kind", "area", "month", "count"),
    "population": ("area", "year", "residents"),
    "roads": ("road", "km_from", "km_to", "period", "incidents", "deaths", "injuries", "geometry"),
}
OPTIONAL: dict[str, tuple[str, ...]] = {"stats": (), "population": (), "roads": ("crs",)}
# Where a line may lie, per CRS (x, y as PostGIS stores them: longitude/easting first), with a
# margin around Poland: a swapped axis or a wrong CRS lands outside.
BOUNDS = {4326: (13.5, 48.5, 24.7, 55.3), 2180: (140000.0, 120000.0, 880000.0, 800000.0)}
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
YEAR = re.compile(r"^\d{4}$")
MAX_COUNT = 2_000_000_000
NOT_UTF8 = "\ufffe"   # marks a line that could not be decoded, kept in the stream for its number


class FileFormatError(ValueError):
    """The file as a whole cannot be read (not CSV/XLSX, no header, wrong columns)."""


@dataclass(frozen=True)
class Issue:
    line: int
    column: int | None
    name: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}"
        if self.column is not None:
            where += f", column {self.column} ({self.name})"
        return f"{where}: {self.message}"


class BadValue(ValueError):
    pass


@dataclass(frozen=True)
class Catalogue:
    """What values are valid: the statistic kinds and the area codes the database has."""
    kinds: frozenset[str]
    areas: frozenset[str]
    default_crs: int | None = None


# -- reading ------------------------------------------------------------------------------------
def read_rows(path: Path, progress: Callable[[int], None] | None = None
              ) -> tuple[list[str], Iterator[tuple[int, list[Any]]]]:
    """The header and an iterator of (line number, cells) for the data rows. `progress` gets the
    bytes (CSV) or rows (XLSX) read since its last call."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _read_xlsx(path, progress)
    if suffix in (".csv", ".txt"):
        return _read_csv(path, progress)
    raise FileFormatError(f"{path.name}: not a .csv or .xlsx file")


def size_hint(path: Path) -> tuple[int, str]:
    """The total for a progress bar: bytes of a CSV, rows of an XLSX sheet."""
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook
        book = load_workbook(path, read_only=True)
        try:
            return max((book.worksheets[0].max_row or 1) - 1, 0), "rows"
        finally:
            book.close()
    return path.stat().st_size, "B"


def _lines(handle: BinaryIO, progress: Callable[[int], None] | None) -> Iterator[str]:
    first = True
    for number, raw in enumerate(handle, start=1):
        if progress:
            progress(len(raw))
        if first and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        first = False
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as error:
            # Kept in the stream (csv would lose the line count), flagged for the checker.
            yield NOT_UTF8 + f"line {number}: not UTF-8 ({error.reason} at byte {error.start})\n"


def _read_csv(path: Path, progress: Callable[[int], None] | None
              ) -> tuple[list[str], Iterator[tuple[int, list[Any]]]]:
    handle = path.open("rb")
    reader = csv.reader(_lines(handle, progress), delimiter=_delimiter(path))
    try:
        header = next(reader)
    except StopIteration:
        handle.close()
        raise FileFormatError(f"{path.name}: empty file, a header row is expected") from None

    def rows() -> Iterator[tuple[int, list[Any]]]:
        with handle:
            for cells in reader:
                if cells and cells[0].startswith(NOT_UTF8):
                    yield reader.line_num, [UnicodeError(",".join(cells)[1:].split(": ", 1)[1].strip())]
                elif any(cell.strip() for cell in cells):
                    yield reader.line_num, cells
    return [cell.strip() for cell in header], rows()


def _delimiter(path: Path) -> str:
    """Comma, or semicolon (what a spreadsheet with a Polish locale writes)."""
    with path.open("rb") as handle:
        first = handle.readline().decode("utf-8", errors="replace")
    return ";" if first.count(";") > first.count(",") else ","


def _read_xlsx(path: Path, progress: Callable[[int], None] | None
               ) -> tuple[list[str], Iterator[tuple[int, list[Any]]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as error:
        raise FileFormatError(f"{path.name}: not a readable XLSX file ({error})") from None
    sheet = book.worksheets[0]
    cells = sheet.iter_rows(values_only=True)
    try:
        header = [("" if value is None else str(value)).strip() for value in next(cells)]
    except StopIteration:
        book.close()
        raise FileFormatError(f"{path.name}: empty sheet, a header row is expected") from None

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for number, values in enumerate(cells, start=2):
                if progress:
                    progress(1)
                if any(value is not None and str(value).strip() for value in values):
                    yield number, list(values)
        finally:
            book.close()
    return header, rows()


# -- checking ---------------------------------------------------------------------------------
def column_positions(kind: str, header: list[str]) -> tuple[dict[str, int], list[Issue]]:
    """Where each column is (by its header name, any order); the header's own problems."""
    names = [name.lower() for name in header]
    issues = []
    positions: dict[str, int] = {}
    for index, name in enumerate(names):
        if not name:
            continue
        if name not in COLUMNS[kind] + OPTIONAL[kind]:
            issues.append(Issue(1, index + 1, name, f"unknown column; a {kind} file has "
                                                    f"{', '.join(COLUMNS[kind] + OPTIONAL[kind])}"))
        elif name in positions:
            issues.append(Issue(1, index + 1, name, "column given twice"))
        else:
            positions[name] = index
    for name in COLUMNS[kind]:
        if name not in positions:
            issues.append(Issue(1, None, None, f"missing column {name!r}"))
    return positions, issues


def _text(value: Any) -> str:
    if value is None:
        raise BadValue("empty")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if not text:
        raise BadValue("empty")
    return text


def _integer(value: Any, minimum: int = 0) -> int:
    if isinstance(value, bool):
        raise BadValue(f"{value!r} is not a whole number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        text = _text(value).replace(" ", "").replace("\u00a0", "")
        if not re.fullmatch(r"[+-]?\d{1,12}", text):
            raise BadValue(f"{text!r} is not a whole number")
        number = int(text)
    if number < minimum:
        raise BadValue(f"{number} is below {minimum}")
    if number > MAX_COUNT:
        raise BadValue(f"{number} is too large")
    return number


def _month(value: Any) -> date:
    if isinstance(value, datetime | date):
        return date(value.year, value.month, 1)
    text = _text(value)
    match = MONTH.fullmatch(text)
    if not match or not 1 <= int(match[2]) <= 12 or not 1900 <= int(match[1]) <= 2200:
        raise BadValue(f"{text!r} is not a month YYYY-MM")
    return date(int(match[1]), int(match[2]), 1)


def _area(value: Any, catalogue: Catalogue) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        # A spreadsheet turns "02" into 2: TERYT codes have an even number of digits.
        digits = str(int(value))
        value = digits.zfill(len(digits) + len(digits) % 2)
    code = _text(value)
    if code in catalogue.areas:
        return code
    if re.fullmatch(r"\d{6,7}", code):
        raise BadValue(f"{code!r} is a gmina code: areas here are voivodeships (2 digits) and "
                       f"counties (4 digits); gminas are not loaded")
    raise BadValue(f"unknown area {code!r} (a voivodeship's or county's TERYT code)")


def _kind(value: Any, catalogue: Catalogue) -> str:
    kind = _text(value)
    if kind not in catalogue.kinds:
        raise BadValue(f"unknown kind {kind!r} (config/statistic_kinds.yml)")
    return kind


def _km(value: Any) -> Decimal:
    text = _text(value).replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise BadValue(f"{text!r} is not a number of kilometres") from None
    if not number.is_finite() or number < 0 or number >= 100000:
        raise BadValue(f"{text!r} is not a kilometre point from 0 to 99999")
    return number.quantize(Decimal("0.001"))


def _period(value: Any) -> tuple[date, date]:
    """YYYY (a year), YYYY-MM (a month) or YYYY-MM/YYYY-MM (months from, to)."""
    if isinstance(value, datetime | date):
        month = _month(value)
        return month, month
    text = _text(value)
    if YEAR.fullmatch(text):
        return date(int(text), 1, 1), date(int(text), 12, 1)
    start, _, end = text.partition("/")
    try:
        first, last = _month(start), _month(end or start)
    except BadValue:
        raise BadValue(f"{text!r} is not a period: YYYY, YYYY-MM or YYYY-MM/YYYY-MM") from None
    if last < first:
        raise BadValue(f"{text!r}: the period ends before it begins")
    return first, last


def _crs(value: Any) -> int:
    text = _text(value).upper().removeprefix("EPSG:")
    text = text.rsplit("/", 1)[-1]   # http://www.opengis.net/def/crs/EPSG/0/2180
    if text not in ("2180", "4326"):
        raise BadValue(f"{_text(value)!r}: the CRS is EPSG:2180 or EPSG:4326")
    return int(text)


def _line(value: Any, srid: int | None) -> str:
    """The geometry (WKT or GeoJSON) as hex EWKB, checked: a (multi)line inside Poland."""
    text = _text(value)
    try:
        geometry = shape(json.loads(text)) if text.startswith("{") else shapely.from_wkt(text)
    except (ValueError, TypeError, AttributeError, KeyError, shapely.errors.ShapelyError):
        raise BadValue("not a WKT or GeoJSON geometry") from None
    if geometry.geom_type not in ("LineString", "MultiLineString") or geometry.is_empty:
        raise BadValue(f"a LineString or MultiLineString is expected, not {geometry.geom_type}")
    if srid is None:
        raise BadValue("no CRS: give a `crs` column (EPSG:2180 or EPSG:4326) or --crs")
    xmin, ymin, xmax, ymax = geometry.bounds
    bxmin, bymin, bxmax, bymax = BOUNDS[srid]
    if not (bxmin <= xmin and xmax <= bxmax and bymin <= ymin and ymax <= bymax):
        raise BadValue(f"the line lies outside Poland in EPSG:{srid} (axis order x/easting, "
                       f"y/northing)")
    return shapely.to_wkb(shapely.set_srid(geometry, srid), hex=True, include_srid=True)


def check_rows(kind: str, positions: dict[str, int], rows: Iterable[tuple[int, list[Any]]],
               catalogue: Catalogue) -> Iterator[tuple[int, tuple | None, list[Issue]]]:
    """Each data row as (line, the values to store or None, its issues)."""
    for line, cells in rows:
        if cells and isinstance(cells[0], UnicodeError):
            yield line, None, [Issue(line, None, None, str(cells[0]))]
            continue
        issues: list[Issue] = []

        def cell(name: str, convert: Callable[[Any], Any], cells: list[Any] = cells,
                 line: int = line, issues: list[Issue] = issues) -> Any:
            index = positions.get(name)
            value = cells[index] if index is not None and index < len(cells) else None
            try:
                return convert(value)
            except BadValue as error:
                issues.append(Issue(line, index + 1 if index is not None else None, name, str(error)))
                return None

        if kind == "stats":
            values: tuple = (cell("area", lambda v: _area(v, catalogue)),
                             cell("kind", lambda v: _kind(v, catalogue)),
                             cell("month", _month), cell("count", _integer))
        elif kind == "population":
            values = (cell("area", lambda v: _area(v, catalogue)),
                      cell("year", lambda v: _integer(v, 1900)), cell("residents", lambda v: _integer(v, 1)))
        else:
            srid = cell("crs", _crs) if "crs" in positions and _present(cells, positions["crs"]) \
                else catalogue.default_crs
            period = cell("period", _period)
            km_from, km_to = cell("km_from", _km), cell("km_to", _km)
            if km_from is not None and km_to is not None and km_to < km_from:
                issues.append(Issue(line, positions["km_to"] + 1, "km_to", "km_to is before km_from"))
            values = (cell("road", lambda v: _text(v)[:20]), km_from, km_to,
                      period[0] if period else None, period[1] if period else None,
                      cell("incidents", _integer), cell("deaths", _integer), cell("injuries", _integer),
                      cell("geometry", lambda v, srid=srid: _line(v, srid)))
        yield line, (None if issues else values), issues


def _present(cells: list[Any], index: int) -> bool:
    return index < len(cells) and cells[index] is not None and str(cells[index]).strip() != ""
