"""The same long answer is not sent twice: the lines the new message asks about, or the honest
"nothing better than above" (bot/core/repeats.py)."""

from __future__ import annotations

import pytest

from bot.core.follow_up import leans_back
from bot.core.knowledge import load_help_centre
from bot.core.repeats import MIN_ANSWER_CHARS, _stems, relevant_lines, without_repeats
from bot.core.texts import text
from tests.helpers.domain import response_text

TROUBLESHOOTING = {
    "nl": "Traag of geen mobiel internet? Probeer dit:\n- Zet je gsm 10 seconden in vliegtuigmodus.\n"
    "- Kijk in de app Mijn Account of je nog data over hebt in je bundel.\n- Controleer de APN-instellingen.",
    "fr": "Internet mobile lent ou inexistant ? Essayez ceci :\n"
    "- Passez votre GSM en mode avion 10 secondes.\n"
    "- Vérifiez dans l'app Mon Compte qu'il vous reste du volume data.\n- Contrôlez l'APN.",
    "en": "Slow or no mobile internet? Try this:\n- Put your phone in airplane mode for 10 seconds.\n"
    "- Check in the My Account app that you still have data left in your bundle.\n- Check the APN settings.",
}
DETAIL = {
    "nl": "en bellen lukt wel, maar de data niet",
    "fr": "et les appels ça marche mais pas la data",
    "en": "and calls work but the data doesn't",
}
DID_IT_HELP = {"text": "?", "buttons": [{"title": "Yes", "payload": "/affirm"}]}


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_a_repeated_answer_becomes_the_lines_the_message_asks_about(language: str) -> None:
    answer = TROUBLESHOOTING[language]
    assert len(answer) >= MIN_ANSWER_CHARS
    replies = without_repeats([{"text": answer}, DID_IT_HELP], ["Hi", answer], DETAIL[language], language)
    pointer, did_it_help = replies
    assert did_it_help == DID_IT_HELP  # the rest of the turn is kept
    intro, line, offer = pointer["text"].split("\n")
    expected = text("answer_above_lines", language).split("\n")
    assert (intro, offer) == (expected[0], expected[-1])
    assert "data" in line and line in answer
    assert "buttons" not in pointer  # "did this help?" already offers the way on


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_nothing_in_common_gets_the_honest_pointer_and_a_way_to_a_person(language: str) -> None:
    answer = TROUBLESHOOTING[language]
    (pointer,) = without_repeats([{"text": answer}], [answer], "en Marokko?", language)
    assert pointer["text"] == text("answer_above", language)
    assert pointer["buttons"] == [
        {"title": text("welcome_button_human", language), "payload": "/request_human"}
    ]


def test_a_new_or_short_answer_is_sent_as_it_is() -> None:
    answer = TROUBLESHOOTING["en"]
    short = {"text": "You're welcome! Anything else?"}
    other = {"text": answer.replace("10", "30")}
    earlier = [answer, short["text"]]
    assert without_repeats([short, other], earlier, "thanks", "en") == [short, other]
    assert without_repeats([{"text": answer}], [], "and the data?", "en") == [{"text": answer}]


def test_the_line_of_an_article_a_follow_up_asks_about() -> None:
    """ "en voor één oproep?" after the hide-your-number article: the one-call line, not the article."""
    article = load_help_centre().get("hide_caller_id", "nl")
    lines = relevant_lines(article.body, "en voor één oproep?", "nl")
    assert lines and any("#31#" in line for line in lines)
    assert len(lines) <= 2


@pytest.mark.parametrize(
    ("language", "message"),
    [("nl", "en als ik te laat betaal?"), ("fr", "et si je paie en retard ?"), ("en", "and if I pay late?")],
)
def test_paying_late_points_at_the_reminder_line(language: str, message: str) -> None:
    """ "en als ik te laat betaal?" after the due date got only the transfer-time line (it shares
    "betaal"); the line about paying late is what it asks about."""
    answer = response_text("utter_billing_due_date", language)
    reminder = answer.splitlines()[-1]
    assert reminder in relevant_lines(answer, message, language)


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("nl", "wat is het minimum bedrag?"),
        ("fr", "c'est combien minimum ?"),
        ("en", "how much is the minimum?"),
    ],
)
def test_the_minimum_points_at_the_amount_line(language: str, message: str) -> None:
    """ "how much is the minimum?" after the top-up article got "no better answer than above",
    although its first line says "from 10 euros"."""
    body = load_help_centre().get("prepaid_topup", language).body
    assert any("10 euro" in line for line in relevant_lines(body, message, language))


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("nl", "welke is het goedkoopst?"),
        ("fr", "lequel est le moins cher ?"),
        ("en", "which one is cheapest?"),
    ],
)
def test_the_cheapest_points_at_the_lines_with_prices(language: str, message: str) -> None:
    """ "welke is het goedkoopst?" right after the plans got the whole list again: it asks about
    the answer (leans back), and the lines with the prices are what it asks about."""
    body = load_help_centre().get("plans_overview", language).body
    assert leans_back(message)
    lines = relevant_lines(body, message, language)
    assert lines and all("15" in line or "25" in line for line in lines)


@pytest.mark.parametrize(
    ("language", "message", "line"),
    [
        ("en", "which one is the best?", "Not sure which one fits?"),  # the advice line
        ("nl", "welke is de beste voor mij?", None),  # no line says: the honest pointer
        ("fr", "lequel est le meilleur ?", None),
    ],
)
def test_which_is_best_leans_back(language: str, message: str, line: str | None) -> None:
    body = load_help_centre().get("plans_overview", language).body
    assert leans_back(message)
    lines = relevant_lines(body, message, language)
    assert (line in lines[0]) if line else lines == []


@pytest.mark.parametrize(
    ("language", "message"), [("nl", "hoeveel is dat?"), ("fr", "c'est combien ?"), ("en", "how much is it?")]
)
def test_how_much_points_at_the_sentences_with_the_amount(language: str, message: str) -> None:
    """ "how much is it?" after the one-paragraph family-discount answer got "no better answer than
    above": "how much" asks for a price or an amount, and in a paragraph the lines are sentences."""
    body = load_help_centre().get("multi_line_discount", language).body
    lines = relevant_lines(body, message, language)
    assert lines and all(("5 euro" in line or "15 euro" in line) and len(line) < 200 for line in lines)


def test_how_much_time_asks_how_long() -> None:
    assert "#amount" not in _stems("combien de temps ça prend ?", "fr")
    assert "#time" in _stems("hoeveel tijd duurt dat?", "nl")


USAGE = {
    "en": "Emma, here's your usage this period:\n- Data: 0.8 GB of 5.0 GB\n- Calls: 67 min of 300 min\n"
    "- Texts: 13 of 100\nYour bundle renews on 3 January 2027.",
    "nl": "Pieter, dit is je verbruik in deze periode:\n- Data: 15,8 GB van 20,0 GB\n- Bellen: 37 min "
    "(onbeperkt)\n- Sms: 84 (onbeperkt)\nJe bundel wordt vernieuwd op 3 januari 2027.",
}


@pytest.mark.parametrize(
    ("language", "message", "line"),
    [
        ("en", "and minutes?", "- Calls: 67 min of 300 min"),
        ("en", "and how many gigas?", "- Data: 0.8 GB of 5.0 GB"),
        ("nl", "en mijn belminuten?", "- Bellen: 37 min (onbeperkt)"),
        ("nl", "en internet?", "- Data: 15,8 GB van 20,0 GB"),
        ("nl", "en sms'en?", "- Sms: 84 (onbeperkt)"),
        ("en", "and how many texts?", "- Texts: 13 of 100"),
    ],
)
def test_a_personal_answers_units_in_other_words(language: str, message: str, line: str) -> None:
    """ "and minutes?" after "Calls: 67 min of 300 min" asks about that line, not nothing."""
    assert relevant_lines(USAGE[language], message, language) == [line]


def test_links_and_stop_words_are_never_what_a_message_asks_about() -> None:
    answer = "Read this first.\nhttps://help.example/en/data\nAnd then this."
    assert relevant_lines(answer, "what about the data?", "en") == []
    assert relevant_lines(answer, "and what about this then?", "en") == []


def test_a_new_answer_keeps_the_offer_it_shares_with_the_last_one() -> None:
    """Two account questions in a row: the second article is new, so the same offer to verify
    after it is sent as it is, not turned into a pointer."""
    offer = {
        "text": "I can also look up your own figures once I've checked it's you with a text code.",
        "buttons": [{"title": "View my account", "payload": "/verify_identity"}],
    }
    offer["text"] += " Tap 'View my account' below to start the check."
    assert len(offer["text"]) >= MIN_ANSWER_CHARS
    new_answer = {"text": TROUBLESHOOTING["en"].replace("Slow", "Patchy")}
    replies = [new_answer, offer]
    assert (
        without_repeats(replies, [TROUBLESHOOTING["en"], offer["text"]], "and my contract?", "en") == replies
    )


@pytest.mark.parametrize(
    ("language", "follow_up"), [("nl", "en in Gent?"), ("fr", "et à Gand ?"), ("en", "and in Ghent?")]
)
def test_a_new_answer_beside_the_tips_just_read_comes_alone(language: str, follow_up: str) -> None:
    """The slow-data tips, then a town: the news about the town, not the same tips again."""
    town = {"text": "No outage there and the network is good, so it's probably the place or the phone. " * 2}
    replies = [town, {"text": TROUBLESHOOTING[language]}, DID_IT_HELP]
    assert leans_back(follow_up)
    assert without_repeats(replies, [TROUBLESHOOTING[language]], follow_up, language) == [town, DID_IT_HELP]


@pytest.mark.parametrize("message", ["0470 12 34 56", "my number is +32485112233", "/verify_identity"])
def test_a_number_a_code_or_a_button_is_news_each_time(message: str) -> None:
    """ "If this number is known, a code is on its way" after a second number is a new text sent."""
    prompt = {
        "text": "If this number is one of ours, you'll get a text with a 6-digit code in a moment. "
        "Type it here; it's valid for 5 minutes."
    }
    assert without_repeats([prompt], [prompt["text"]], message, "en") == [prompt]


@pytest.mark.parametrize(
    "message", ["ik heb geen bereik in Hasselt", "je n'ai pas de réseau à Hasselt", "no signal in Hasselt"]
)
def test_a_question_of_its_own_gets_the_same_answer_again(message: str) -> None:
    """5G in Hasselt, then no signal in Hasselt: the outage notice again, not "see above"."""
    notice = {"text": TROUBLESHOOTING["en"]}
    assert without_repeats([notice], [notice["text"]], message, "en") == [notice]


@pytest.mark.parametrize(
    ("message", "leans"),
    [
        ("et les appels ça marche mais pas la data", True),
        ("en voor één oproep?", True),
        ("and what about Morocco?", True),
        ("kan ik dat ook afzetten", True),
        ("how much is the minimum?", True),  # a short question about a detail of the answer
        ("hoeveel kost dat per maand?", True),
        ("ik heb geen bereik in Hasselt", False),
        ("how much does calling Turkey from Belgium cost?", False),  # a question of its own
        ("I've got no signal in Hasselt", False),
        ("/request_human", False),
        ("and " + "very " * 12 + "long", False),
    ],
)
def test_what_continues_the_previous_message(message: str, leans: bool) -> None:
    assert leans_back(message) is leans


@pytest.mark.parametrize(
    ("message", "pointer"),
    [
        ("", False),
        ("   ", False),
        ("\x00\x07\u200b", False),
        ("and " + "x" * 100_000, True),
        ("<script>and it</script>", True),
    ],
)
def test_odd_messages_get_the_answer_or_the_honest_pointer(message: str, pointer: bool) -> None:
    """Empty, control characters, huge or HTML: the answer as Rasa gave it, or (when the message
    still continues the previous one) the honest pointer; never an error."""
    answer = TROUBLESHOOTING["en"]
    (reply,) = without_repeats([{"text": answer}], [answer], message, "en")
    assert reply["text"] == (text("answer_above", "en") if pointer else answer)


@pytest.mark.parametrize(
    "message", ["en hoe zet ik het weer af?", "en hoe schakel ik dat terug uit?", "doe ik dat zo uit?"]
)
def test_a_dutch_split_verb_asks_to_stop_it(message: str) -> None:
    """ "en hoe zet ik het weer af?" after call forwarding: the line that says how to stop it
    ("Stoppen doe je met ##21#"), not "no better answer than above"."""
    article = load_help_centre().get("call_forwarding", "nl")
    lines = relevant_lines(article.body, message, "nl")
    assert lines and any("##21#" in line for line in lines)


@pytest.mark.parametrize("message", ["en als ik bel uit Spanje?", "zet ik dat zo in de app?"])
def test_a_particle_without_its_verb_is_no_stop(message: str) -> None:
    assert "#stop" not in _stems(message, "nl")


PORTING = (
    "Want to bring your number with you? Absolutely, we'll handle the switch for you!\n"
    "- Enter those details when you order or in the My Account app.\n"
    "- No need to contact your old operator yourself: we take care of that.\n"
    "Porting usually takes 1 working day. You might have no signal for a short while during the switch."
)


@pytest.mark.parametrize("message", ["how long does it take", "and when is it done?"])
def test_how_long_is_answered_by_the_duration_not_by_a_line_saying_when(message: str) -> None:
    """ "how long does it take" after the porting answer was pointed at "enter those details when
    you order": a question's "when" asks for a time, an answer's "when" gives none."""
    assert relevant_lines(PORTING, message, "en") == [PORTING.splitlines()[-1]]


PLAN_CHANGE = {
    "fr": "Vous pouvez changer de formule à tout moment, sans frais :\n1. Ouvrez l'app Mon Compte.\n"
    "Une formule plus grande est active immédiatement. Une formule plus petite démarre au début de votre "
    "prochaine période de facturation.",
    "en": "You can change your plan at any time:\n1. Open the My Account app.\n"
    "A bigger plan is active immediately. A smaller plan starts at the beginning of your next billing cycle.",
    "nl": "Je kunt op elk moment van abonnement veranderen:\n1. Open de app Mijn Account.\n"
    "Kies je een grotere formule, dan is die meteen actief. Kies je een kleinere formule, dan gaat die in "
    "bij het begin van je volgende factuurperiode.",
}


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("fr", "et ça prend effet quand ?"),
        ("en", "and when does it kick in?"),
        ("nl", "en wanneer gaat dat in?"),
    ],
)
def test_when_is_answered_by_the_line_saying_immediately_or_next_period(language: str, message: str) -> None:
    """ "et ça prend effet quand ?" after the plan-change answer got "no better answer than above"."""
    answer = PLAN_CHANGE[language]
    assert relevant_lines(answer, message, language) == [answer.splitlines()[-1]]


PIN_ANSWER = (
    "Geen paniek, dat lossen we snel op!\n"
    "- De standaard pincode van een nieuwe sim is 1111.\n"
    "- Na 3 foute pincodes blokkeert je sim en vraagt je toestel de PUK-code (8 cijfers).\n"
    "- Je PUK staat op de plastic kaarthouder van je simkaart en ook in de app Mijn Account "
    "onder Sim > PUK-code."
)


@pytest.mark.parametrize(("message", "language"), [("waar vind ik die", "nl"), ("where do I find it?", "en")])
def test_where_points_at_the_line_that_says_where(message: str, language: str) -> None:
    """ "waar vind ik die" after the PUK lines got "no better answer than above"."""
    assert relevant_lines(PIN_ANSWER, message, language) == [PIN_ANSWER.splitlines()[-1]]
