"""The insights object: the ingest, grouping and surge parts on one database and tracker store."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.core.settings import PROJECT_ROOT, Settings
from bot.insights.grouping import GroupingMixin
from bot.insights.ingest import IngestMixin
from bot.insights.model import Alert
from bot.insights.surges import SurgesMixin


class Insights(IngestMixin, GroupingMixin, SurgesMixin):
    """Unhandled messages, topic trends and surge alerts, on our database and Rasa's tracker store.

    ``tracker_engine`` defaults to :func:`open_tracker_engine` on ``settings.rasa_tracker_url``
    (opened on the first sync, disposed by :meth:`close`). Methods are blocking: call them from a
    thread pool in async code. ``sync`` may run in several threads and processes at once.
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        tracker_engine: Engine | None = None,
        *,
        project_root: Path = PROJECT_ROOT,
        notify: Callable[[Alert], None] | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.tracker_engine = tracker_engine
        self._owns_tracker_engine = False
        self.project_root = Path(project_root)
        self.notify = notify
        self._sync_lock = threading.Lock()
        self._skipped: set[int] = set()  # tracker events below the cursor that hold no message

    def close(self) -> None:
        """Dispose the tracker engine if this object opened it."""
        if self._owns_tracker_engine and self.tracker_engine is not None:
            self.tracker_engine.dispose()
            self.tracker_engine = None
            self._owns_tracker_engine = False
