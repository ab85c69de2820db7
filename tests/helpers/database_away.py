"""PostgreSQL taken away from a gateway while the suite's server keeps running: the gateway reaches
it through a TCP proxy (testkit/fakes/tcp_proxy.py) that the test cuts (as a restart does) and
restores. Tests that use it skip on SQLite, as tests/channels/test_chat_spool.py does."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy.engine import make_url

from bot.core.db import create_db_engine, init_schema
from bot.core.settings import Settings
from testkit.fakes.tcp_proxy import TcpProxy

SKIP_REASON = "PostgreSQL only (DATABASE_URL=postgresql://...): a proxy takes it away"


@contextmanager
def behind_proxy(settings: Settings) -> Iterator[tuple[TcpProxy, Settings]]:
    """The proxy, and ``settings`` whose database is reached through it (its schema made first)."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip(SKIP_REASON)
    url = make_url(settings.database_url)
    engine = create_db_engine(settings.database_url)
    init_schema(engine)
    engine.dispose()
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    try:
        yield proxy, settings.with_overrides(database_url=str(url.set(port=proxy.port)))
    finally:
        proxy.stop()
