from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from bot.core.db import OWNER_AGENT, OWNER_BOT, OWNER_CLOSED, OWNER_QUEUED, conversations, messages
from bot.core.settings import Settings
from bot.core.texts import text as gateway_text
from bot.core.welcome import welcome_replies
from bot.router import IncomingMessage, InvalidMessage, Router
from testkit.fakes.http_server import FakeServer
from tests.helpers.router import make_router


@pytest.fixture
def router(settings: Settings, engine: Engine, rasa: FakeServer, actions: FakeServer) -> Router:
    return make_router(settings, engine, rasa, actions)


def all_messages(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(messages).order_by(messages.c.id))]


def test_message_is_stored_before_rasa_is_asked(router: Router, engine: Engine, rasa: FakeServer) -> None:
    seen_at_call: list[list[dict[str, Any]]] = []

    def reply(body: dict[str, Any]) -> list[dict[str, Any]]:
        seen_at_call.append(all_messages(engine))
        return [
            {"recipient_id": body["sender"], "text": "Je factuur is 15 dagen na de factuurdatum vervallen."}
        ]

    rasa.state["reply"] = reply
    result = router.handle(IncomingMessage("web", "u1", "tegen wanneer moet ik mijn factuur betalen"))
    [stored_then] = seen_at_call
    assert [(m["direction"], m["status"], m["text"]) for m in stored_then] == [
        ("in", "received", "tegen wanneer moet ik mijn factuur betalen")
    ]
    assert result.language == "nl" and result.owner == "bot"
    assert result.replies == [{"text": "Je factuur is 15 dagen na de factuurdatum vervallen."}]
    stored = all_messages(engine)
    assert [(m["direction"], m["author"], m["status"]) for m in stored] == [
        ("in", "customer", "answered"),
        ("out", "bot", "sent"),
    ]
    assert all(m["created_at"].tzinfo is not None for m in stored)


def test_language_is_passed_to_rasa_and_kept_for_short_messages(router: Router, rasa: FakeServer) -> None:
    first = router.handle(
        IncomingMessage("web", "u2", "pourquoi ma facture est plus chère ce mois-ci", locale="nl-BE")
    )
    second = router.handle(IncomingMessage("web", "u2", "merci"))
    third = router.handle(IncomingMessage("web", "u2", "can you explain the roaming costs on my bill"))
    assert (first.language, second.language, third.language) == ("fr", "fr", "en")
    assert first.conversation_id == second.conversation_id == third.conversation_id
    sent = [r.json() for r in rasa.received("POST", "/webhooks/rest/webhook")]
    assert [b["metadata"]["language"] for b in sent] == ["fr", "fr", "en"]
    assert {b["sender"] for b in sent} == {first.conversation_id}
    assert sent[0]["metadata"]["channel"] == "web"


def test_new_conversation_uses_channel_locale_without_clear_signal(router: Router) -> None:
    assert router.handle(IncomingMessage("web", "u3", "ok", locale="en-GB")).language == "en"
    assert router.handle(IncomingMessage("web", "u4", "ok")).language == "nl"  # configured default


def test_rasa_down_gives_apology_in_language_and_keeps_message(
    settings: Settings, engine: Engine, rasa: FakeServer, actions: FakeServer
) -> None:
    rasa.stop()
    router = make_router(settings, engine, rasa, actions)
    result = router.handle(IncomingMessage("web", "u5", "je voudrais une copie de ma facture de mars"))
    assert result.language == "fr"
    assert "problème technique" in result.replies[0]["text"]
    stored = all_messages(engine)
    assert [(m["direction"], m["author"], m["status"]) for m in stored] == [
        ("in", "customer", "failed"),
        ("out", "system", "sent"),
    ]
    assert stored[0]["text"] == "je voudrais une copie de ma facture de mars"


@pytest.mark.parametrize("owner", [OWNER_QUEUED, OWNER_AGENT])
def test_conversations_owned_by_people_never_reach_rasa(
    router: Router, engine: Engine, rasa: FakeServer, owner: str
) -> None:
    first = router.handle(IncomingMessage("web", "u6", "hallo"))
    with engine.begin() as conn:
        conn.execute(
            update(conversations).where(conversations.c.id == first.conversation_id).values(owner=owner)
        )
    result = router.handle(IncomingMessage("web", "u6", "is er al iemand?"))
    again = router.handle(IncomingMessage("web", "u6", "hallo??"))
    assert len(rasa.received("POST", "/webhooks/rest/webhook")) == 1
    inbound = [m["text"] for m in all_messages(engine) if m["direction"] == "in"]
    assert inbound[-2:] == ["is er al iemand?", "hallo??"]
    if owner == OWNER_QUEUED:  # the customer hears the message was passed on, once in a row
        assert result.replies == [{"text": gateway_text("handoff_message_passed", "nl")}]
        assert again.replies == []
    else:  # the agent answers; nobody else does
        assert result.replies == again.replies == []
    assert result.owner == again.owner == owner


def test_after_close_the_next_message_starts_a_new_conversation(router: Router, engine: Engine) -> None:
    first = router.handle(IncomingMessage("web", "u7", "hallo"))
    with engine.begin() as conn:
        conn.execute(
            update(conversations)
            .where(conversations.c.id == first.conversation_id)
            .values(owner=OWNER_CLOSED)
        )
    second = router.handle(IncomingMessage("web", "u7", "hallo opnieuw"))
    assert second.conversation_id != first.conversation_id and second.owner == "bot"


def test_same_sender_on_another_channel_is_another_conversation(router: Router) -> None:
    a = router.handle(IncomingMessage("web", "u8", "hallo"))
    b = router.handle(IncomingMessage("telegram", "u8", "hallo"))
    assert a.conversation_id != b.conversation_id


def test_action_server_down_gives_apology_not_a_misunderstanding(
    router: Router, engine: Engine, rasa: FakeServer, actions: FakeServer
) -> None:
    rasa.state["reply"] = lambda body: []  # what Rasa answers when every custom action fails
    actions.stop()
    result = router.handle(IncomingMessage("web", "u14", "is er een storing in Gent vandaag"))
    assert "technisch probleem" in result.replies[0]["text"]
    assert [(m["author"], m["status"]) for m in all_messages(engine)] == [
        ("customer", "failed"),
        ("system", "sent"),
    ]


def test_empty_rasa_answer_still_answers(router: Router, rasa: FakeServer) -> None:
    rasa.state["reply"] = lambda body: []
    result = router.handle(
        IncomingMessage("web", "u9", "what is the meaning of life, the universe and everything")
    )
    assert result.language == "en" and result.replies[0]["text"].startswith("Hmm")


@pytest.mark.parametrize(
    "sender, text, reason",
    [
        ("", "hallo", "sender must not be empty"),
        ("u", "   ", "text must not be empty"),
        ("u", "x" * 2001, "text must be at most 2000 characters"),
        ("u" * 129, "hi", "sender must be at most 128"),
    ],
)
def test_invalid_messages_are_refused_and_nothing_is_stored(
    router: Router, engine: Engine, rasa: FakeServer, sender: str, text: str, reason: str
) -> None:
    with pytest.raises(InvalidMessage, match=reason):
        router.handle(IncomingMessage("web", sender, text))
    assert all_messages(engine) == []
    assert rasa.received("POST", "/webhooks/rest/webhook") == []


def test_emoji_only_and_html_are_stored_verbatim(router: Router, engine: Engine) -> None:
    router.handle(IncomingMessage("web", "u10", "😡😡😡"))
    router.handle(IncomingMessage("web", "u10", "<img src=x onerror=alert(1)>"))
    texts = [m["text"] for m in all_messages(engine) if m["direction"] == "in"]
    assert texts == ["😡😡😡", "<img src=x onerror=alert(1)>"]


def test_a_language_switch_sets_rasa_language_slot_before_the_message(
    router: Router, rasa: FakeServer
) -> None:
    first = router.handle(IncomingMessage("web", "u11", "hoe kan ik mijn factuur betalen"))
    router.handle(IncomingMessage("web", "u11", "ok"))
    assert rasa.received("POST", r"/conversations/.*/tracker/events") == []  # no switch, no call
    router.handle(IncomingMessage("web", "u11", "and how do I get a copy of my invoice"))
    [event] = rasa.received("POST", r"/conversations/.*/tracker/events")
    assert event.path == f"/conversations/{first.conversation_id}/tracker/events"
    assert event.json() == {"event": "slot", "name": "language", "value": "en"}
    paths = [r.path for r in rasa.requests if r.method == "POST"]
    assert paths[-2:] == [event.path, "/webhooks/rest/webhook"]  # slot first, then the message
    assert rasa.received("GET", r"/conversations/.*") == []  # Rasa answered before: no check needed
    router.handle(IncomingMessage("web", "u11", "thanks a lot for your help"))
    assert len(rasa.received("POST", r"/conversations/.*/tracker/events")) == 1


def test_a_new_conversation_carries_its_language_in_metadata_only(router: Router, rasa: FakeServer) -> None:
    router.handle(IncomingMessage("web", "u12", "bonjour, j'ai une question sur ma facture"))
    assert rasa.received("GET", r"/conversations/.*") == []
    assert rasa.received("POST", "/webhooks/rest/webhook")[0].json()["metadata"]["language"] == "fr"


def test_switch_after_rasa_was_down_is_still_synced(router: Router, rasa: FakeServer) -> None:
    router.handle(IncomingMessage("web", "u13", "hoe kan ik mijn factuur betalen"))
    rasa.routes[("POST", "/webhooks/rest/webhook")] = lambda r: (503, {})
    router.handle(IncomingMessage("web", "u13", "je voudrais une copie de ma facture"))  # fails
    rasa.routes[("POST", "/webhooks/rest/webhook")] = lambda r: (200, [{"text": "ok"}])
    before = len(rasa.received("POST", r"/conversations/.*/tracker/events"))
    router.handle(IncomingMessage("web", "u13", "merci beaucoup pour votre aide"))
    events = rasa.received("POST", r"/conversations/.*/tracker/events")
    # Rasa never confirmed French, so the slot is set again before the next message.
    assert len(events) == before + 1 and events[-1].json()["value"] == "fr"


@pytest.mark.parametrize(
    "typed", ["/sensitive_fraud", '/billing_refund{"place": "gent"}', "/restart", "  /sim_replace"]
)
def test_a_typed_payload_reaches_rasa_as_the_text_it_is(router: Router, rasa: FakeServer, typed: str) -> None:
    router.handle(IncomingMessage("web", "typed", "hallo"))
    router.handle(IncomingMessage("web", "typed", typed))
    sent = [r.json()["message"] for r in rasa.received("POST", "/webhooks/rest/webhook")]
    assert sent[-1] == "\u200b" + typed.strip()
    assert not sent[-1].strip().startswith("/")


def test_a_message_pasted_with_markup_reaches_rasa_as_its_words_and_is_stored_as_typed(
    router: Router, rasa: FakeServer, engine: Engine
) -> None:
    typed = "<b>hoe</b> activeer ik mijn <i>esim</i>&nbsp;?"
    result = router.handle(IncomingMessage("web", "markup", typed))
    router.handle(IncomingMessage("web", "markup", "<b>/sensitive_fraud</b>"))  # still no payload
    sent = [r.json()["message"] for r in rasa.received("POST", "/webhooks/rest/webhook")]
    assert sent[-2:] == ["hoe activeer ik mijn esim ?", "\u200b/sensitive_fraud"]
    with engine.connect() as conn:
        query = select(messages.c.text).where(
            messages.c.conversation_id == result.conversation_id, messages.c.direction == "in"
        )
        assert list(conn.execute(query).scalars())[:1] == [typed]  # the agent reads what was typed


def test_only_the_payloads_of_offered_buttons_pass(router: Router, rasa: FakeServer) -> None:
    buttons = [{"title": "Ja", "payload": "/affirm"}, {"title": "Nee", "payload": "/deny"}]
    rasa.state["reply"] = lambda body: [
        {"recipient_id": body["sender"], "text": "Geholpen?", "buttons": buttons}
    ]
    router.handle(IncomingMessage("web", "offered", "mijn factuur is te hoog"))
    rasa.state["reply"] = lambda body: [{"recipient_id": body["sender"], "text": "Fijn!"}]
    router.handle(IncomingMessage("web", "offered", "/affirm", metadata={"button_title": "Ja"}))
    router.handle(IncomingMessage("web", "offered", "/deny"))  # offered one turn earlier
    router.handle(IncomingMessage("web", "offered", "/sensitive_fraud"))  # never offered
    router.handle(IncomingMessage("web", "someone-else", "/affirm"))  # offered to another customer
    sent = [r.json()["message"] for r in rasa.received("POST", "/webhooks/rest/webhook")]
    assert sent[-4:] == ["/affirm", "/deny", "\u200b/sensitive_fraud", "\u200b/affirm"]


@pytest.mark.parametrize(
    ("first", "request_", "language"),
    [
        ("hoe kan ik mijn factuur betalen", "can we speak english please", "en"),
        ("comment payer ma facture", "kan het in het Nederlands?", "nl"),
        ("how do I pay my bill", "en français svp", "fr"),
    ],
)
def test_a_request_for_another_language_is_answered_in_it_without_rasa(
    router: Router, rasa: FakeServer, engine: Engine, first: str, request_: str, language: str
) -> None:
    router.handle(IncomingMessage("web", "u40", first))
    asked = len(rasa.received("POST", "/webhooks/rest/webhook"))
    result = router.handle(IncomingMessage("web", "u40", request_))
    assert (result.language, result.owner, result.language_source) == (language, OWNER_BOT, "asked")
    assert result.replies == [{"text": gateway_text("language_switched", language)}]
    assert len(rasa.received("POST", "/webhooks/rest/webhook")) == asked  # Rasa is not asked
    stored = all_messages(engine)[-1]
    assert (stored["author"], stored["text"], stored["language"]) == (
        "bot",
        gateway_text("language_switched", language),
        language,
    )
    # The next message reaches Rasa with its language slot switched first.
    router.handle(IncomingMessage("web", "u40", "ok"))
    events = rasa.received("POST", r"/conversations/.*/tracker/events")
    assert events[-1].json() == {"event": "slot", "name": "language", "value": language}
    assert rasa.received("POST", "/webhooks/rest/webhook")[-1].json()["metadata"]["language"] == language


@pytest.mark.parametrize(
    ("request_", "language"), [("can we speak english?", "en"), ("parlez-vous français ?", "fr")]
)
def test_a_first_message_asking_for_a_language_leaves_rasa_to_start_in_it(
    router: Router, rasa: FakeServer, request_: str, language: str
) -> None:
    """Rasa had never seen the conversation: a slot appended then started a session in the
    default language (its events sorted after the slot) and "my 4g doesn't work" got the Dutch
    answer. Its first message carries the language for action_session_start instead."""
    router.handle(IncomingMessage("web", f"first-{language}", request_))
    router.handle(IncomingMessage("web", f"first-{language}", "ma 4g ne marche plus"))
    assert rasa.received("POST", r"/conversations/.*/tracker/events") == []
    assert rasa.received("POST", "/webhooks/rest/webhook")[-1].json()["metadata"]["language"] == language


def test_a_waiting_customer_who_asks_for_another_language_is_answered_in_it(
    router: Router, engine: Engine
) -> None:
    router.handle(IncomingMessage("web", "u41", "hoe kan ik mijn factuur betalen"))
    with engine.begin() as conn:
        conn.execute(update(conversations).values(owner=OWNER_QUEUED))
    result = router.handle(IncomingMessage("web", "u41", "English please"))
    assert (result.language, result.owner) == ("en", OWNER_QUEUED)


def test_a_typed_button_title_reaches_rasa_as_the_button_of_the_last_answer(
    router: Router, rasa: FakeServer
) -> None:
    offer = [
        {"title": "Mijn account bekijken", "payload": "/verify_start"},
        {"title": "Nee", "payload": "/deny"},
    ]
    rasa.state["reply"] = lambda body: [  # type: ignore[attr-defined]
        {"recipient_id": body["sender"], "text": "Zo volg je je verbruik op.", "buttons": offer}
    ]
    router.handle(IncomingMessage("web", "u42", "hoeveel data heb ik nog"))
    router.handle(IncomingMessage("web", "u42", "mijn account bekijken"))
    router.handle(IncomingMessage("web", "u42", "Nee."))
    sent = [r.json()["message"] for r in rasa.received("POST", "/webhooks/rest/webhook")]
    assert sent == ["hoeveel data heb ik nog", "/verify_start", "/deny"]


@pytest.mark.parametrize(("typed", "sent"), [("ja", "/verify_identity"), ("ok merci", "ok merci")])
def test_a_yes_to_the_one_offer_of_the_last_answer_presses_it(
    router: Router, rasa: FakeServer, typed: str, sent: str
) -> None:
    """ "ja" after "I can also look up your own details: tap 'Check my account'" got "Okay. What
    can I help you with?"; "ok merci" only closes the answer."""
    offer = [{"title": "Mijn account bekijken", "payload": "/verify_identity"}]
    rasa.state["reply"] = lambda body: [  # type: ignore[attr-defined]
        {"recipient_id": body["sender"], "text": "Ik kan ook je eigen gegevens opzoeken.", "buttons": offer}
    ]
    router.handle(IncomingMessage("web", f"u-{sent}", "hoeveel moet ik betalen deze maand"))
    router.handle(IncomingMessage("web", f"u-{sent}", typed))
    assert [r.json()["message"] for r in rasa.received("POST", "/webhooks/rest/webhook")][-1] == sent


def test_a_yes_after_an_offer_and_did_this_help_answers_the_question(
    router: Router, rasa: FakeServer
) -> None:
    buttons = [
        {"title": "Mijn account bekijken", "payload": "/verify_identity"},
        {"title": "Ja, bedankt", "payload": "/affirm"},
        {"title": "Nee", "payload": "/deny"},
    ]
    rasa.state["reply"] = lambda body: [  # type: ignore[attr-defined]
        {"recipient_id": body["sender"], "text": "Heeft dit je geholpen?", "buttons": buttons}
    ]
    router.handle(IncomingMessage("web", "u-helped", "hoeveel data heb ik nog"))
    router.handle(IncomingMessage("web", "u-helped", "ja"))
    assert [r.json()["message"] for r in rasa.received("POST", "/webhooks/rest/webhook")][-1] == "ja"


def test_a_title_of_an_older_answer_is_the_text_it_is(router: Router, rasa: FakeServer) -> None:
    answers = iter(
        [
            [{"text": "Heeft dit je geholpen?", "buttons": [{"title": "Nee", "payload": "/deny"}]}],
            [{"text": "Fijn!"}],
            [{"text": "ok"}],
        ]
    )
    rasa.state["reply"] = lambda body: [  # type: ignore[attr-defined]
        {"recipient_id": body["sender"], **r} for r in next(answers)
    ]
    router.handle(IncomingMessage("web", "u43", "hoe betaal ik mijn factuur"))
    router.handle(IncomingMessage("web", "u43", "bedankt"))
    router.handle(IncomingMessage("web", "u43", "nee"))  # answers "Fijn!", not the earlier question
    sent = [r.json()["message"] for r in rasa.received("POST", "/webhooks/rest/webhook")]
    assert sent[-1] == "nee"


@pytest.mark.parametrize("typed", ["/start", "/START ", "/help"])
def test_a_typed_start_or_help_gets_the_opening_message_not_an_answer(
    router: Router, rasa: FakeServer, typed: str
) -> None:
    router.handle(IncomingMessage("web", "u44", "bonjour"))
    asked = len(rasa.received("POST", "/webhooks/rest/webhook"))
    result = router.handle(IncomingMessage("web", "u44", typed))
    assert result.replies == welcome_replies("fr", "Mila")
    assert (
        len(rasa.received("POST", "/webhooks/rest/webhook")) == asked
    )  # "/start" read as "start" got the SIM activation
