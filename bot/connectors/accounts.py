"""The customer's account (plan, usage, invoices, contract, orders), behind an interface the
operator replaces with its billing/CRM API.

Implement :class:`AccountProvider` (two methods) and name the class in ACCOUNT_PROVIDER
(``package.module:Class``; built with ``Class.from_settings(settings)`` when it has that class
method, else ``Class()``). ``demo`` reads ``bot/connectors/data/accounts_demo.json`` (fictional
customers, made by ``make_accounts.py`` in the same folder), the default only in a demo
(DEMO=true); ``none`` (the default otherwise) has no accounts, so personal questions get the
honest "the account system is not available" answer.

The actions never call a provider directly: :func:`account_service` wraps it so that every
call times out after ACCOUNT_TIMEOUT seconds and any failure becomes :class:`AccountUnavailable`,
which the actions turn into an honest answer (never an error, never a wrong figure).
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Protocol, TypeVar

from bot.connectors.plugins import load_class
from bot.core.settings import Settings

DEMO_FILE = Path(__file__).with_name("data") / "accounts_demo.json"
LINE_KINDS = ("bundle", "extra_data", "international_calls", "roaming", "premium_sms", "one_off")
T = TypeVar("T")


class AccountUnavailable(RuntimeError):
    """The account system did not answer (in time): say so, never guess."""


@dataclass(frozen=True)
class InvoiceLine:
    kind: str  # one of LINE_KINDS
    amount: Decimal
    detail: str = ""  # for one_off: sim_replacement | activation | reminder_fee | ...


@dataclass(frozen=True)
class Invoice:
    number: str
    issued_on: date
    due_on: date
    total: Decimal
    status: str  # paid | open (not yet due) | overdue
    paid_on: date | None
    lines: tuple[InvoiceLine, ...]


@dataclass(frozen=True)
class Usage:
    data_used_mb: int
    data_included_mb: int | None  # None: unlimited
    minutes_used: int
    minutes_included: int | None  # None: unlimited
    renews_on: date
    texts_sent: int = 0  # SMS this period
    texts_included: int | None = None  # None: unlimited


@dataclass(frozen=True)
class Prepaid:
    balance: Decimal
    last_topup_amount: Decimal
    last_topup_on: date


@dataclass(frozen=True)
class Contract:
    start: date
    end: date | None  # None: no minimum term (SIM only)
    early_termination_fee: Decimal


@dataclass(frozen=True)
class Order:
    kind: str  # sim | esim
    status: str  # ordered | shipped | delivered | qr_sent
    ordered_on: date
    expected_on: date | None
    tracking: str | None


@dataclass(frozen=True)
class Account:
    customer_id: str
    first_name: str
    last_name: str
    language: str  # nl | fr | en
    country: str  # BE | NL
    msisdn: str  # E.164
    kind: str  # prepaid | subscription
    plan: str
    monthly_price: Decimal | None
    usage: Usage
    prepaid: Prepaid | None = None
    contract: Contract | None = None
    invoices: tuple[Invoice, ...] = ()  # newest first
    orders: tuple[Order, ...] = field(default=())

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class AccountProvider(Protocol):
    """What an operator's account system offers the assistant."""

    def find_customer(self, identifier: str) -> str | None:
        """The customer id of a mobile number in E.164 (``+32470123456``) or of a customer
        number (``MC1000001``); None when it is not a customer's."""

    def account(self, customer_id: str) -> Account | None:
        """The customer's account, or None when there is no such customer."""


class DemoAccountProvider:
    """The fictional customers of ``accounts_demo.json``, their dates moved to ``today``."""

    def __init__(self, accounts: list[Account]) -> None:
        self._accounts = {a.customer_id: a for a in accounts}
        self._by_number = {a.msisdn: a.customer_id for a in accounts}

    @classmethod
    def from_file(cls, path: Path = DEMO_FILE, today: date | None = None) -> DemoAccountProvider:
        data = json.loads(path.read_text(encoding="utf-8"))
        shift = (today or date.today()) - date.fromisoformat(data["as_of"])
        return cls([_account(record, shift) for record in data["customers"]])

    def find_customer(self, identifier: str) -> str | None:
        if identifier in self._accounts:
            return identifier
        return self._by_number.get(identifier)

    def account(self, customer_id: str) -> Account | None:
        return self._accounts.get(customer_id)

    def customers(self) -> list[Account]:
        return list(self._accounts.values())


class NoAccountProvider:
    """No account system configured (ACCOUNT_PROVIDER=none)."""

    def find_customer(self, identifier: str) -> str | None:
        raise AccountUnavailable("no account system: set ACCOUNT_PROVIDER (see the README)")

    def account(self, customer_id: str) -> Account | None:
        raise AccountUnavailable("no account system: set ACCOUNT_PROVIDER (see the README)")


class _DaemonPool:
    """Runs calls on ``size`` daemon threads, started on first use.

    Not :class:`~concurrent.futures.ThreadPoolExecutor`: Python joins its threads when the
    interpreter exits, so one call hanging in the operator's code kept the action server from
    stopping on SIGTERM until the supervisor killed it. A daemon thread is simply dropped.
    """

    def __init__(self, size: int, name: str) -> None:
        self.size = size
        self.name = name
        self._work: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]]] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, call: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        self._work.put((future, call))
        with self._lock:
            if len(self._threads) < self.size:
                name = f"{self.name}-{len(self._threads)}"
                thread = threading.Thread(target=self._run, name=name, daemon=True)
                self._threads.append(thread)
                thread.start()
        return future

    def _run(self) -> None:
        while True:
            future, call = self._work.get()
            if not future.set_running_or_notify_cancel():
                continue  # given up while it waited for a thread
            try:
                future.set_result(call())
            except BaseException as exc:  # handed to whoever waits for it
                future.set_exception(exc)


class AccountService:
    """A provider's calls with a time limit; every failure is :class:`AccountUnavailable`.

    The provider's (blocking) calls run on ``max_workers`` threads of the service's own. The
    time limit counts from the request, so a call that waits for a thread gets no extra time.
    A call that overruns is abandoned, not stopped: its thread ends when the provider returns.
    Once ``max_pending`` calls are abandoned and still running, the service answers
    "unavailable" at once instead of piling up more work on a hung system. The ``*_async``
    methods are for the action server's event loop: they wait without blocking it, so other
    conversations are served meanwhile (bench/account_load.py).
    """

    def __init__(
        self, provider: AccountProvider, timeout_s: float, max_pending: int = 8, max_workers: int = 16
    ) -> None:
        self.provider = provider
        self.timeout_s = timeout_s
        self.max_pending = max_pending
        self._pool = _DaemonPool(max_workers, "accounts")
        self._lock = threading.Lock()
        self._abandoned = 0

    def find_customer(self, identifier: str) -> str | None:
        return self._call(lambda: self.provider.find_customer(identifier))

    def account(self, customer_id: str) -> Account | None:
        return self._call(lambda: self.provider.account(customer_id))

    async def find_customer_async(self, identifier: str) -> str | None:
        return await self._call_async(lambda: self.provider.find_customer(identifier))

    async def account_async(self, customer_id: str) -> Account | None:
        return await self._call_async(lambda: self.provider.account(customer_id))

    def _call(self, call: Callable[[], T]) -> T:
        future = self._submit(call)
        with self._answer_of(future):
            return future.result(timeout=self.timeout_s)

    async def _call_async(self, call: Callable[[], T]) -> T:
        future = self._submit(call)
        with self._answer_of(future):
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout_s)

    @contextmanager
    def _answer_of(self, future: Future[Any]) -> Iterator[None]:
        """Waiting for ``future`` (blocking or awaited): a time-out abandons it, and every
        failure of the operator's code is "unavailable"."""
        try:
            yield
        except (FutureTimeout, asyncio.TimeoutError) as exc:
            self._abandon(future)
            raise AccountUnavailable(f"no answer within {self.timeout_s:g} s") from exc
        except AccountUnavailable:
            raise
        except Exception as exc:  # the operator's code: any failure is "unavailable"
            raise AccountUnavailable(f"{type(exc).__name__}: {exc}") from exc

    def _submit(self, call: Callable[[], T]) -> Future[T]:
        with self._lock:
            if self._abandoned >= self.max_pending:
                raise AccountUnavailable("the account system is not answering")
        return self._pool.submit(call)

    def _abandon(self, future: Future[Any]) -> None:
        """An overrun call: one still waiting for a thread is dropped, a running one is counted
        until its thread returns."""
        if future.cancel():
            return
        with self._lock:
            self._abandoned += 1
        future.add_done_callback(self._returned)

    def _returned(self, _future: Future[Any]) -> None:
        with self._lock:
            self._abandoned -= 1


def account_service(settings: Settings) -> AccountService:
    """The configured provider (ACCOUNT_PROVIDER) behind the ACCOUNT_TIMEOUT guard; one per
    setting and process."""
    return _service(settings.account_provider, settings.account_timeout_s, settings)


@lru_cache(maxsize=4)
def _service(spec: str, timeout_s: float, settings: Settings) -> AccountService:
    return AccountService(_provider(spec, settings), timeout_s, max_workers=settings.account_threads)


@lru_cache(maxsize=1)
def demo_provider() -> DemoAccountProvider:
    return DemoAccountProvider.from_file()


def _provider(spec: str, settings: Settings) -> Any:
    if spec == "demo":
        return demo_provider()
    if spec == "none":
        return NoAccountProvider()
    return load_class(spec, "ACCOUNT_PROVIDER", settings)


def _day(raw: str, shift: timedelta) -> date:
    return date.fromisoformat(raw) + shift


def _maybe_day(raw: str | None, shift: timedelta) -> date | None:
    return _day(raw, shift) if raw else None


def _account(record: dict[str, Any], shift: timedelta) -> Account:
    usage, prepaid, contract = record["usage"], record.get("prepaid"), record.get("contract")
    return Account(
        customer_id=record["customer_id"],
        first_name=record["first_name"],
        last_name=record["last_name"],
        language=record["language"],
        country=record["country"],
        msisdn=record["msisdn"],
        kind=record["kind"],
        plan=record["plan"],
        monthly_price=Decimal(record["monthly_price"]) if record.get("monthly_price") else None,
        usage=Usage(
            data_used_mb=int(usage["data_used_mb"]),
            data_included_mb=usage.get("data_included_mb"),
            minutes_used=int(usage["minutes_used"]),
            minutes_included=usage.get("minutes_included"),
            renews_on=_day(usage["renews_on"], shift),
            texts_sent=int(usage.get("texts_sent", 0)),
            texts_included=usage.get("texts_included"),
        ),
        prepaid=Prepaid(
            balance=Decimal(prepaid["balance"]),
            last_topup_amount=Decimal(prepaid["last_topup_amount"]),
            last_topup_on=_day(prepaid["last_topup_on"], shift),
        )
        if prepaid
        else None,
        contract=Contract(
            start=_day(contract["start"], shift),
            end=_maybe_day(contract.get("end"), shift),
            early_termination_fee=Decimal(contract["early_termination_fee"]),
        )
        if contract
        else None,
        invoices=tuple(_invoice(i, shift) for i in record.get("invoices") or []),
        orders=tuple(_order(o, shift) for o in record.get("orders") or []),
    )


def _invoice(record: dict[str, Any], shift: timedelta) -> Invoice:
    return Invoice(
        number=record["number"],
        issued_on=_day(record["issued_on"], shift),
        due_on=_day(record["due_on"], shift),
        total=Decimal(record["total"]),
        status=record["status"],
        paid_on=_maybe_day(record.get("paid_on"), shift),
        lines=tuple(
            InvoiceLine(li["kind"], Decimal(li["amount"]), li.get("detail") or "") for li in record["lines"]
        ),
    )


def _order(record: dict[str, Any], shift: timedelta) -> Order:
    return Order(
        kind=record["kind"],
        status=record["status"],
        ordered_on=_day(record["ordered_on"], shift),
        expected_on=_maybe_day(record.get("expected_on"), shift),
        tracking=record.get("tracking"),
    )
