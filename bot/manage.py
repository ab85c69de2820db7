"""Maintenance commands.

    python -m bot.manage init-db
    python -m bot.manage migrate                     # upgrade the database to the newest migration
    python -m bot.manage make-migration "message" [--empty] [--database-url URL]
    python -m bot.manage seed-demo [--force]   # only with DEMO=true (make run sets it), or --force
    python -m bot.manage create-admin USERNAME [--languages nl,fr,en] [--name "Display Name"]
    python -m bot.manage create-agent USERNAME --languages nl,fr [--name "Display Name"]
    python -m bot.manage link-slack USERNAME SLACK_USER_ID   # the agent's user in the webcare Slack
    python -m bot.manage export-customer CHANNEL SENDER [--out FILE|-] [--actor NAME]
    python -m bot.manage erase-customer CHANNEL SENDER --actor NAME --yes
    python -m bot.manage retention                   # delete what is past its retention, once

The password is read from the terminal (twice), or from the environment variable
AGENT_PASSWORD when there is no terminal (scripts, containers).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.core.db import create_db_engine, init_schema, outages, utcnow
from bot.core.migrations import MigrationError, database_revision, make_migration
from bot.core.outages import OutageRepository
from bot.core.settings import Settings
from bot.insights import open_tracker_engine
from handoff.agents import AgentDirectory, AgentError
from handoff.privacy import Privacy, PrivacyError, TrackerUnavailable


def seed_demo_outages(engine: Engine) -> bool:
    """Add one ongoing demo outage when none is open, so the outage answer can be tried."""
    with engine.begin() as conn:
        open_count = conn.execute(
            select(func.count()).select_from(outages).where(outages.c.resolved_at.is_(None))
        ).scalar_one()
        if open_count:
            return False
    now = utcnow()
    OutageRepository(engine).add("hasselt", "4G/5G", now - timedelta(hours=2), now + timedelta(hours=3))
    return True


def read_password(env: dict[str, str] | os._Environ[str] = os.environ) -> str:
    if env.get("AGENT_PASSWORD"):
        return env["AGENT_PASSWORD"]
    if not sys.stdin.isatty():
        raise AgentError("no terminal: set AGENT_PASSWORD to give the password")
    first = getpass.getpass("Password (at least 10 characters): ")
    if first != getpass.getpass("Password again: "):
        raise AgentError("the two passwords differ")
    return first


def create_account(engine: Engine, args: argparse.Namespace, role: str) -> str:
    agent = AgentDirectory(engine).create(
        args.username, read_password(), display_name=args.name, role=role, languages=args.languages
    )
    return f"{role} {agent.username!r} created (languages: {', '.join(agent.languages)})"


def link_slack(engine: Engine, username: str, slack_user_id: str) -> str:
    directory = AgentDirectory(engine)
    agent = directory.by_username(username)
    if agent is None:
        raise AgentError(f"no agent called {username!r}")
    directory.link(agent.id, "slack", slack_user_id.strip())
    return f"{agent.username!r} is Slack user {slack_user_id.strip()} in the webcare workspace"


def make_migration_command(args: argparse.Namespace) -> int:
    """Write the next revision for the changes to bot/core/db.py (or an empty one)."""
    engine = create_db_engine(args.database_url) if args.database_url else None
    try:
        path = make_migration(args.message, engine=engine, autogenerate=not args.empty)
    except MigrationError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    finally:
        if engine is not None:
            engine.dispose()
    print(f"{path} written: review it, then run: python -m bot.manage migrate")
    return 0


def privacy_command(engine: Engine, settings: Settings, args: argparse.Namespace) -> int:
    """export-customer, erase-customer and retention (handoff/privacy.py), on our database and
    Rasa's tracker store."""
    tracker = open_tracker_engine(settings.rasa_tracker_url)
    privacy = Privacy(settings, engine, tracker)
    try:
        if args.command == "retention":
            counts = privacy.enforce_retention()
            print(" ".join(f"{kind}={count}" for kind, count in counts.items()))
        elif args.command == "export-customer":
            data = privacy.export_customer(args.channel, args.sender, actor=args.actor)
            if args.out == "-":
                json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
                print()
            else:
                path = privacy.write_export(data, Path(args.out) if args.out else None)
                kept = f"RETENTION_EXPORT_DAYS={settings.retention_export_days} applies"
                note = kept if args.out is None else "outside var/exports/: delete it when done"
                print(f"{data['counts']['conversations']} conversation(s) exported to {path} ({note})")
        elif not args.yes:
            print("ERROR: erasing cannot be undone: add --yes to erase this customer", file=sys.stderr)
            return 2
        else:
            result = privacy.erase_customer(args.channel, args.sender, args.actor)
            deleted = " ".join(f"{kind}={count}" for kind, count in result["deleted"].items())
            print(f"customer {result['subject']} erased: {deleted}")
    except TrackerUnavailable as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    except PrivacyError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    finally:
        tracker.dispose()
    return 0


def main(argv: list[str] | None = None, settings: Settings | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.manage")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init-db", help="create the tables, or upgrade them (same as migrate)")
    commands.add_parser("migrate", help="upgrade the database to the newest migration")
    make = commands.add_parser("make-migration", help="write the next migration from bot/core/db.py")
    make.add_argument("message", help='what it does, e.g. "add messages.edited_at"')
    make.add_argument("--empty", action="store_true", help="an empty revision (for a data migration)")
    make.add_argument(
        "--database-url",
        default=None,
        help="compare with this database, brought to the newest revision first "
        "(default: a throw-away SQLite file)",
    )
    seed = commands.add_parser("seed-demo", help="add a demo outage when none is open (needs DEMO=true)")
    seed.add_argument("--force", action="store_true", help="seed even though DEMO is not true")
    for name in ("create-admin", "create-agent"):
        sub = commands.add_parser(name, help=f"add an {name.split('-')[1]} account for the console")
        sub.add_argument("username")
        sub.add_argument(
            "--languages",
            default="nl,fr,en" if name == "create-admin" else None,
            required=name == "create-agent",
            help="comma-separated: nl,fr,en",
        )
        sub.add_argument("--name", default=None, help="display name shown to customers")
    link = commands.add_parser("link-slack", help="tie an agent to their Slack user in the webcare workspace")
    link.add_argument("username")
    link.add_argument("slack_user_id")
    export = commands.add_parser("export-customer", help="everything about one customer as JSON (audited)")
    erase = commands.add_parser("erase-customer", help="erase a customer here and in Rasa's store (audited)")
    for sub in (export, erase):
        sub.add_argument("channel", help="web, telegram, slack, ...")
        sub.add_argument("sender", help="the customer's id on that channel")
    export.add_argument(
        "--out",
        default=None,
        help="the JSON file to write, - for standard output "
        "(default: a new file in var/exports/, deleted after RETENTION_EXPORT_DAYS)",
    )
    export.add_argument("--actor", default=_login_name(), help="who exports, for the audit log")
    erase.add_argument("--actor", required=True, help="who erases, for the audit log")
    erase.add_argument("--yes", action="store_true", help="confirm: erasing cannot be undone")
    commands.add_parser("retention", help="delete what is past its retention now, print the counts")
    args = parser.parse_args(argv)
    if args.command == "make-migration":
        return make_migration_command(args)
    settings = settings or Settings.from_env()
    if args.command == "seed-demo" and not (settings.demo or args.force):
        print("ERROR: seed-demo adds a fake outage: only with DEMO=true (or --force)", file=sys.stderr)
        return 2
    engine = create_db_engine(settings.database_url)
    try:
        init_schema(engine)
        if args.command == "migrate":
            print(f"database at revision {database_revision(engine)}")
        elif args.command == "seed-demo":
            print("demo outage added" if seed_demo_outages(engine) else "open outages exist; nothing added")
        elif args.command in ("create-admin", "create-agent"):
            print(create_account(engine, args, "admin" if args.command == "create-admin" else "agent"))
        elif args.command == "link-slack":
            print(link_slack(engine, args.username, args.slack_user_id))
        elif args.command in ("export-customer", "erase-customer", "retention"):
            return privacy_command(engine, settings, args)
    except AgentError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    return 0


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name known (a container without passwd entry)
        return "admin"


if __name__ == "__main__":
    sys.exit(main())
