"""SMS senders for tests (bot/connectors/sms.py): one that records, one that fails."""

from __future__ import annotations

import re
import threading
import time
from typing import Callable

from bot.connectors.sms import SmsUnavailable


class RecordingSmsSender:
    """Keeps every message instead of sending it; ``code_for(number)`` reads the last code."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self.delivered = threading.Event()

    def send(self, to: str, text: str) -> None:
        with self._lock:
            self.sent.append((to, text))
        self.delivered.set()

    def code_for(self, number: str) -> str | None:
        """The 6-digit code in the last message to ``number``, if any."""
        with self._lock:
            texts = [text for to, text in self.sent if to == number]
        found = re.search(r"\b(\d{6})\b", texts[-1]) if texts else None
        return found.group(1) if found else None


class FailingSmsSender:
    def __init__(self) -> None:
        self.calls = 0

    def send(self, to: str, text: str) -> None:
        self.calls += 1
        raise SmsUnavailable("SMS gateway: 503 Service Unavailable")


class InlineOutbox:
    """An outbox that sends at once, in the caller's thread (bot.connectors.sms.SmsOutbox sends in
    the background): tests see the message as soon as the action returns."""

    def __init__(self, sender: RecordingSmsSender | FailingSmsSender | None = None) -> None:
        self.sender = sender or RecordingSmsSender()

    def send_later(self, to: str | Callable[[], str | None], text: str) -> None:
        number = to() if callable(to) else to
        if number:
            self.sender.send(number, text)


class SlowSmsSender(RecordingSmsSender):
    """Records like RecordingSmsSender, after ``delay_s`` seconds (a gateway that takes its time)."""

    def __init__(self, delay_s: float = 0.5) -> None:
        super().__init__()
        self.delay_s = delay_s

    def send(self, to: str, text: str) -> None:
        time.sleep(self.delay_s)
        super().send(to, text)
