"""The `threatmap` command: serve, db migrate/status, seed, privacy jobs, tokens, the GraphQL schema."""

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from pydantic import ValidationError

from gateway.secret import WeakSecretError, with_jwt_secret
from gateway.settings import Settings
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
        yield external_urls(settings.database_url, settings.public_database_url)
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

    return {"proxy_headers": False, "http": with_head_timeout(settings.head_timeout_s),
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
    app = create_app(settings)
    print(f"threatmap: starting on {public_base(settings)} (Ctrl-C stops it)", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info",
                **server_options(settings))


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


def cmd_seed(settings: Settings, args: argparse.Namespace) -> None:
    with database(settings) as urls:
        migrate(urls.admin)
        with psycopg.connect(urls.app) as conn:
            apply_policy(conn, load_policy(settings.config_dir / "privacy.yml"))
            added = seed(conn, settings.config_dir, args.demo, args.demo_seed,
                         progress=lambda text: print(f"  {text}", flush=True))
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


def cmd_token(settings: Settings, args: argparse.Namespace) -> None:
    from gateway.graphql.auth import Role, mint_token

    try:
        settings = with_jwt_secret(settings)
        print(mint_token(settings.jwt_secret, Role(args.role), args.subject, args.unit, args.hours))
    except ValueError as error:
        sys.exit(f"threatmap: {error}")


def cmd_graphql_schema(settings: Settings, args: argparse.Namespace) -> None:
    from gateway.graphql.schema import schema_sdl

    if args.output:
        args.output.write_text(schema_sdl(), encoding="utf-8")
        print(f"wrote the GraphQL schema to {args.output}")
    else:
        sys.stdout.write(schema_sdl())


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="threatmap", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the service (HOST/PORT set the address)")
    serve.add_argument("--demo-on-first-start", type=int, metavar="N",
                       help="load N demo reports when the database has no reports")
    serve.set_defaults(run=cmd_serve)

    db = commands.add_parser("db", help="database migrations").add_subparsers(dest="db",
                                                                             required=True)
    db.add_parser("migrate", help="apply pending migrations and changed database code (store/sql)"
                  ).set_defaults(run=cmd_db_migrate)
    db.add_parser("status", help="list migrations and database code files, and when they were applied"
                  ).set_defaults(run=cmd_db_status)

    seed_cmd = commands.add_parser("seed", help="load the catalogue, areas, police units")
    seed_cmd.add_argument("--demo", type=int, default=0, metavar="N",
                          help="also load N deterministic synthetic reports")
    seed_cmd.add_argument("--demo-seed", type=int, default=20261125)
    seed_cmd.set_defaults(run=cmd_seed)

    privacy = commands.add_parser("privacy", help="privacy jobs")
    privacy.add_argument("job", choices=["purge", "publish", "apply"],
                         help="purge: erase contacts and photos past retention; publish: publish reports "
                              "past the delay; apply: load config/privacy.yml")
    privacy.set_defaults(run=cmd_privacy)

    token = commands.add_parser("token", help="mint a bearer token for /graphql (local use)")
    token.add_argument("--role", required=True, choices=["officer", "analyst", "admin"])
    token.add_argument("--unit", help="the officer's police unit, e.g. kpp-1405")
    token.add_argument("--hours", type=float, default=8, help="validity (default 8)")
    token.add_argument("--subject", default="local-user", help="who the audit trail names")
    token.set_defaults(run=cmd_token)

    graphql = commands.add_parser("graphql", help="the GraphQL door").add_subparsers(
        dest="graphql", required=True)
    sdl = graphql.add_parser("schema", help="print the schema as SDL (committed as "
                                            "gateway/graphql/schema.graphql)")
    sdl.add_argument("--output", type=Path, metavar="FILE", help="write it to FILE instead")
    sdl.set_defaults(run=cmd_graphql_schema)
    return root


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parser().parse_args(argv)
    try:
        args.run(Settings(), args)
    except ValidationError as error:
        sys.exit(f"threatmap: invalid setting: {error}")
    except (StoreSetupError, PolicyError, WeakSecretError) as error:
        sys.exit(f"threatmap: {error}")
    except KeyboardInterrupt:
        pass
