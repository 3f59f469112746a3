"""Where SQL lives: every statement the doors run is in store/ (issue 9, point 2); the gateway
calls store functions with plain values and gets rows back."""

import re
from pathlib import Path

from gateway.settings import PROJECT_ROOT

# A statement's shape, not a keyword alone ("select" in prose is fine, "SELECT x FROM" is not).
SQL_PATTERNS = [
    re.compile(r"\bSELECT\b[\s\S]{0,400}?\bFROM\b"),
    re.compile(r"\bSELECT\s+(?:core|open)\.\w+\s*\("),        # SELECT core.some_function()
    re.compile(r"\bINSERT\s+INTO\b"),
    re.compile(r"\bUPDATE\s+[\w.]+\s+SET\b"),
    re.compile(r"\bDELETE\s+FROM\b"),
    re.compile(r"\bfrom\s+psycopg\s+import\s+[^\n]*\bsql\b"),
    re.compile(r"\bpsycopg\.sql\b"),
    re.compile(r"\bsql\.(?:SQL|Identifier|Literal|Composed|Placeholder)\b"),
]


def sql_in(folder: Path) -> list[str]:
    """file:line and the matched text of every SQL-looking piece of Python under folder."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        text = path.read_text()
        for pattern in SQL_PATTERNS:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(folder)}:{line}: {match.group(0)[:60]!r}")
    return found


def test_gateway_has_no_sql() -> None:
    assert sql_in(PROJECT_ROOT / "gateway") == []


def test_the_check_sees_sql_where_there_is_some(tmp_path: Path) -> None:
    """The patterns catch what gateway/ held before the queries moved to store/."""
    samples = {
        "select.py": 'Q = """\nSELECT id, name\nFROM open.police_units WHERE id = ANY(%s)\n"""\n',
        "function.py": 'await conn.execute("SELECT core.publish_due_reports()")\n',
        "insert.py": 'Q = "INSERT INTO core.report_events (report_id) VALUES (%s)"\n',
        "update.py": 'Q = "UPDATE core.reports SET status = %s WHERE id = %s"\n',
        "delete.py": 'Q = "DELETE FROM core.reports"\n',
        "compose.py": "from psycopg import sql\nQ = sql.SQL('x = %s')\n",
        "qualified.py": "import psycopg\nQ = psycopg.sql.Identifier('x')\n",
    }
    for name, text in samples.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "prose.py").write_text('"""Select a category from the list; update the map."""\n')
    assert {entry.split(":")[0] for entry in sql_in(tmp_path)} == set(samples)
