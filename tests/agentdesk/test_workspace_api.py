"""The agents' workspace over HTTP, on a real database: the console's language, the queue's search,
filters, sort and paging, the closed chats, internal notes (never the customer's) and wrap-up
codes on close; the pages' texts and scripts."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from bot.agentdesk.console_texts import console_texts
from bot.core.db import conversation_notes, messages, utcnow, verified_identities
from bot.core.rules import default_rules
from handoff.agents import AgentDirectory
from handoff.workspace import WRAP_UPS
from tests.helpers.console import AgentApi, error_code, log_in, queue_chat


def offered(agent: AgentApi, **params: str) -> list[str]:
    return [e["conversation_id"] for e in agent.ok(agent.get("queue", **params))["offered"]]


# --- the console's language -----------------------------------------------------------------


def test_an_agent_chooses_the_console_language_and_keeps_it_across_log_ins(
    desk_client: TestClient, desk_agent: Callable[..., AgentApi]
) -> None:
    ann = desk_agent("ann", online=False)
    assert ann.ok(ann.get("me"))["ui_language"] is None  # the browser's language, by default
    chosen = ann.ok(ann.post("preferences", {"ui_language": "fr"}))
    assert chosen["ui_language"] == "fr" and chosen["username"] == "ann"
    again = log_in(desk_client, "ann")
    assert again.ok(again.get("me"))["ui_language"] == "fr"
    for wrong in ("de", "FR ", 3, ["fr"]):
        refused = ann.post("preferences", {"ui_language": wrong})
        assert refused.status_code == 422 and error_code(refused) == "invalid_language"
    no_csrf = desk_client.post("/agent/api/preferences", json={"ui_language": "nl"}, headers=ann.cookie)
    assert no_csrf.status_code == 403 and error_code(no_csrf) == "csrf"
    assert ann.ok(ann.post("preferences", {"ui_language": None}))["ui_language"] is None
    assert desk_client.post("/agent/api/preferences", json={"ui_language": "nl"}).status_code == 401


def test_the_pages_get_every_text_in_three_languages_and_the_team_time_zone(desk_client: TestClient) -> None:
    response = desk_client.get("/agent/texts.js")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/javascript")
    texts_line, setup_line = response.text.strip().splitlines()
    texts = json.loads(texts_line.removeprefix("window.CONSOLE_TEXTS = ").removesuffix(";"))
    setup = json.loads(setup_line.removeprefix("window.CONSOLE_SETUP = ").removesuffix(";"))
    assert texts == console_texts()
    assert texts["reason_request_human"] == {
        "nl": "Vraagt een medewerker",
        "fr": "Demande un conseiller",
        "en": "Asked for a person",
    }
    assert setup["time_zone"] == "Europe/Brussels" and setup["languages"] == ["nl", "fr", "en"]
    assert set(setup["reasons"]) == set(default_rules()) and setup["wrap_ups"] == list(WRAP_UPS)
    assert setup["priorities"] == ["urgent", "high", "normal"]


def test_the_page_scripts_are_served_by_name_only(desk_client: TestClient) -> None:
    script = desk_client.get("/agent/js/console-app.js")
    assert script.status_code == 200 and "function showApp" in script.text
    assert script.headers["content-type"].startswith("text/javascript")
    for wrong in ("nothing", "..%2Fconsole_api", "Console-App", "console_texts"):
        assert desk_client.get(f"/agent/js/{wrong}.js").status_code == 404
    for page in ("/agent/", "/agent/insights"):
        sources = re.findall(r'<script src="([^"]+)"', desk_client.get(page).text)
        assert "/agent/texts.js" in sources and "/agent/js/i18n.js" in sources
        for src in sources:
            assert desk_client.get(src).status_code == 200, src


# --- queue: search, filters, sort, paging ---------------------------------------------------


def test_the_queue_is_searched_by_text_customer_and_details(
    engine: Engine, desk_agent: Callable[..., AgentApi]
) -> None:
    ann = desk_agent("ann", ("nl", "fr"))
    bill = queue_chat(engine, "Mijn factuur van maart is veel te hoog", summary="factuur betwist")
    roaming = queue_chat(engine, "Je paie des frais d'itinérance en Espagne", language="fr", sender="tg-4471")
    sim = queue_chat(engine, "Mijn simkaart 100% kapot_", minutes_ago=3)
    with engine.begin() as conn:
        conn.execute(
            insert(verified_identities).values(
                channel="web",
                sender=sim,
                customer_id="C-2047",
                conversation_id=sim,
                method="sms_code",
                verified_at=utcnow(),
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
    assert set(offered(ann)) == {bill, roaming, sim}
    assert offered(ann, q="FACTUUR") == [bill]  # any case, in what the customer said
    assert offered(ann, q="  ITINÉRANCE ") == [roaming]
    assert offered(ann, q="betwist") == [bill]  # the summary
    assert offered(ann, q="tg-44") == [roaming]  # the customer's id on the channel
    assert offered(ann, q="c-2047") == [sim]  # the customer number they proved
    assert offered(ann, q=sim[:8]) == [sim]  # the start of the conversation id
    assert offered(ann, q="100%") == [sim] and offered(ann, q="t_") == [sim]  # no wildcards
    assert offered(ann, q="%") == [sim]
    assert offered(ann, q="nobody said this") == []
    view = ann.ok(ann.get("queue", q="factuur"))
    assert (view["offered_total"], view["waiting_total"], view["waiting_my_languages"]) == (1, 3, 3)
    assert view["query"]["text"] == "factuur"


def test_the_queue_is_filtered_sorted_and_paged(engine: Engine, desk_agent: Callable[..., AgentApi]) -> None:
    ann = desk_agent("ann", ("nl", "fr"))
    old_fraud = queue_chat(engine, "fraude", reason="fraud", minutes_ago=50)
    telegram = queue_chat(engine, "opzeggen", reason="cancellation", channel="telegram", minutes_ago=20)
    french = queue_chat(engine, "une personne svp", language="fr", minutes_ago=10)
    fresh = queue_chat(engine, "een mens", minutes_ago=1)
    queue_chat(engine, "english please", language="en", minutes_ago=5)  # not in ann's languages

    assert offered(ann) == [old_fraud, telegram, french, fresh]  # most urgent, then longest waiting
    assert offered(ann, sort="newest") == [fresh, french, telegram, old_fraud]
    assert offered(ann, sort="oldest") == [old_fraud, telegram, french, fresh]
    assert offered(ann, language="fr") == [french]
    assert offered(ann, language="en") == []  # another language stays another agent's
    assert offered(ann, reason="cancellation") == [telegram]
    assert offered(ann, priority="urgent") == [old_fraud]
    assert offered(ann, channel="telegram") == [telegram]
    assert offered(ann, min_wait="15") == [old_fraud, telegram]
    assert offered(ann, min_wait="15", sort="newest", language="nl") == [telegram, old_fraud]

    first = ann.ok(ann.get("queue", limit="3"))
    assert [e["conversation_id"] for e in first["offered"]] == [old_fraud, telegram, french]
    assert first["offered_total"] == 4 and first["waiting_other_languages"] == 1
    second = ann.ok(ann.get("queue", limit="3", offset="3"))
    assert [e["conversation_id"] for e in second["offered"]] == [fresh]
    assert offered(ann, offset="10") == []

    for params in (
        {"sort": "random"},
        {"language": "de"},
        {"priority": "low"},
        {"min_wait": "-1"},
        {"limit": "0"},
        {"limit": "101"},
        {"offset": "x"},
        {"q": "x" * 101},
        {"reason": "a b"},
        {"min_wait": "9" * 40},
    ):
        refused = ann.get("queue", **params)
        assert refused.status_code == 422 and error_code(refused) == "invalid_filter", params


def test_an_agent_who_is_not_online_is_told_how_many_wait_in_their_languages(
    engine: Engine, desk_agent: Callable[..., AgentApi]
) -> None:
    queue_chat(engine, "een mens graag")
    queue_chat(engine, "a person please", language="en")
    zoe = desk_agent("zoe", ("nl",), online=False)
    view = zoe.queue()
    assert view["available"] is False and view["offered"] == [] and view["offered_total"] == 0
    assert (view["waiting_my_languages"], view["waiting_other_languages"]) == (1, 1)
    assert zoe.ok(zoe.get("me"))["available"] is False  # the page asks: go online?


# --- closing with a wrap-up code, closed chats ----------------------------------------------


def test_closing_takes_a_wrap_up_code_and_closed_chats_can_be_found_again(
    engine: Engine, desk_agent: Callable[..., AgentApi]
) -> None:
    ann = desk_agent("ann", ("nl", "fr"))
    bob = desk_agent("bob", ("nl",))
    root = desk_agent("root", ("nl", "fr", "en"), role="admin")
    bill = queue_chat(engine, "Mijn factuur klopt niet")
    roaming = queue_chat(engine, "Frais d'itinérance en Espagne", language="fr")
    spam = queue_chat(engine, "koop nu goedkope horloges")
    english = queue_chat(engine, "I want a person", language="en")
    for cid in (bill, roaming):
        ann.ok(ann.act(cid, "claim"))

    wrong = ann.act(bill, "close", wrap_up="happy")
    assert wrong.status_code == 422 and error_code(wrong) == "invalid_wrap_up"
    assert ann.act(bill, "close", wrap_up=7).status_code == 422
    assert ann.packet(bill)["conversation"]["owner"] == "agent"  # still open
    assert ann.ok(ann.act(bill, "close", wrap_up="solved")) == {"ok": True}
    assert ann.ok(ann.act(roaming, "close")) == {"ok": True}  # the API does not insist
    root.ok(root.act(spam, "close", wrap_up="spam"))  # an admin closes a queued chat nobody took

    packet = ann.packet(bill)
    assert (packet["handoff"]["outcome"], packet["handoff"]["wrap_up"]) == ("closed", "solved")
    assert packet["handoff"]["ended"] is True and packet["handoff"]["ended_at"]
    assert packet["wrap_ups"] == list(WRAP_UPS)

    closed = ann.ok(ann.get("closed"))
    assert [i["conversation_id"] for i in closed["items"]] == [spam, roaming, bill]  # last ended first
    assert closed["total"] == 3
    item = closed["items"][2]
    assert (item["outcome"], item["wrap_up"], item["claimed_by"], item["reason"]) == (
        "closed",
        "solved",
        "ann",
        "request_human",
    )
    assert [i["conversation_id"] for i in ann.ok(ann.get("closed", q="factuur"))["items"]] == [bill]
    assert [i["conversation_id"] for i in ann.ok(ann.get("closed", language="fr"))["items"]] == [roaming]
    assert [i["conversation_id"] for i in ann.ok(ann.get("closed", mine="1"))["items"]] == [roaming, bill]
    assert [i["conversation_id"] for i in bob.ok(bob.get("closed"))["items"]] == [spam, bill]  # only Dutch
    paged = ann.ok(ann.get("closed", limit="2", offset="2"))
    assert [i["conversation_id"] for i in paged["items"]] == [bill] and paged["total"] == 3
    assert english not in [i["conversation_id"] for i in root.ok(root.get("closed"))["items"]]  # still queued
    refused = ann.get("closed", outcome="deleted")
    assert refused.status_code == 422 and error_code(refused) == "invalid_filter"


# --- internal notes -------------------------------------------------------------------------


def test_notes_are_for_agents_and_never_reach_the_customer(
    desk_client: TestClient, engine: Engine, desk_agent: Callable[..., AgentApi], directory: AgentDirectory
) -> None:
    ann = desk_agent("ann", ("nl",))
    bob = desk_agent("bob", ("nl",))
    nina = desk_agent("nina", ("en",))
    cid = queue_chat(engine, "Mijn factuur klopt niet")
    before = len(messages_of(engine, cid))

    note = bob.post(f"conversations/{cid}/notes", {"text": "  Klant belde gisteren al, ticket T-88  "})
    assert note.status_code == 201  # a waiting chat can have notes too
    body = note.json()
    assert (body["text"], body["agent"], body["agent_name"]) == (
        "Klant belde gisteren al, ticket T-88",
        "bob",
        "Bob",
    )
    ann.ok(ann.act(cid, "claim"))
    assert (
        ann.post(f"conversations/{cid}/notes", {"text": "<b>let op</b>: verhoging al beloofd"}).status_code
        == 201
    )

    packet = ann.packet(cid)
    assert [n["text"] for n in packet["notes"]] == [
        "Klant belde gisteren al, ticket T-88",
        "<b>let op</b>: verhoging al beloofd",
    ]
    assert all("T-88" not in m["text"] for m in packet["transcript"])
    # nothing was stored for the customer's side but the "agent joined" notice: notes are no messages
    assert len(messages_of(engine, cid)) == before + 1

    for text, status, code in (
        ("", 422, "empty_note"),
        ("   ", 422, "empty_note"),
        ("x" * 2001, 413, "note_too_long"),
    ):
        refused = ann.post(f"conversations/{cid}/notes", {"text": text})
        assert refused.status_code == status and error_code(refused) == code
    assert ann.post(f"conversations/{cid}/notes", {"text": 5}).status_code == 422
    other = nina.post(f"conversations/{cid}/notes", {"text": "hello"})
    assert other.status_code == 403 and error_code(other) == "wrong_language"
    missing = ann.post(f"conversations/{uuid.uuid4()}/notes", {"text": "hello"})
    assert missing.status_code == 404 and error_code(missing) == "no_conversation"
    no_csrf = desk_client.post(
        f"/agent/api/conversations/{cid}/notes", json={"text": "x"}, headers=ann.cookie
    )
    assert no_csrf.status_code == 403
    with engine.connect() as conn:
        assert conn.execute(select(conversation_notes.c.agent)).scalars().all() == ["bob", "ann"]


def messages_of(engine: Engine, cid: str) -> list[str]:
    with engine.connect() as conn:
        return conn.execute(select(messages.c.text).where(messages.c.conversation_id == cid)).scalars().all()
