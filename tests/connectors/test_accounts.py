"""The account connector (bot/connectors/accounts.py): demo data, the provider setting, and the
guard that turns a slow or broken account system into AccountUnavailable."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal

import phonenumbers
import pytest

from bot.connectors.accounts import (
    DEMO_FILE,
    LINE_KINDS,
    AccountService,
    AccountUnavailable,
    DemoAccountProvider,
    NoAccountProvider,
    account_service,
)
from bot.connectors.data import make_accounts
from bot.core.settings import Settings, SettingsError
from testkit.fakes.accounts import FailingAccountProvider, SlowAccountProvider

AS_OF = date.fromisoformat(json.loads(DEMO_FILE.read_text(encoding="utf-8"))["as_of"])


@pytest.fixture(scope="module")
def demo() -> DemoAccountProvider:
    return DemoAccountProvider.from_file(today=AS_OF)


def test_the_committed_demo_file_is_what_the_script_makes() -> None:
    assert json.loads(DEMO_FILE.read_text(encoding="utf-8")) == make_accounts.build()


def test_demo_customers_cover_what_the_answers_need(demo: DemoAccountProvider) -> None:
    customers = demo.customers()
    assert len(customers) >= 40
    assert set(Counter(c.language for c in customers)) == {"nl", "fr", "en"}
    assert {c.kind for c in customers} == {"prepaid", "subscription"}
    assert len({c.msisdn for c in customers}) == len(customers)
    for customer in customers:
        number = phonenumbers.parse(customer.msisdn)
        assert phonenumbers.is_valid_number(number)
        assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
        assert customer.msisdn.startswith(("+324", "+316"))
        assert (customer.country == "NL") == customer.msisdn.startswith("+31")
    subscriptions = [c for c in customers if c.kind == "subscription"]
    assert all(len(c.invoices) == 3 and c.contract for c in subscriptions)
    assert all(c.prepaid and not c.invoices for c in customers if c.kind == "prepaid")
    kinds = {line.kind for c in subscriptions for invoice in c.invoices for line in invoice.lines}
    assert kinds == set(LINE_KINDS)
    assert {i.status for c in subscriptions for i in c.invoices[:1]} == {"paid", "open", "overdue"}
    assert any(c.contract.end and c.contract.early_termination_fee > 0 for c in subscriptions)  # type: ignore[union-attr]
    assert {o.kind for c in customers for o in c.orders} == {"sim", "esim"}


def test_invoices_add_up_and_are_consistent(demo: DemoAccountProvider) -> None:
    for customer in demo.customers():
        for invoice in customer.invoices:
            assert invoice.total == sum((line.amount for line in invoice.lines), Decimal(0))
            assert invoice.issued_on < AS_OF and invoice.due_on == invoice.issued_on + timedelta(days=15)
            assert (invoice.paid_on is not None) == (invoice.status == "paid")
            if invoice.status == "overdue":
                assert invoice.due_on < AS_OF
        dates = [i.issued_on for i in customer.invoices]
        assert dates == sorted(dates, reverse=True)


def test_customers_are_found_by_number_or_customer_number(demo: DemoAccountProvider) -> None:
    assert demo.find_customer("+32470123456") == "MC1000001"
    assert demo.find_customer("MC1000004") == "MC1000004"
    assert demo.find_customer("+32470000000") is None
    jan = demo.account("MC1000001")
    assert jan is not None and jan.name == "Jan Peeters" and jan.language == "nl"
    assert [line.kind for line in jan.invoices[0].lines] == ["bundle", "roaming", "premium_sms"]
    assert jan.invoices[0].total > jan.invoices[1].total
    assert demo.account("MC9999999") is None


def test_demo_dates_move_with_today() -> None:
    later = DemoAccountProvider.from_file(today=AS_OF + timedelta(days=100)).account("MC1000001")
    now = DemoAccountProvider.from_file(today=AS_OF).account("MC1000001")
    assert later.invoices[0].issued_on == now.invoices[0].issued_on + timedelta(days=100)  # type: ignore[union-attr]
    assert later.usage.renews_on == now.usage.renews_on + timedelta(days=100)  # type: ignore[union-attr]


def test_a_failing_account_system_is_unavailable() -> None:
    broken = FailingAccountProvider()
    service = AccountService(broken, timeout_s=1.0)
    with pytest.raises(AccountUnavailable, match="connection refused"):
        service.find_customer("+32470123456")
    with pytest.raises(AccountUnavailable):
        service.account("MC1000001")
    assert broken.calls == 2


def test_a_slow_account_system_times_out_and_does_not_pile_up() -> None:
    slow = SlowAccountProvider(delay_s=None)  # hangs until released
    service = AccountService(slow, timeout_s=0.2, max_pending=2)
    try:
        for _ in range(2):
            started = time.perf_counter()
            with pytest.raises(AccountUnavailable, match="no answer within 0.2 s"):
                service.account("MC1000001")
            assert time.perf_counter() - started < 1.0
        started = time.perf_counter()
        with pytest.raises(AccountUnavailable, match="not answering"):  # no thread left: at once
            service.account("MC1000001")
        assert time.perf_counter() - started < 0.1
        assert slow.calls == 2
    finally:
        slow.release()
    time.sleep(0.1)
    assert service.account("MC1000001").first_name == "Jan"  # type: ignore[union-attr]


def test_waiting_for_a_hung_account_system_does_not_hold_the_event_loop() -> None:
    """The action server's loop keeps serving other conversations while calls wait (here: a
    ticker that should tick every 10 ms), and every call is answered within the time limit."""
    slow = SlowAccountProvider(delay_s=None)
    service = AccountService(slow, timeout_s=0.3, max_pending=4)

    async def scenario() -> tuple[list[object], float, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticking = asyncio.create_task(ticker())
        started = time.perf_counter()
        calls = [service.account_async("MC1000001") for _ in range(10)]
        results = await asyncio.gather(*calls, return_exceptions=True)
        elapsed = time.perf_counter() - started
        ticking.cancel()
        return results, elapsed, ticks

    try:
        results, elapsed, ticks = asyncio.run(scenario())
        assert all(isinstance(r, AccountUnavailable) for r in results)
        assert elapsed < 0.8  # all ten at once: one time limit, not ten
        assert ticks >= 10  # the loop ran meanwhile
        started = time.perf_counter()
        with pytest.raises(AccountUnavailable, match="not answering"):  # 10 abandoned >= 4: at once
            asyncio.run(service.account_async("MC1000001"))
        assert time.perf_counter() - started < 0.1
    finally:
        slow.release()


def test_a_busy_but_working_account_system_answers_everyone() -> None:
    """More calls at once than calls allowed to hang: a working system still answers them all
    (only overrun calls count against max_pending), both from threads and from the loop."""
    slow = SlowAccountProvider(delay_s=0.1)
    service = AccountService(slow, timeout_s=2.0, max_pending=2, max_workers=8)

    async def at_once() -> list[object]:
        return await asyncio.gather(*(service.account_async("MC1000001") for _ in range(20)))

    answers = asyncio.run(at_once())
    with ThreadPoolExecutor(max_workers=20) as threads:
        answers += list(threads.map(lambda _i: service.account("MC1000002"), range(20)))
    assert [a.customer_id for a in answers] == ["MC1000001"] * 20 + ["MC1000002"] * 20  # type: ignore[attr-defined]
    assert slow.calls == 40


def test_a_call_still_waiting_for_a_thread_is_dropped_at_its_time_limit() -> None:
    """Queued behind a hung call, it never reaches the provider and is not counted as hanging."""
    slow = SlowAccountProvider(delay_s=None)
    service = AccountService(slow, timeout_s=0.2, max_pending=2, max_workers=1)
    try:
        with ThreadPoolExecutor(max_workers=2) as threads:
            outcomes = list(threads.map(_outcome(service), range(2)))
        assert outcomes == ["no answer within 0.2 s"] * 2
        assert slow.calls == 1  # the second never ran
        with pytest.raises(AccountUnavailable, match="no answer"):  # 1 abandoned < 2: tried again
            service.account("MC1000001")
    finally:
        slow.release()


def _outcome(service: AccountService) -> Callable[[int], str]:
    def call(_i: int) -> str:
        try:
            service.account("MC1000001")
        except AccountUnavailable as exc:
            return str(exc)
        return "answered"

    return call


def settings(**env: str) -> Settings:
    return Settings.from_env(env)


def test_the_provider_is_a_setting() -> None:
    assert settings().account_provider == "none"
    assert settings(DEMO="true").account_provider == "demo"
    assert settings(ACCOUNT_PROVIDER="demo").account_provider == "demo"
    assert settings(DEMO="true", ACCOUNT_PROVIDER="none").account_provider == "none"
    assert settings(ACCOUNT_PROVIDER="acme.billing:Accounts").account_provider == "acme.billing:Accounts"
    with pytest.raises(SettingsError):
        settings(ACCOUNT_PROVIDER="http://billing")
    assert settings().account_timeout_s == 3.0
    assert settings(ACCOUNT_TIMEOUT="0.5").account_timeout_s == 0.5


def test_account_service_builds_the_configured_provider() -> None:
    assert isinstance(account_service(settings(ACCOUNT_PROVIDER="demo")).provider, DemoAccountProvider)
    none = account_service(settings())
    assert isinstance(none.provider, NoAccountProvider)
    with pytest.raises(AccountUnavailable):
        none.find_customer("+32470123456")
    own = account_service(settings(ACCOUNT_PROVIDER="testkit.fakes.accounts:FailingAccountProvider"))
    assert isinstance(own.provider, FailingAccountProvider)
    with pytest.raises(SettingsError, match="cannot be loaded"):
        account_service(settings(ACCOUNT_PROVIDER="nowhere.at.all:Accounts"))


def test_how_many_account_calls_run_at_once_is_a_setting() -> None:
    """ACCOUNT_THREADS: the operator sizes the pool to what its account API can take."""
    assert account_service(settings(ACCOUNT_PROVIDER="demo"))._pool.size == 16
    assert account_service(settings(ACCOUNT_PROVIDER="demo", ACCOUNT_THREADS="4"))._pool.size == 4


HANGS_THEN_EXITS = """
from bot.connectors.accounts import AccountService, AccountUnavailable
from testkit.fakes.accounts import SlowAccountProvider

service = AccountService(SlowAccountProvider(delay_s=None), timeout_s=0.2)
try:
    service.account("MC1000001")
except AccountUnavailable as exc:
    print("unavailable:", exc, flush=True)
"""


def test_a_hung_account_call_does_not_keep_the_process_from_exiting() -> None:
    """The action server stops on SIGTERM even while the operator's system hangs: the abandoned
    call's thread does not hold up the interpreter's exit (it did with ThreadPoolExecutor,
    until the supervisor killed the process)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", HANGS_THEN_EXITS], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "unavailable: no answer within 0.2 s"
