"""Alembic's environment for our schema; run by ``bot.core.migrations`` (see its docstring).

The connection comes from ``config.attributes["connection"]``: the migrations run in its
transaction, under the lock the caller holds. Without one (``alembic`` used by hand with a
configuration naming ``sqlalchemy.url``) an engine is made from the URL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from bot.core.db import metadata
from bot.core.migrations import context_options

config = context.config


def run_offline() -> None:
    """``--sql``: print the SQL instead of running it."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        **context_options(),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url"), future=True)
        try:
            with engine.begin() as conn:
                config.attributes["connection"] = conn
                run_online()
        finally:
            config.attributes["connection"] = None
            engine.dispose()
        return
    context.configure(connection=connection, target_metadata=metadata, **context_options())
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
