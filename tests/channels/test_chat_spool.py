"""The web chat while the database is away (a PostgreSQL restart): customers get the apology with a
200, never a 5xx, and every message that got a 200 is stored once the database is back. The
database is taken away by cutting a TCP proxy in front of PostgreSQL (the suite's server keeps
running); the spool itself is checked without a database."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.channels import chat_spool
from bot.channels.chat_spool import ChatSpool, SpooledMessage, drain_once
from bot.core.db import conversations, create_db_engine, init_schema, messages
from bot.core.settings import Settings
from bot.core.texts import text as customer_text
from bot.web.gateway import create_app
from testkit.fakes.http_server import FakeServer
from testkit.fakes.tcp_proxy import TcpProxy
from tests.helpers.channels import rasa_messages
from tests.helpers.database_away import behind_proxy

AWAY = OperationalError("SELECT 1", {}, Exception("connection refused"))


def spooled(text: str, sender: str = "web-1") -> dict[str, object]:
    return {
        "sender": sender,
        "text": text,
        "locale": "nl-BE",
        "metadata": {},
        "header_token": None,
        "cookie_token": None,
    }


# --- the spool ----------------------------------------------------------------------------------


def test_the_spool_gives_its_messages_in_order_and_each_to_one_worker(tmp_path: Path) -> None:
    spool = ChatSpool(tmp_path / "spool.db")
    for text in ("een", "twee", "drie"):
        assert spool.put(spooled(text))
    second = ChatSpool(tmp_path / "spool.db")  # another gateway process on the same machine
    mine, theirs = spool.claim(), second.claim()
    assert mine is not None and theirs is not None
    assert (mine.text, theirs.text) == ("een", "twee")  # never the row another works on
    second.give_back(theirs.id)
    spool.done(mine.id)
    stored: list[str] = []
    assert drain_once(spool, lambda row: stored.append(row.text)) == 2 and len(spool) == 0
    assert stored == ["twee", "drie"]


def test_draining_stops_while_the_database_is_away_and_drops_what_can_never_be_stored(
    tmp_path: Path,
) -> None:
    spool = ChatSpool(tmp_path / "spool.db")
    for text in ("weg", "fout", "goed"):
        spool.put(spooled(text))

    def away(row: SpooledMessage) -> None:
        raise AWAY

    assert drain_once(spool, away) == 0 and len(spool) == 3  # given back, in order
    stored: list[str] = []

    def back(row: SpooledMessage) -> None:
        if row.text == "fout":
            raise IntegrityError("INSERT", {}, Exception("refused"))
        stored.append(row.text)

    assert drain_once(spool, back) == 3 and stored == ["weg", "goed"] and len(spool) == 0


def test_a_claim_of_a_process_that_died_is_taken_again_after_the_lease(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = ChatSpool(tmp_path / "spool.db")
    spool.put(spooled("hallo"))
    assert spool.claim() is not None and spool.claim() is None  # claimed, then the process died
    monkeypatch.setattr(chat_spool, "CLAIM_LEASE_S", -1.0)
    again = spool.claim()
    assert again is not None and again.text == "hallo"


def test_a_full_spool_answers_503_not_a_lost_200(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chat_spool, "MAX_ROWS", 1)
    spool = ChatSpool(tmp_path / "spool.db")
    assert spool.put(spooled("een")) and not spool.put(spooled("twee"))


# --- the gateway with PostgreSQL away -----------------------------------------------------------


def in_database(url: str, sender_text: tuple[str, str]) -> bool:
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                select(messages.c.id)
                .join(conversations, conversations.c.id == messages.c.conversation_id)
                .where(conversations.c.sender == sender_text[0], messages.c.text == sender_text[1])
            ).first()
    finally:
        engine.dispose()
    return row is not None


def test_while_postgresql_is_away_customers_get_the_apology_and_nothing_is_lost(
    settings: Settings, rasa: FakeServer, actions: FakeServer
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only (DATABASE_URL=postgresql://...): a proxy takes it away")
    url = make_url(settings.database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    engine = create_db_engine(settings.database_url)
    init_schema(engine)
    engine.dispose()
    through_proxy = settings.with_overrides(
        database_url=str(url.set(port=proxy.port)), rasa_url=rasa.url, action_server_url=actions.url
    )
    try:
        with TestClient(create_app(through_proxy), raise_server_exceptions=False) as client:
            first = client.post("/api/chat", json={"sender": "web-away", "text": "hallo", "locale": "nl-BE"})
            assert first.status_code == 200
            token = {"X-Chat-Token": first.json()["token"]}
            proxy.cut()
            said = [
                client.post("/api/chat", json={"sender": "web-away", "text": t}, headers=token)
                for t in ("ben je daar?", "hallo??")
            ]
            stranger = client.post(
                "/api/chat", json={"sender": "web-new", "text": "bonjour", "locale": "fr-BE"}
            )
            for response in [*said, stranger]:
                assert response.status_code == 200, response.text
                assert response.json()["spooled"] is True
            assert said[0].json()["replies"] == [{"text": customer_text("rasa_unavailable", "nl")}]
            assert stranger.json()["replies"] == [{"text": customer_text("rasa_unavailable", "fr")}]
            proxy.restore()
            deadline = time.monotonic() + 30
            while not all(
                in_database(settings.database_url, st)
                for st in (("web-away", "ben je daar?"), ("web-away", "hallo??"), ("web-new", "bonjour"))
            ):
                assert time.monotonic() < deadline, "the spooled messages were not stored"
                time.sleep(0.2)
            again = client.post("/api/chat", json={"sender": "web-away", "text": "dank je"}, headers=token)
            assert again.status_code == 200 and "spooled" not in again.json()
            assert again.json()["conversation_id"] == first.json()["conversation_id"]
    finally:
        proxy.stop()


def test_a_message_cut_short_by_the_database_is_spooled_and_stored_once(
    settings: Settings, rasa: FakeServer, actions: FakeServer
) -> None:
    """The database goes away while Rasa answers a web chat message that was already stored: the
    customer gets the apology (200, spooled), and once the database is back the replay finds the
    stored message and answers it; the transcript has the message once."""
    with behind_proxy(settings) as (proxy, through):
        through = through.with_overrides(rasa_url=rasa.url, action_server_url=actions.url)
        with TestClient(create_app(through), raise_server_exceptions=False) as client:
            first = client.post("/api/chat", json={"sender": "web-cut", "text": "hallo", "locale": "nl-BE"})
            token = {"X-Chat-Token": first.json()["token"]}
            echo = rasa.state["reply"]  # type: ignore[attr-defined]

            def cut_while_answering(body: dict[str, object]) -> object:
                rasa.state["reply"] = echo  # type: ignore[attr-defined]
                proxy.cut()
                return echo(body)

            rasa.state["reply"] = cut_while_answering  # type: ignore[attr-defined]
            cut = client.post(
                "/api/chat", json={"sender": "web-cut", "text": "waar is mijn factuur"}, headers=token
            )
            assert cut.status_code == 200 and cut.json()["spooled"] is True
            assert cut.json()["replies"] == [{"text": customer_text("rasa_unavailable", "nl")}]
            proxy.restore()
            answer = "[nl] you said: waar is mijn factuur"
            deadline = time.monotonic() + 30
            while not in_database(settings.database_url, ("web-cut", answer)):
                assert time.monotonic() < deadline, "the spooled message was not answered"
                time.sleep(0.2)
            time.sleep(0.5)
    assert rasa_messages(rasa) == ["hallo", "waar is mijn factuur", "waar is mijn factuur"]
    engine = create_db_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(messages.c.direction, messages.c.text)
                .join(conversations, conversations.c.id == messages.c.conversation_id)
                .where(conversations.c.sender == "web-cut")
                .order_by(messages.c.id)
            ).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows][2:] == [("in", "waar is mijn factuur"), ("out", answer)]
