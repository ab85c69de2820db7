"""Schema migrations (Alembic), run from code: no alembic.ini, no reliance on the current directory.

``upgrade(engine)`` brings a database to the newest revision; ``bot.core.db.init_schema`` calls it
on every start (gateway, launcher, ``python -m bot.manage``). Three kinds of database meet it:

* an empty one gets every revision, the first (``0001``) creating today's tables;
* one made before migrations existed (``metadata.create_all`` of the last release: our tables, no
  ``alembic_version``) is adopted: the baseline revision creates only what is missing, which for
  a database of the last release is nothing, so it is *stamped* at ``0001`` and then upgraded;
* one at the newest revision: nothing happens (no DDL, no write).

Several processes may start at once (gateway replicas, gateway + launcher). The whole upgrade,
including reading the current revision, runs on one connection inside one transaction that
first takes a lock, so the second process waits, then finds the database at head:

* PostgreSQL: ``pg_advisory_xact_lock`` on a key made of a fixed name and the current schema
  (one lock per schema, so test schemas do not wait for each other); it is released by the
  commit or rollback. DDL is transactional there, so a failed upgrade leaves nothing behind.
* SQLite: ``BEGIN IMMEDIATE`` takes the database file's write lock; the others wait up to the
  connection's busy timeout (10 s, see ``create_db_engine``). pysqlite does not commit before
  DDL, so the upgrade is one transaction here too. Foreign keys are switched off during it
  and checked (``foreign_key_check``) before the commit, so a batch migration may rebuild a
  table other tables refer to (SQLite's documented way of changing a table).

Rasa's tracker store tables (``events``) live in the same PostgreSQL database but are not ours:
the migration environment never looks at tables outside ``bot.core.db.metadata``.

A new migration: ``python -m bot.manage make-migration "add messages.edited_at"`` (see
``make_migration``) after changing ``bot/core/db.py``.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent
BASELINE = "0001"
VERSION_TABLE = "alembic_version"
_LOCK_NAME = "customer-care-assistant:migrations:"

log = logging.getLogger(__name__)


class MigrationError(Exception):
    """A migration cannot be made (nothing changed, no database, ...)."""


MIGRATION_WAIT_MS = 180_000  # a starting process waits this long for another's migration (SQLite)


def alembic_config(
    connection: Connection | None = None,
    *,
    url: str | None = None,
    script_location: Path = MIGRATIONS_DIR,
) -> Config:
    """Alembic's configuration for our migrations, built in code.

    ``connection`` is handed to ``env.py`` through ``config.attributes``: the migrations then run
    on it, inside its transaction (and under its lock, and its PostgreSQL ``search_path``).
    """
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.set_main_option("truncate_slug_length", "40")
    if url is None and connection is not None:
        url = connection.engine.url.render_as_string(hide_password=False)
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    # New revision files are formatted like the rest of the code.
    config.set_section_option("post_write_hooks", "hooks", "ruff_fix, ruff_format")
    for name, options in (
        ("ruff_fix", "check --fix --quiet REVISION_SCRIPT_FILENAME"),
        ("ruff_format", "format --quiet REVISION_SCRIPT_FILENAME"),
    ):
        config.set_section_option("post_write_hooks", f"{name}.type", "module")
        config.set_section_option("post_write_hooks", f"{name}.module", "ruff")
        config.set_section_option("post_write_hooks", f"{name}.options", options)
    config.attributes["connection"] = connection
    return config


@contextmanager
def locked_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that holds the migration lock; committed on success."""
    with engine.connect() as conn:
        dialect = conn.dialect.name
        if dialect == "sqlite":
            with _sqlite_write_lock(conn):
                yield conn
            return
        if dialect == "postgresql":
            conn.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:name || coalesce(current_schema(), '')))"),
                {"name": _LOCK_NAME},
            )
        else:  # no lock known for this engine: concurrent first starts are not protected
            conn.begin()
        yield conn
        conn.commit()


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Autogenerate looks at our tables only: not Rasa's (``events``) in the same database."""
    return not (type_ == "table" and reflected and compare_to is None)


def render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Revision files spell our column types in plain SQLAlchemy: they must not change when
    ``bot.core.db`` does (``UTCDateTime`` only converts values, its column is a timestamptz)."""
    from bot.core.db import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def context_options() -> dict[str, object]:
    """The options ``env.py`` gives Alembic's migration context (also used to compare schemas)."""
    return {
        "include_object": include_object,
        "render_item": render_item,
        "compare_type": True,
        # SQLite cannot alter most of a table: generated revisions use batch operations, which
        # rebuild the table there and are plain ALTER TABLE statements on PostgreSQL.
        "render_as_batch": True,
    }


@contextmanager
def _sqlite_write_lock(conn: Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` with foreign keys off, as SQLite's recipe for rebuilding a table asks
    (the pragma is ignored inside a transaction); they are checked before the commit instead."""
    from bot.core.db import SQLITE_BUSY_MS  # its env.py imports this module

    conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
    # A second process starting meanwhile waits for the first one's whole upgrade (tens of
    # seconds on a busy machine), not the ordinary 10 s a query waits for a writer.
    conn.exec_driver_sql(f"PRAGMA busy_timeout={MIGRATION_WAIT_MS}")
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise MigrationError(f"the migration breaks foreign keys: {broken[:5]}")
        conn.commit()
    finally:
        conn.rollback()  # nothing to undo after the commit
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        conn.commit()


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at (None: no ``alembic_version`` or no row in it)."""
    return MigrationContext.configure(conn).get_current_revision()


def database_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return current_revision(conn)


def head_revision(script_location: Path = MIGRATIONS_DIR) -> str:
    head = ScriptDirectory.from_config(alembic_config(script_location=script_location)).get_current_head()
    if head is None:
        raise MigrationError(f"no revisions in {script_location}")
    return head


def _made_before_migrations(conn: Connection) -> bool:
    from bot.core.db import metadata

    names = set(inspect(conn).get_table_names())
    return VERSION_TABLE not in names and bool(names & set(metadata.tables))


def upgrade(engine: Engine, revision: str = "head", *, script_location: Path = MIGRATIONS_DIR) -> str | None:
    """Upgrade the database to ``revision`` under the migration lock; returns the revision it is at."""
    with locked_connection(engine) as conn:
        if _made_before_migrations(conn):
            log.info("database made before migrations: adopting it at revision %s", BASELINE)
        command.upgrade(alembic_config(conn, script_location=script_location), revision)
        return current_revision(conn)


def schema_differences(conn: Connection) -> list[object]:
    """What autogenerate would change to make the database match ``metadata`` (empty: nothing)."""
    from bot.core.db import metadata

    return compare_metadata(MigrationContext.configure(conn, opts=context_options()), metadata)


def next_revision_id(script_location: Path = MIGRATIONS_DIR) -> str:
    """Revisions are numbered 0001, 0002, ... so the versions folder reads in order."""
    script = ScriptDirectory.from_config(alembic_config(script_location=script_location))
    numbers = [int(rev.revision) for rev in script.walk_revisions() if re.fullmatch(r"\d+", rev.revision)]
    return f"{max(numbers, default=0) + 1:04d}"


def make_migration(
    message: str,
    *,
    engine: Engine | None = None,
    autogenerate: bool = True,
    script_location: Path = MIGRATIONS_DIR,
) -> Path:
    """Write the next revision file; returns its path.

    With ``autogenerate`` the file holds the operations that take a database at the current head
    to ``bot.core.db.metadata`` (review them: renames look like drop + add). They are computed
    against ``engine``, by default a throw-away SQLite file upgraded to head first (batch
    operations are generated, which PostgreSQL runs as plain ALTERs). Without ``autogenerate``
    the file is empty, for a data migration.
    """
    if not message.strip():
        raise MigrationError("give the migration a message")
    if engine is None:
        from bot.core.db import create_db_engine

        with tempfile.TemporaryDirectory() as work:
            scratch = create_db_engine(f"sqlite:///{Path(work) / 'head.db'}")
            try:
                return make_migration(
                    message, engine=scratch, autogenerate=autogenerate, script_location=script_location
                )
            finally:
                scratch.dispose()
    upgrade(engine, script_location=script_location)
    with locked_connection(engine) as conn:
        if autogenerate and not schema_differences(conn):
            raise MigrationError("bot/core/db.py matches the newest revision: nothing to generate")
        script = command.revision(
            alembic_config(conn, script_location=script_location),
            message=message.strip(),
            autogenerate=autogenerate,
            rev_id=next_revision_id(script_location),
        )
    if script is None or isinstance(script, list):
        raise MigrationError("alembic wrote no single revision file")
    return Path(script.path)
