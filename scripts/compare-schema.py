#!/usr/bin/env python3
"""Shows that the working tree builds the same database as an older revision.

    .venv/bin/python scripts/compare-schema.py 774f736

In a throwaway cluster, three databases:
- `old`: the revision's store/migrations applied in order, each in its own transaction, then its
  store/sql files if it has any (what threatmap at that revision would have built);
- `new`: the working tree's runner (store.migrate.upgrade) on an empty database;
- `adopted`: `old`, then the working tree's runner on it (an existing database brought up to date).
Each is dumped with pg_dump --schema-only, and --data-only, leaving out the runners' bookkeeping
(public.threatmap_*) and the value of the data version counter (see COUNTER); the dumps of `new`
and `adopted` are compared with `old`'s. Prints the differences and exits 1 if there are any,
else prints what matched and exits 0.
"""

import argparse
import difflib
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

from store.cluster import SUPERUSER, ManagedCluster
from store.locations import create_database
from store.migrate import upgrade

REPO = Path(__file__).resolve().parent.parent
BOOKKEEPING = "public.threatmap_*"
# A counter bumped by every statement that changes the public layer, even one changing no row:
# its value says how many such statements ran (774f736's migration 0010 ran one), not what is
# stored. Its schema is compared; its one row is not.
COUNTER = "core.data_version"
OLD_RUNNER_TABLE = """
CREATE TABLE IF NOT EXISTS public.threatmap_migrations (
    version text PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
"""


def files_at(revision: str, folder: str) -> list[tuple[str, str]]:
    """(name, text) of the .sql files of `folder` at `revision`, in name order."""
    names = subprocess.run(["git", "-C", REPO, "ls-tree", "--name-only", revision, f"{folder}/"],
                           capture_output=True, text=True, check=True).stdout.split()
    return [(Path(name).name, subprocess.run(["git", "-C", REPO, "show", f"{revision}:{name}"],
                                             capture_output=True, text=True, check=True).stdout)
            for name in sorted(names) if name.endswith(".sql")]


def build_old(url: str, revision: str) -> None:
    code = files_at(revision, "store/sql")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(OLD_RUNNER_TABLE)
        if code:  # a revision with code files has a table for their checksums (its baseline grants it)
            conn.execute("CREATE TABLE IF NOT EXISTS public.threatmap_sql_files (name text PRIMARY KEY, "
                         "checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        for name, text in files_at(revision, "store/migrations"):
            with conn.transaction():
                conn.execute(text)
                conn.execute("RESET ROLE")
                conn.execute("INSERT INTO public.threatmap_migrations (version, name) VALUES (%s, %s)",
                             name.removesuffix(".sql").split("_", 1))
        if code:
            with conn.transaction():
                for _, text in code:
                    conn.execute(text)
                    conn.execute("RESET ROLE")


def dump(cluster: ManagedCluster, dbname: str, kind: str) -> list[str]:
    out = subprocess.run([cluster.bindir / "pg_dump", f"--{kind}", f"--exclude-table={BOOKKEEPING}",
                          f"--exclude-table-data={COUNTER}", cluster.url(SUPERUSER, dbname)],
                         capture_output=True, text=True, check=True).stdout
    # \restrict and \unrestrict carry a random key per dump (pg_dump 15.14 and later).
    return [line for line in out.splitlines(keepends=True)
            if not line.startswith(("\\restrict ", "\\unrestrict "))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("revision", help="the git revision to compare with (e.g. 774f736)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="threatmap-compare-") as root:
        Path(root).chmod(0o755)
        cluster = ManagedCluster(Path(root) / "data")
        cluster.start()
        try:
            for dbname in ("old", "new", "adopted"):
                create_database(cluster, dbname)
            build_old(cluster.url(SUPERUSER, "old"), args.revision)
            build_old(cluster.url(SUPERUSER, "adopted"), args.revision)
            upgrade(cluster.url(SUPERUSER, "new"))
            upgrade(cluster.url(SUPERUSER, "adopted"))
            differences = 0
            for kind in ("schema-only", "data-only"):
                expected = dump(cluster, "old", kind)
                for dbname in ("new", "adopted"):
                    diff = list(difflib.unified_diff(expected, dump(cluster, dbname, kind),
                                                     f"old ({args.revision})", dbname))
                    differences += bool(diff)
                    print(f"{kind}: {dbname} vs old ({args.revision}): "
                          f"{'DIFFERENT' if diff else 'equal'} ({len(expected)} lines)")
                    sys.stdout.writelines(diff)
        finally:
            cluster.stop()
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
