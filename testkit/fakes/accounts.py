"""Account providers for tests: one that fails, one that is slow (bot/connectors/accounts.py).

Both wrap a real provider (by default the demo data) so a test can switch a working account
system into a broken one, and count the calls that reached it. A process started with
``ACCOUNT_PROVIDER=testkit.fakes.accounts:SlowAccountProvider`` gets the slow one with the delay
of ``FAKE_ACCOUNT_DELAY`` (seconds, or ``hang``; bench/account_load.py).
"""

from __future__ import annotations

import os
import threading

from bot.connectors.accounts import Account, AccountProvider, DemoAccountProvider


class FailingAccountProvider:
    """Every call fails the way a broken API client does (a connection error)."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error or ConnectionError("account API: connection refused")
        self.calls = 0

    def find_customer(self, identifier: str) -> str | None:
        self.calls += 1
        raise self.error

    def account(self, customer_id: str) -> Account | None:
        self.calls += 1
        raise self.error


class SlowAccountProvider:
    """Answers like ``inner`` after ``delay_s`` seconds (or never, until ``release()``)."""

    def __init__(self, inner: AccountProvider | None = None, delay_s: float | None = 5.0) -> None:
        self.inner = inner or DemoAccountProvider.from_file()
        self.delay_s = delay_s
        self.calls = 0
        self._released = threading.Event()

    @classmethod
    def from_settings(cls, _settings: object) -> SlowAccountProvider:
        """Built by ACCOUNT_PROVIDER: the delay from FAKE_ACCOUNT_DELAY (default 5 s)."""
        raw = os.environ.get("FAKE_ACCOUNT_DELAY", "5").strip().lower()
        return cls(delay_s=None if raw == "hang" else float(raw))

    def release(self) -> None:
        """Let every waiting and later call through at once."""
        self._released.set()

    def _wait(self) -> None:
        self.calls += 1
        if self.delay_s is None:
            self._released.wait()
        else:
            self._released.wait(self.delay_s)

    def find_customer(self, identifier: str) -> str | None:
        self._wait()
        return self.inner.find_customer(identifier)

    def account(self, customer_id: str) -> Account | None:
        self._wait()
        return self.inner.account(customer_id)
