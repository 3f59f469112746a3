"""The `threatmap` command: serve, db migrate/status, seed, privacy jobs, tokens, the GraphQL schema,
the open-data export."""

import argparse
import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from pydantic import ValidationError

from gateway.cli_webhooks import add_commands as add_webhook_commands
from gateway.logs import configure_logging
from gateway.secret import WeakSecretError, with_jwt_secret
from gateway.settings import Settings, load_settings
from store import reorder as store_reorder
from store.errors import StoreSetupError
from store.locations import DatabaseUrls, ManagedDatabase, external_urls
from store.migrate import migrate, sql_status, status, upgrade
from store.privacy import (
    PolicyError,
    apply_policy,
    load_policy,
    publish_due_reports,
    purge_contacts,
)
from store.seed import seed

log = logging.getLogger("threatmap")


@contextlib.contextmanager
def database(settings: Settings) -> Iterator[DatabaseUrls]:
    """The configured database for one command; a managed cluster is stopped again after."""
    if settings.database_url:
        yield external_urls(settings.database_url, settings.public_database_url,
                            settings.public_primary_url)
        return
    managed = ManagedDatabase(settings.data_dir, settings.database_name)
    urls = managed.start()
    try:
        yield urls
    finally:
        managed.stop()


def server_options(settings: Settings) -> dict[str, Any]:
    """How `threatmap serve` configures uvicorn, beyond the address and the log level.

    Slow clients are cut (a request head within head_timeout_s, its body within body_timeout_s:
    gateway.body_timeout), and the shutdown is bounded whatever they do: after SIGTERM, requests
    still open after shutdown_timeout_s are cancelled, then the lifespan stops the pools and the
    managed cluster. A WebSocket frame or message larger than the GraphQL size limit closes its
    connection (1009) before it is read (the app checks it again: gateway.graphql.body_limit).
    """
    from gateway.http_protocol import with_head_timeout

    # Logging is ours (gateway.logs: uvicorn's lines go through the root handler; the access
    # lines, with request id and door, are gateway.observe's); forwarded headers are believed
    # from THREATMAP_TRUSTED_PROXIES only, by the app (gateway.forwarded), not uvicorn's default.
    return {"proxy_headers": False, "log_config": None, "access_log": False,
            "http": with_head_timeout(settings.head_timeout_s),
            "timeout_graceful_shutdown": settings.shutdown_timeout_s,
            "limit_concurrency": settings.max_connections,
            "ws_max_size": settings.graphql_max_body_bytes}


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn

    from gateway.app import create_app
    from gateway.urls import public_base

    if args.demo_on_first_start is not None:
        settings = settings.model_copy(update={"demo_on_first_start": args.demo_on_first_start})
    settings = with_jwt_secret(settings)
    if args.workers > 1:
        serve_workers(settings, args.workers)
        return
    app = create_app(settings)
    print(f"threatmap: starting on {public_base(settings)} (Ctrl-C stops it)", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level.lower(),
                **server_options(settings))


WORKER_HEALTHCHECK_S = 120


def serve_workers(settings: Settings, workers: int) -> None:
    """`threatmap serve --workers N`: uvicorn's worker processes on one listening socket.

    This process prepares the database once (the managed cluster started here, migrations, the
    demo reports) and keeps the managed cluster until the workers are gone; each worker builds
    the app from the same environment (worker_app), finds the cluster running and leaves it to
    this process. The maintenance jobs run once a period across the workers (store.schedule).
    """
    import uvicorn

    from gateway.app import create_app
    from gateway.http_protocol import IMPORT_NAME
    from gateway.urls import public_base
    from store.setup import prepare_database

    create_app(settings)   # every setting checked before anything starts
    with database(settings) as urls:
        prepare_database(urls, settings.config_dir, settings.demo_on_first_start)
        print(f"threatmap: starting {workers} workers on {public_base(settings)} (Ctrl-C stops them)",
              flush=True)
        # A worker imports the whole app before it answers uvicorn's health pings; on a busy
        # machine that takes longer than uvicorn's 5 s, after which it would kill and restart it.
        uvicorn.run(f"{__name__}:worker_app", factory=True, workers=workers, host=settings.host,
                    port=settings.port, log_level=settings.log_level.lower(),
                    timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
                    **{**server_options(settings), "http": IMPORT_NAME})


def worker_app() -> Any:
    """The app of one worker process (uvicorn imports this by name in each of them)."""
    from gateway.app import create_app
    from gateway.http_protocol import HeadTimeoutProtocol

    settings = with_jwt_secret(load_settings())   # the same key: the one kept in data_dir
    configure_logging(settings.log_format, settings.log_level)
    HeadTimeoutProtocol.head_timeout_s = settings.head_timeout_s
    # the demo reports were loaded by the parent (serve_workers), not once per worker
    return create_app(settings.model_copy(update={"demo_on_first_start": 0}))


def cmd_db_migrate(settings: Settings, args: argparse.Namespace) -> None:
    with database(settings) as urls:
        applied = upgrade(urls.admin)
    lines = [f"applied {m.label}" for m in applied.migrations]
    lines += [f"applied sql/{f.name}" for f in applied.sql_files]
    print("\n".join(lines) or "nothing to apply")


def cmd_db_status(settings: Settings, args: argparse.Namespace) -> None:
    with database(settings) as urls:
        for state in status(urls.admin):
            when = state.applied_at.isoformat(timespec="seconds") if state.applied_at else "pending"
            changed = " CHANGED since applied: the next start refuses it" if state.changed else ""
            print(f"{state.migration.label}: {when}{changed}")
        for code in sql_status(urls.admin):
            when = code.applied_at.isoformat(timespec="seconds") if code.applied_at else "new"
            stale = "" if code.current else " (changed: re-applied on the next start)"
            print(f"sql/{code.file.name}: {when}{stale}")


def cmd_db_backup(settings: Settings, args: argparse.Namespace) -> None:
    from store.backup import backup

    with database(settings) as urls:
        backup(urls.admin, args.file)
    print(f"wrote {args.file} (pg_restore reads it; `threatmap db restore {args.file}`)")


def cmd_db_restore(settings: Settings, args: argparse.Namespace) -> None:
    from store.backup import restore

    with database(settings) as urls:
        restore(urls.admin, args.file)
        applied = upgrade(urls.admin)   # a dump of an older version: its pending migrations
    print(f"restored {args.file}" + (f"; then applied {len(applied.migrations)} migrations"
                                     if applied.migrations else ""))


def _positive_seconds(text: str) -> float:
    """A lock timeout: 0 would be PostgreSQL's "wait for ever", which the option exists to prevent."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most 3600 seconds: {text}")
    return value


def cmd_db_reorder(settings: Settings, args: argparse.Namespace) -> None:
    started = time.monotonic()
    with database(settings) as urls:
        try:
            done = store_reorder.reorder(urls.admin, args.lock_timeout_s, method=args.method,
                                         say=lambda text: print(f"  {text}", flush=True))
        except (store_reorder.ReorderLocked, store_reorder.ReorderFailed) as error:
            sys.exit(f"threatmap: {error}")
        except store_reorder.OnlineUnavailable as error:
            sys.exit(f"threatmap: cannot reorder online: {error} (--method cluster rewrites with "
                     "CLUSTER, its readers waiting meanwhile)")
    waited = ", ".join(f"{d.table} {d.locked_s:.1f} s" if d.locked_s is not None
                       else f"{d.table} moments (online)" for d in done)
    print(f"reordered in {time.monotonic() - started:.0f} s; readers waited at most: {waited}")


def cmd_seed(settings: Settings, args: argparse.Namespace) -> None:
    with database(settings) as urls:
        migrate(urls.admin)
        with psycopg.connect(urls.app) as conn:
            apply_policy(conn, load_policy(settings.config_dir / "privacy.yml"))
            added = seed(conn, settings.config_dir, args.demo, args.demo_seed,
                         progress=lambda text: print(f"  {text}", flush=True),
                         demo_bulk=args.bulk)
    print(f"seeded the catalogue, areas and police units; {added} demo reports added")


def cmd_privacy(settings: Settings, args: argparse.Namespace) -> None:
    with database(settings) as urls, psycopg.connect(urls.app) as conn:
        if args.job == "apply":
            rebuilt = apply_policy(conn, load_policy(settings.config_dir / "privacy.yml"))
            print("policy applied; public layer rebuilt" if rebuilt else "policy unchanged")
        elif args.job == "publish":
            print(f"{publish_due_reports(conn)} reports published")
        else:
            print(f"{purge_contacts(conn)} contacts erased")
            conn.commit()
            print(f"{asyncio.run(_erase_photos(settings, urls.app))} photos erased")


async def _erase_photos(settings: Settings, url: str) -> int:
    """The photos past retention (with the contacts), as the server's periodic job erases them."""
    from psycopg_pool import AsyncConnectionPool

    from gateway.photos import erase_photos_past_retention, photo_storage

    async with AsyncConnectionPool(url, min_size=1, max_size=1, open=False) as pool:
        return await erase_photos_past_retention(pool, photo_storage(settings))


def cmd_audit(settings: Settings, args: argparse.Namespace) -> None:
    """Exit status 0 when every report's history is whole, 1 with the first break named."""
    from store.audit import verify

    with database(settings) as urls, psycopg.connect(urls.app) as conn:
        result = verify(conn, progress=lambda n: print(f"  {n:,} reports checked", flush=True))
    if result.first_break is None:
        print(f"every history is whole: {result.reports:,} reports, {result.events:,} events")
        return
    print(f"{result.breaks:,} broken histories in {result.reports:,} reports; the first: "
          f"{result.first_break}")
    raise SystemExit(1)


def cmd_audit_exports(settings: Settings, args: argparse.Namespace) -> None:
    """The newest CSV exports of the work list (core.staff_exports), one JSON object a line."""
    import json

    from psycopg_pool import AsyncConnectionPool

    from store.staff_exports import recorded

    async def newest(url: str) -> list[dict]:
        async with AsyncConnectionPool(url, min_size=1, max_size=1, open=False) as pool:
            return await recorded(pool, args.limit)

    with database(settings) as urls:
        for row in asyncio.run(newest(urls.app)):
            print(json.dumps(row | {"at": row["at"].isoformat()}, ensure_ascii=False))


def cmd_token(settings: Settings, args: argparse.Namespace) -> None:
    from gateway.graphql.auth import Role, mint_token

    try:
        settings = with_jwt_secret(settings)
        print(mint_token(settings.jwt_secret, Role(args.role), args.subject, args.unit, args.hours))
    except ValueError as error:
        sys.exit(f"threatmap: {error}")


def cmd_partner(settings: Settings, args: argparse.Namespace) -> None:
    """Partners and their API keys (issue 15, point 5; README "Partners and Open311")."""
    from store import partners

    with database(settings) as urls:
        migrate(urls.admin)
        with psycopg.connect(urls.app) as conn:
            try:
                if args.partner == "add":
                    partner_id, key = partners.add_partner(conn, args.name, args.kind)
                    print(f"partner {partner_id} added ({args.kind}: {args.name.strip()})")
                    print(f"its API key, shown only now: {key}")
                elif args.partner == "list":
                    for row in partners.list_partners(conn):
                        print(partners.describe(row))
                elif args.partner in ("suspend", "resume"):
                    partners.set_active(conn, args.partner_id, args.partner == "resume")
                    print(f"partner {args.partner_id} {args.partner}d")
                elif args.key_action == "issue":
                    key = partners.issue_key(conn, args.partner_id)
                    print(f"a new API key for partner {args.partner_id}, shown only now: {key}")
                elif partners.revoke_key(conn, args.key_id):
                    print(f"key {args.key_id} revoked")
                else:
                    print(f"key {args.key_id} was revoked already")
            except partners.PartnerError as error:
                sys.exit(f"threatmap: {error}")


def cmd_graphql_schema(settings: Settings, args: argparse.Namespace) -> None:
    from gateway.graphql.schema import schema_sdl

    if args.output:
        args.output.write_text(schema_sdl(), encoding="utf-8")
        print(f"wrote the GraphQL schema to {args.output}")
    else:
        sys.stdout.write(schema_sdl())


def cmd_settings_example(settings: Settings, args: argparse.Namespace) -> None:
    from gateway.env_example import env_example

    sys.stdout.write(env_example())


def cmd_export(settings: Settings, args: argparse.Namespace) -> None:
    from datetime import UTC, datetime

    from downloads.snapshot import SnapshotBusy, SnapshotWriter, closes_on, due_months, month_bounds
    from downloads.writers import ExportError

    def say(text: str) -> None:
        print(f"  {text}", flush=True)

    today = datetime.now(UTC).date()
    closed_days = settings.downloads_month_closed_days
    if args.month:
        try:
            month_bounds(args.month)
        except ValueError as error:
            sys.exit(f"threatmap: --month: {error}")
        if closes_on(args.month, closed_days) > today:
            sys.exit(f"threatmap: {args.month} is not closed yet: its archive is written from "
                     f"{closes_on(args.month, closed_days)} on (THREATMAP_DOWNLOADS_MONTH_CLOSED_DAYS)")
    with database(settings) as urls:
        writer = SnapshotWriter(urls.public, settings.data_dir, settings.config_dir, progress=say)
        try:
            if args.month:
                print(f"writing the archive of {args.month}", flush=True)
                if writer.write_month(args.month) is None:
                    print(f"{args.month} is archived already (archives never change)")
                    return
            else:
                print("writing the latest snapshot", flush=True)
                writer.write_latest()
                for month in due_months(writer, today, closed_days):
                    print(f"writing the archive of {month}", flush=True)
                    writer.write_month(month)
        except (SnapshotBusy, ExportError) as error:
            sys.exit(f"threatmap: {error}")
    print(f"downloads written under {writer.root} (served at /downloads)")


def cmd_stats_import(settings: Settings, args: argparse.Namespace) -> None:
    from policestats.files import FileFormatError
    from policestats.importer import ImportRejected, describe, import_file, issue_lines

    if not args.file.is_file():
        sys.exit(f"threatmap: {args.file}: no such file")
    source = args.source or ("gus" if args.kind == "population" else "police")
    with database(settings) as urls:
        migrate(urls.admin)
        with psycopg.connect(urls.app) as conn:
            try:
                result = import_file(conn, args.file, args.kind, source, settings.config_dir,
                                     actor=args.actor, crs=args.crs, progress=not args.quiet)
            except FileFormatError as error:
                sys.exit(f"threatmap: {error}")
            except ImportRejected as rejected:
                for line in issue_lines(rejected):
                    print(f"{args.file.name}: {line}", file=sys.stderr)
                sys.exit(f"threatmap: {args.file.name}: {rejected.total} errors; nothing imported")
    print(describe(result))


def cmd_stats_imports(settings: Settings, args: argparse.Namespace) -> None:
    from store.police_stats import imports

    with database(settings) as urls:
        migrate(urls.admin)
        with psycopg.connect(urls.app) as conn:
            for row in imports(conn, args.limit):
                period = (f"{row['period_from']:%Y-%m}..{row['period_to']:%Y-%m}" if row["period_from"]
                          else "-")
                print(f"{row['id']:>5}  {row['imported_at']:%Y-%m-%d %H:%M}  {row['actor']:<12} "
                      f"{row['kind']:<10} {row['source']:<12} {period}  {row['rows']:>9} rows  "
                      f"{row['replaced']:>9} replaced  {row['sha256'][:16]}  {row['file_name']}")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="threatmap", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the service (HOST/PORT set the address)")
    serve.add_argument("--demo-on-first-start", type=int, metavar="N",
                       help="load N demo reports when the database has no reports")
    serve.add_argument("--workers", type=int, default=1, metavar="N",
                       help="worker processes on the one address (default 1); the maintenance "
                            "jobs still run once a period across them")
    serve.set_defaults(run=cmd_serve)

    db = commands.add_parser("db", help="database migrations").add_subparsers(dest="db",
                                                                             required=True)
    db.add_parser("migrate", help="apply pending migrations and changed database code (store/sql)"
                  ).set_defaults(run=cmd_db_migrate)
    db.add_parser("status", help="list migrations and database code files, and when they were applied"
                  ).set_defaults(run=cmd_db_status)
    reorder_cmd = db.add_parser(
        "reorder", help="rewrite the public reports, their features and cells in spatial order "
                        "(online with pg_repack where it can run, else CLUSTER, whose readers wait "
                        "while a table is rewritten: README, Running in production)")
    reorder_cmd.add_argument("--method", choices=store_reorder.METHODS, default=store_reorder.AUTO,
                             help="online: pg_repack (readers and writers go on; a superuser and "
                                  "the server's pg_repack extension), cluster: CLUSTER (each "
                                  "table's readers wait while it is rewritten), auto (default): "
                                  "online where it can run, else cluster")
    reorder_cmd.add_argument("--lock-timeout-s", type=_positive_seconds, default=2.0,
                             help="give up (and change nothing) when a table's lock is not granted "
                                  "within this many seconds (default 2; online: whole seconds, "
                                  "at least 1)")
    reorder_cmd.set_defaults(run=cmd_db_reorder)
    backup_cmd = db.add_parser("backup", help="dump the database with pg_dump (custom format)")
    backup_cmd.add_argument("file", type=Path, help="the archive to write")
    backup_cmd.set_defaults(run=cmd_db_backup)
    restore_cmd = db.add_parser("restore", help="restore a `db backup` archive into a new, empty "
                                                "database (roles and privileges included)")
    restore_cmd.add_argument("file", type=Path, help="the archive to read")
    restore_cmd.set_defaults(run=cmd_db_restore)

    seed_cmd = commands.add_parser("seed", help="load the catalogue, areas, police units")
    seed_cmd.add_argument("--demo", type=int, default=0, metavar="N",
                          help="also load N deterministic synthetic reports")
    seed_cmd.add_argument("--demo-seed", type=int, default=20261125)
    seed_cmd.add_argument("--bulk", action="store_true",
                          help="into a database without reports: the set-based loader of "
                               "store/demo_bulk.py (millions of reports; other reports than "
                               "the default loader's for the same seed)")
    seed_cmd.set_defaults(run=cmd_seed)

    privacy = commands.add_parser("privacy", help="privacy jobs")
    privacy.add_argument("job", choices=["purge", "publish", "apply"],
                         help="purge: erase contacts and photos past retention; publish: publish reports "
                              "past the delay; apply: load config/privacy.yml")
    privacy.set_defaults(run=cmd_privacy)

    audit = commands.add_parser("audit", help="the tamper-evident report histories").add_subparsers(
        dest="audit", required=True)
    audit.add_parser("verify", help="recompute every report's chain of events; name the first break"
                     ).set_defaults(run=cmd_audit)
    exports = audit.add_parser("exports", help="who exported the work list as CSV, when, with which "
                                               "filters and private fields (newest first, JSON lines)")
    exports.add_argument("--limit", type=int, default=100, help="how many (default 100)")
    exports.set_defaults(run=cmd_audit_exports)

    token = commands.add_parser("token", help="mint a bearer token for /graphql (local use)")
    token.add_argument("--role", required=True, choices=["officer", "analyst", "admin"])
    token.add_argument("--unit", help="the officer's police unit, e.g. kpp-1405")
    token.add_argument("--hours", type=float, default=8, help="validity (default 8)")
    token.add_argument("--subject", default="local-user", help="who the audit trail names")
    token.set_defaults(run=cmd_token)

    export = commands.add_parser(
        "export", help="write the open-data downloads now: the latest snapshot and every closed "
                       "month not archived yet (files under THREATMAP_DATA_DIR/downloads)")
    export.add_argument("--month", metavar="YYYY-MM",
                        help="write only this closed month's archive (never rewritten once written)")
    export.set_defaults(run=cmd_export)

    partner = commands.add_parser(
        "partner", help="partners (local governments, NGOs, municipal guards, platforms) and their "
                        "API keys").add_subparsers(dest="partner", required=True)
    partner_add = partner.add_parser("add", help="register a partner; prints its first API key once")
    partner_add.add_argument("name")
    partner_add.add_argument("--kind", required=True,
                             choices=["ngo", "local_government", "municipal_guard", "platform"])
    partner_add.set_defaults(run=cmd_partner)
    partner.add_parser("list", help="partners and their keys (prefixes, last use, revocation)"
                       ).set_defaults(run=cmd_partner)
    for action, text in (("suspend", "refuse every key of a partner"),
                         ("resume", "accept a suspended partner's keys again")):
        cmd = partner.add_parser(action, help=text)
        cmd.add_argument("partner_id", type=int)
        cmd.set_defaults(run=cmd_partner)
    partner_key = partner.add_parser("key", help="a partner's API keys").add_subparsers(
        dest="key_action", required=True)
    key_issue = partner_key.add_parser("issue", help="a new key for a partner; printed once")
    key_issue.add_argument("partner_id", type=int)
    key_issue.set_defaults(run=cmd_partner)
    key_revoke = partner_key.add_parser("revoke", help="revoke a key at once (by its id: partner list)")
    key_revoke.add_argument("key_id", type=int)
    key_revoke.set_defaults(run=cmd_partner)
    add_webhook_commands(partner)   # partner webhook set|remove, partner deliveries (gateway.cli_webhooks)

    graphql = commands.add_parser("graphql", help="the GraphQL door").add_subparsers(
        dest="graphql", required=True)
    sdl = graphql.add_parser("schema", help="print the schema as SDL (committed as "
                                            "gateway/graphql/schema.graphql)")
    sdl.add_argument("--output", type=Path, metavar="FILE", help="write it to FILE instead")
    sdl.set_defaults(run=cmd_graphql_schema)

    stats = commands.add_parser("stats", help="police statistics (pillar 1)").add_subparsers(
        dest="stats", required=True)
    stats_import = stats.add_parser(
        "import", help="import a CSV or XLSX file of police statistics, residents or road sections "
                       "(README \"Police statistics\"); the whole file is checked first, then written "
                       "in one transaction, replacing the same source's same period")
    stats_import.add_argument("file", type=Path, help="the .csv or .xlsx file")
    stats_import.add_argument("--kind", choices=["stats", "roads", "population"], default="stats",
                              help="what the file holds (default stats)")
    stats_import.add_argument("--source", metavar="NAME",
                              help="who the figures come from (default police; gus for population)")
    stats_import.add_argument("--actor", help="who imports, for the record (default the OS user)")
    stats_import.add_argument("--crs", type=int, choices=[2180, 4326],
                              help="the CRS of a road file's lines when it has no crs column")
    stats_import.add_argument("--quiet", action="store_true", help="no progress bar")
    stats_import.set_defaults(run=cmd_stats_import)
    stats_list = stats.add_parser("imports", help="list the latest imports (who, when, checksum, rows)")
    stats_list.add_argument("--limit", type=int, default=20)
    stats_list.set_defaults(run=cmd_stats_imports)

    settings_cmd = commands.add_parser("settings", help="the service's settings").add_subparsers(
        dest="settings", required=True)
    settings_cmd.add_parser("example", help="print every setting with its description and default "
                                            "(committed as .env.example)"
                            ).set_defaults(run=cmd_settings_example)
    return root


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
        configure_logging(settings.log_format, settings.log_level)
        args.run(settings, args)
    except ValidationError as error:
        sys.exit(f"threatmap: invalid setting: {error}")
    except FileNotFoundError as error:
        sys.exit(f"threatmap: {error}")
    except (StoreSetupError, PolicyError, WeakSecretError) as error:
        sys.exit(f"threatmap: {error}")
    except KeyboardInterrupt:
        pass
