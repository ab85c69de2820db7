"""Maintenance commands: ``python -m bot.manage init-db | seed-demo``."""

from __future__ import annotations

import argparse
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.db import create_db_engine, init_schema, outages, utcnow
from bot.outages import OutageRepository
from bot.settings import Settings


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.manage")
    parser.add_argument("command", choices=["init-db", "seed-demo"])
    args = parser.parse_args(argv)
    engine = create_db_engine(Settings.from_env().database_url)
    init_schema(engine)
    if args.command == "seed-demo":
        print("demo outage added" if seed_demo_outages(engine) else "open outages exist; nothing added")
    engine.dispose()


if __name__ == "__main__":
    main()
