"""Privacy operations (GDPR) in one service, :class:`Privacy`, made of:

* retention per kind of personal data (``RETENTION_*_DAYS``), run by the gateway every
  ``RETENTION_INTERVAL``: handoff/retention.py;
* one customer's export and erasure, here and in Rasa's tracker store: handoff/customer_data.py;
* the audit log of who touched personal data (``audit_log`` in bot/core/db.py), which both write
  and the console reads into: handoff/audit.py;
* what they share (Rasa's ``events`` table, the tables referring to conversations, batched
  deletes, :class:`PrivacyError` and :class:`TrackerUnavailable`): handoff/privacy_base.py.
"""

from __future__ import annotations

from handoff.customer_data import CustomerData
from handoff.privacy_base import PrivacyError, TrackerUnavailable
from handoff.retention import Retention

__all__ = ["Privacy", "PrivacyError", "TrackerUnavailable"]


class Privacy(Retention, CustomerData):
    """Retention, export and erasure over our database (``engine``) and Rasa's tracker store.

    ``tracker_engine`` is an engine on ``RASA_TRACKER_URL`` (``bot.insights.open_tracker_engine``);
    None, a SQLite file Rasa has not created yet, or a database without Rasa's ``events`` table
    all mean there are no tracker events.
    """
