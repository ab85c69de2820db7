"""Text messages to customers (verification codes), behind an interface the operator replaces
with its SMS gateway.

Implement :class:`SmsSender` (one method, ``send``) and name the class in SMS_PROVIDER
(``package.module:Class``, built like the account provider: ``from_settings(settings)`` or
``Class()``). ``demo`` (the default only in a demo, DEMO=true) sends nothing: it appends each
message as one JSON line to ``$VAR_DIR/sms_outbox.jsonl`` (``var/sms_outbox.jsonl`` by default),
where the developer reads the code (``tail -n1 var/sms_outbox.jsonl``). ``none`` (the default
otherwise) has no gateway: a code cannot be sent and the customer is told to try later.

:class:`SmsOutbox` sends in the background, so an answer takes as long whether or not a
message went out: the chat cannot tell a customer's number from another one by its timing.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Protocol

from bot.connectors.plugins import load_class
from bot.core.settings import Settings

log = logging.getLogger(__name__)
OUTBOX_NAME = "sms_outbox.jsonl"


class SmsUnavailable(RuntimeError):
    """The message could not be handed to the gateway."""


class SmsSender(Protocol):
    def send(self, to: str, text: str) -> None:
        """Send ``text`` to the mobile number ``to`` (E.164); raise :class:`SmsUnavailable` on failure."""


class DemoSmsSender:
    """Writes messages to an outbox file instead of sending them (one JSON object a line)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> DemoSmsSender:
        return cls(settings.var_dir / OUTBOX_NAME)

    def send(self, to: str, text: str) -> None:
        line = {"at": datetime.now(timezone.utc).isoformat(), "to": to, "text": text}
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(line, ensure_ascii=False) + "\n")
        except OSError as exc:
            raise SmsUnavailable(f"cannot write the demo outbox: {exc}") from exc

    def messages(self) -> list[dict[str, Any]]:
        """Every message written so far, oldest first."""
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]


class NoSmsSender:
    """No SMS gateway configured (SMS_PROVIDER=none)."""

    def send(self, to: str, text: str) -> None:
        raise SmsUnavailable("no SMS gateway: set SMS_PROVIDER (see the README)")


class SmsOutbox:
    """Hands messages to a sender on a background thread; failures are logged, not raised."""

    def __init__(self, sender: SmsSender, workers: int = 2) -> None:
        self.sender = sender
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sms")

    def send_later(self, to: str | Callable[[], str | None], text: str) -> Future[None]:
        """Send ``text`` in the background; ``to`` may be a function that finds the number there
        (the number on file for a customer number: the lookup then costs the chat no time)."""
        future = self._pool.submit(self._send, to, text)
        future.add_done_callback(_log_failure)
        return future

    def _send(self, to: str | Callable[[], str | None], text: str) -> None:
        number = to() if callable(to) else to
        if number:
            self.sender.send(number, text)


def _log_failure(future: Future[None]) -> None:
    error = future.exception()
    if error is not None:  # the number is not logged: the log filter would mask it anyway
        log.warning("a verification text could not be sent: %s", error)


def sms_sender(settings: Settings) -> SmsSender:
    """The sender SMS_PROVIDER names: ``demo``, ``none`` or ``package.module:Class``."""
    return _sender(settings.sms_provider, settings)


@lru_cache(maxsize=4)
def _sender(spec: str, settings: Settings) -> Any:
    if spec == "demo":
        return DemoSmsSender.from_settings(settings)
    if spec == "none":
        return NoSmsSender()
    return load_class(spec, "SMS_PROVIDER", settings)


@lru_cache(maxsize=4)
def sms_outbox(settings: Settings) -> SmsOutbox:
    """One background outbox per settings and process."""
    return SmsOutbox(sms_sender(settings))
