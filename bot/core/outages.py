"""Current network outages, read from the ``outages`` table of the assistant's database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Engine

from bot.core.db import outages, utcnow


@dataclass(frozen=True)
class Outage:
    region: str
    services: str
    started_at: datetime
    expected_fix_at: datetime | None


class OutageRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def active(self, regions: list[str] | None = None, now: datetime | None = None) -> list[Outage]:
        """Unresolved outages that have started; limited to ``regions`` (any case) plus national ones."""
        now = now or utcnow()
        query = select(outages).where(outages.c.resolved_at.is_(None), outages.c.started_at <= now)
        if regions is not None:
            keys = [r.lower() for r in regions] + ["*"]
            query = query.where(func.lower(outages.c.region).in_(keys))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(outages.c.started_at)).all()
        return [Outage(r.region, r.services, r.started_at, r.expected_fix_at) for r in rows]

    def add(
        self,
        region: str,
        services: str,
        started_at: datetime,
        expected_fix_at: datetime | None = None,
    ) -> None:
        """Record an ongoing outage (``region``: a place key, a province or ``*``)."""
        with self.engine.begin() as conn:
            conn.execute(
                insert(outages).values(
                    region=region,
                    services=services,
                    started_at=started_at,
                    expected_fix_at=expected_fix_at,
                    resolved_at=None,
                )
            )

    def open_outages(self) -> list[dict[str, object]]:
        """Unresolved outages with their ids, for the admin screen."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(outages).where(outages.c.resolved_at.is_(None)).order_by(outages.c.started_at)
            ).all()
        return [
            {
                "id": r.id,
                "region": r.region,
                "services": r.services,
                "started_at": r.started_at.isoformat(),
                "expected_fix_at": r.expected_fix_at.isoformat() if r.expected_fix_at else None,
            }
            for r in rows
        ]

    def resolve(self, outage_id: int, now: datetime | None = None) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                update(outages)
                .where(outages.c.id == outage_id, outages.c.resolved_at.is_(None))
                .values(resolved_at=now or utcnow())
            )
        return result.rowcount == 1
