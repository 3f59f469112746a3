"""`threatmap partner webhook set|remove` and `threatmap partner deliveries` (issue 15, point 8):
an admin registers a partner's webhook (the secret is printed once) and reads the delivery log."""

import argparse
import json
from typing import Any

import psycopg

from gateway.settings import Settings
from gateway.webhooks import UrlPolicy, UrlRefused, checked_url, new_secret
from store import webhooks


def _partner(conn: psycopg.Connection, name: str) -> Any:
    found = webhooks.partner_id(conn, name)
    if found is None:
        raise SystemExit(f"threatmap: there is no partner {name!r} (give its id or its exact name; "
                         "`threatmap partner list`)")
    return found


def webhook_set(settings: Settings, urls: Any, args: argparse.Namespace) -> None:
    try:
        url = checked_url(args.url, UrlPolicy(settings.webhook_allow_http, settings.webhook_allow_private))
    except UrlRefused as error:
        raise SystemExit(f"threatmap: {error}") from None
    secret = new_secret()
    with psycopg.connect(urls.app) as conn:
        webhooks.set_webhook(conn, _partner(conn, args.partner), url, secret)
    print(f"webhook of {args.partner}: {url}\nsecret (shown once; the partner verifies "
          f"X-Threatmap-Signature with it): {secret}")


def webhook_remove(settings: Settings, urls: Any, args: argparse.Namespace) -> None:
    with psycopg.connect(urls.app) as conn:
        removed = webhooks.remove_webhook(conn, _partner(conn, args.partner))
    print("webhook removed" if removed else "the partner had no webhook")


def deliveries(settings: Settings, urls: Any, args: argparse.Namespace) -> None:
    with psycopg.connect(urls.app) as conn:
        rows = webhooks.deliveries(conn, args.partner, args.state, args.limit)
    if args.json:
        print(json.dumps(rows, default=str, indent=2))
        return
    for row in rows:
        print(f"{row['created_at']:%Y-%m-%d %H:%M:%S}  {row['partner']}  event {row['event_id']}  "
              f"{row['type']}  report {row['report_id']}  {row['state']}  {row['attempts']} attempt(s)")
        for attempt in row["attempt_log"]:
            outcome = attempt["http_status"] if attempt["error"] is None else attempt["error"]
            print(f"    {attempt['at']}  {outcome}  {attempt['duration_ms']} ms  {attempt['url']}")


def run(settings: Settings, args: argparse.Namespace) -> None:
    from gateway.cli import database  # the command line's own module imports this one

    with database(settings) as urls:
        args.webhook_command(settings, urls, args)


def add_commands(partner: argparse._SubParsersAction) -> None:
    """The webhook commands under `threatmap partner` (gateway/cli.py)."""
    webhook = partner.add_parser("webhook", help="a partner's webhook (status changes of its reports)"
                                 ).add_subparsers(dest="webhook", required=True)
    set_cmd = webhook.add_parser("set", help="register or replace the webhook; prints a new secret once")
    set_cmd.add_argument("partner", help="the partner's id or name")
    set_cmd.add_argument("url", help="https URL the events are POSTed to")
    set_cmd.set_defaults(run=run, webhook_command=webhook_set)
    remove = webhook.add_parser("remove", help="stop sending the partner's events")
    remove.add_argument("partner", help="the partner's id or name")
    remove.set_defaults(run=run, webhook_command=webhook_remove)
    log = partner.add_parser("deliveries", help="webhook events and their delivery attempts, newest first")
    log.add_argument("partner", nargs="?", help="only this partner's (id or name)")
    log.add_argument("--state", choices=["pending", "delivered", "failed"])
    log.add_argument("--limit", type=int, default=50)
    log.add_argument("--json", action="store_true", help="as JSON")
    log.set_defaults(run=run, webhook_command=deliveries)
