"""End to end over POST /api/chat: how a conversation goes on after its first answer or
without a question yet (a bare topic, "I already did that", a follow-up about the answer).

The running stack is the pass's shared one (``stack`` in tests/conftest.py): every test is a
customer of its own (``chat`` in tests/web/conftest.py)."""

from __future__ import annotations

import pytest

from bot.core.knowledge import load_help_centre
from bot.core.texts import text as gateway_text
from tests.helpers.domain import response_text, texts

pytestmark = pytest.mark.e2e


ALREADY_DONE = {
    "nl": ("ik zit in spanje en mijn data werkt niet", "ja roaming staat al aan"),
    "fr": ("je suis en espagne et ma data ne marche pas", "j'ai déjà redémarré"),
    "en": ("i'm in spain and my data doesn't work", "already tried that"),
}


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_saying_the_steps_were_already_done_goes_to_a_person(chat, language: str) -> None:
    """ "roaming staat al aan" after the roaming steps got the same steps again; "c'est déjà
    fait" after "did this help?" read as a yes. The answer did not help: a person takes over."""
    question, done = ALREADY_DONE[language]
    assert texts(chat(question)) == [response_text("utter_coverage_abroad", language)]
    handed = chat(done)
    assert handed["owner"] == "queued"
    assert texts(handed)[0] == response_text("utter_escalate_not_helped", language)


@pytest.mark.parametrize(
    ("language", "opener", "name"),
    [
        ("nl", "hallo, ik heb een vraag over mijn abonnement", "je abonnement"),
        ("fr", "bonjour j'ai un souci avec mon abonnement svp", "votre abonnement"),
        ("en", "hi, quick question about my plan", "your plan"),
    ],
)
def test_naming_only_a_topic_gets_its_menu_and_a_button_answers(
    chat, language: str, opener: str, name: str
) -> None:
    """No guess for a bare topic (a plan question was handed over as a cancellation): the topic's
    common questions as buttons, in the customer's language, and pressing one answers it."""
    body = chat(opener)
    assert body["language"] == language and body["owner"] == "bot"
    [reply] = body["replies"]
    assert reply["text"] == response_text("utter_clarify_topic", language, topic_name=name)
    payloads = [b["payload"] for b in reply["buttons"]]
    assert payloads[-2:] == ["/sensitive_cancellation", "/request_human"]
    article = load_help_centre().get("plans_overview", language)
    assert reply["buttons"][0] == {
        "title": article.title,
        "payload": '/knowledge{"article_id": "plans_overview"}',
    }
    answer = texts(chat(reply["buttons"][0]["payload"]))
    assert answer[0].startswith(article.body) and answer[-1] == response_text("utter_did_this_help", language)


def test_a_question_about_the_answer_that_an_article_answers_gets_that_article(chat) -> None:
    """ "et c'est payé ?" after the bill's answer read together as the bill again, and the
    customer got "no better answer than the one above"; alone it is the payment article."""
    article = load_help_centre().get("payment_processing_time", "fr")
    chat("Bonjour, ma facture est trop élevée ce mois-ci, pourquoi ?")
    answer = texts(chat("et c'est payé ?"))
    assert answer[0].startswith(article.body)


SMALL_TALK = {
    "nl": ("hallo", "alles goed met jou?", "hallo"),
    "fr": ("bonjour", "ça va ?", "salut"),
    "en": ("hi", "how are you doing?", "hello"),
}


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_how_are_you_is_answered_in_kind_and_the_introduction_is_not_repeated(chat, language: str) -> None:
    """ "ça va ?" after "bonjour" got "no better answer than the one above" (the introduction
    again, shortened by the router); "how are you?" got the customer-service article. Now: the
    introduction once, "fine, thanks" to the question, and a short invitation to a second hello."""
    hello, how_are_you, again = SMALL_TALK[language]
    assert texts(chat(hello)) == [response_text("utter_greet", language, bot_name="Mila")]
    assert texts(chat(how_are_you)) == [response_text("utter_how_are_you", language, bot_name="Mila")]
    assert texts(chat(again)) == [response_text("utter_greet_again", language)]


@pytest.mark.parametrize(
    ("language", "question", "leaving"),
    [
        ("nl", "ik ben mijn pincode vergeten", "bedankt, daag"),
        ("fr", "j'ai oublié mon code pin", "merci, bonne journée"),
        ("en", "I forgot my PIN code", "thanks, bye"),
    ],
)
def test_thanks_that_take_leave_get_a_goodbye(chat, language: str, question: str, leaving: str) -> None:
    """ "thanks, bye" got "You're welcome! Is there anything else I can help you with?"."""
    chat(question)
    assert texts(chat(leaving)) == [response_text("utter_goodbye", language)]


WRAPPED = {
    "nl": "Hallo, mijn internet is super traag sinds gisteren, wat kan ik doen?",
    "fr": "Bonjour, mon internet est super lent depuis hier, vous pouvez m'aider ?",
    "en": "Hi, my internet is super slow since yesterday, what can I do?",
}


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_a_problem_wrapped_in_what_can_i_do_gets_its_answer(chat, language: str) -> None:
    """ "..., wat kan ik doen?" got "is it about one of these?": the help request read as the
    question what the assistant can do (bot/rasa/nlu/filler.py)."""
    body = chat(WRAPPED[language])
    assert body["language"] == language and body["owner"] == "bot"
    assert texts(body) == [
        response_text("utter_coverage_slow_data", language),
        response_text("utter_did_this_help", language),
    ]


STILL_UNSOLVED = {
    "nl": "IK HEB AL 3 KEER GEBELD EN NOG STEEDS GEEN OPLOSSING VOOR MIJN FACTUUR",
    "fr": "J'AI DÉJÀ APPELÉ 3 FOIS ET TOUJOURS PAS DE SOLUTION POUR MA FACTURE",
    "en": "I'VE CALLED 3 TIMES AND STILL NO SOLUTION FOR MY BILL",
}


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_still_no_solution_in_a_first_message_is_a_complaint_for_a_person(chat, language: str) -> None:
    """The Dutch one was handed over as fraud ("block your SIM now")."""
    body = chat(STILL_UNSOLVED[language])
    assert body["owner"] == "queued"
    assert texts(body)[0] == response_text("utter_escalate_complaint", language)


DO_IT_FOR_ME = {
    "nl": ("mijn gsm is gestolen, hoe blokkeer ik mijn simkaart", "kun jij dat niet voor mij regelen?"),
    "fr": ("on m'a volé mon téléphone, comment bloquer ma carte sim", "vous pouvez le faire pour moi ?"),
    "en": ("my phone was stolen, how do I block my sim", "can't you just do it for me?"),
}


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_asking_the_bot_to_do_what_its_answer_says_goes_to_a_person(chat, language: str) -> None:
    """ "can you do it for me?" after the lost-phone steps got the list of what the assistant can
    do; "yes please block it" an unrelated article (bot/rasa/nlu/do_for_me.py)."""
    question, ask = DO_IT_FOR_ME[language]
    assert texts(chat(question)) == [response_text("utter_sim_lost_stolen", language)]
    handed = chat(ask)
    assert handed["owner"] == "queued"
    assert texts(handed)[0] == gateway_text("escalate_do_for_me_block", language)  # with the 24/7 line


@pytest.mark.parametrize(
    ("request_", "problem", "language"),
    [
        ("parlez-vous français ?", "ma 4g ne marche plus", "fr"),
        ("can we speak english?", "my 4g doesn't work", "en"),
        ("spreek je Nederlands?", "mijn 4g werkt niet meer", "nl"),
    ],
)
def test_a_first_message_asking_for_a_language_is_followed_by_answers_in_it(
    chat, request_: str, problem: str, language: str
) -> None:
    """The router answers the request itself; Rasa then answered "ma 4g ne marche plus" in Dutch
    (a session started in the default language by the language slot's sync)."""
    assert chat(request_)["language"] == language
    assert texts(chat(problem))[0] == response_text("utter_coverage_slow_data", language)


CANCEL_IT = {
    "nl": ("hoe stel ik doorschakelen in", "en hoe zet ik het stop?"),
    "fr": ("comment activer le renvoi d'appel", "et comment je l'annule ?"),
    "en": ("how do I set up call forwarding", "and how do I cancel it?"),
}


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_how_to_cancel_what_the_answer_named_stays_with_the_bot(chat, language: str) -> None:
    """ "and how do I cancel it?" after call forwarding went to a person as a cancellation of the
    subscription (0.6 alone): read with the question before it, it is the article's."""
    question, cancel_it = CANCEL_IT[language]
    assert chat(question)["owner"] == "bot"
    body = chat(cancel_it)
    assert body["owner"] == "bot" and body["language"] == language
    assert response_text("utter_escalate_cancellation", language) not in texts(body)


TWO_QUESTIONS = {
    "nl": "hoe herlaad ik mijn prepaid kaart? en hoe stel ik mijn voicemail in?",
    "fr": "comment je recharge ma carte prépayée ? et comment désactiver ma messagerie vocale ?",
    "en": "how do I top up my prepaid and how do I turn off voicemail",
}
TWO_ARTICLES = {"nl": ("prepaid_topup", "voicemail_setup"), "fr": ("prepaid_topup", "voicemail_disable")}


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_two_questions_in_one_message_get_both_answers(chat, language: str) -> None:
    """Read as one, two questions got one answer or "I can't answer that one well yet": each is
    answered, then one "did this help?" (bot/core/two_questions.py)."""
    centre = load_help_centre()
    first, second = TWO_ARTICLES.get(language, ("prepaid_topup", "voicemail_disable"))
    body = chat(TWO_QUESTIONS[language])
    assert body["owner"] == "bot" and body["language"] == language
    answers = texts(body)
    assert answers[0].startswith(centre.get(first, language).body)
    assert answers[1].startswith(centre.get(second, language).body)
    assert answers[-1] == response_text("utter_did_this_help", language)
    assert answers.count(response_text("utter_did_this_help", language)) == 1


STATEMENT_AND_QUESTION = {
    "nl": "mijn factuur is veel te hoog en wanneer moet ik die betalen?",
    "fr": "ma facture est trop élevée et quand est-ce que je dois la payer ?",
    "en": "my bill is too high and when do i have to pay it?",
}


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_a_complaint_and_a_question_get_both_answers(chat, language: str) -> None:
    """ "my bill is too high and when do i have to pay it?" got only the higher-bill answer: a
    statement, then a full question of its own, is two questions too (bot/core/two_questions.py)."""
    body = chat(STATEMENT_AND_QUESTION[language])
    assert body["owner"] == "bot" and body["language"] == language
    answers = texts(body)
    assert answers[0] == response_text("utter_billing_higher_than_usual", language)
    assert answers[1] == response_text("utter_billing_due_date", language)


PHONE_ADVICE = {
    "nl": "kun je me een goede gsm aanraden?",
    "fr": "vous pouvez me conseiller un bon téléphone ?",
    "en": "can you recommend a good phone?",
}


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_a_question_naming_no_place_is_not_asked_for_a_town(chat, language: str) -> None:
    """ "can you recommend a good phone?" got "Which town or postcode would you like me to
    check?" (the coverage question, 0.52): it names no place nor the network
    (bot/rasa/nlu/place_question.py)."""
    body = chat(PHONE_ADVICE[language])
    assert body["owner"] == "bot" and body["language"] == language
    assert response_text("utter_ask_place", language) not in texts(body)
    assert (
        "buy_phone" in str(body["replies"])
        or load_help_centre().get("buy_phone", language).body in texts(body)[0]
    )


LIVING_ABROAD = {
    "nl": "ik verhuis volgende maand naar nederland, kan ik mijn nummer houden?",
    "fr": "je déménage en france le mois prochain, je peux garder mon numéro ?",
    "en": "I'm moving to the netherlands next month, can I keep my number?",
}


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_moving_abroad_is_not_moving_house(chat, language: str) -> None:
    """ "I'm moving to the netherlands next month, can I keep my number?" got "your plan simply
    moves with you, update your address": moving abroad is another question (roaming is for
    travel, a Belgian number can't go to a foreign operator)."""
    body = chat(LIVING_ABROAD[language])
    assert body["owner"] == "bot" and body["language"] == language
    assert load_help_centre().get("living_abroad", language).body in texts(body)[0]


PLANS = {
    "nl": ("welke abonnementen hebben jullie?", "welke is het goedkoopst?"),
    "fr": ("quels forfaits proposez-vous ?", "lequel est le moins cher ?"),
    "en": ("what plans do you have?", "which one is cheapest?"),
}


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_which_is_cheapest_points_at_the_prices_just_given(chat, language: str) -> None:
    """ "welke is het goedkoopst?" right after the plans got the whole list a second time."""
    question, cheapest = PLANS[language]
    plans = load_help_centre().get("plans_overview", language).body
    assert plans in texts(chat(question))[0]
    body = chat(cheapest)
    assert plans not in texts(body)[0] and "15" in texts(body)[0]


SMARTWATCH = {
    "nl": ("ik wil een esim voor mijn apple watch", "hoeveel kost dat?"),
    "fr": ("je veux une esim pour ma montre apple", "ça coûte combien"),
    "en": ("I want an esim for my apple watch", "how much does it cost?"),
}


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_what_it_costs_right_after_an_answer_is_asked_about_that_answer(chat, language: str) -> None:
    """ "ça coûte combien" after the smartwatch eSIM answer got the roaming charges: alone it reads
    as roaming (0.68); right after an answer it asks what that costs (5 euros a month)."""
    question, cost = SMARTWATCH[language]
    watch = load_help_centre().get("esim_smartwatch", language).body
    assert watch in texts(chat(question))[0]
    body = chat(cost)
    assert body["owner"] == "bot" and body["language"] == language
    assert watch not in texts(body)[0] and "5 euro" in texts(body)[0]


ASKS_FOR_A_PERSON = {
    "nl": "mijn factuur is veel te hoog, ik wil met een medewerker praten",
    "fr": "ma facture est trop élevée et je veux parler à quelqu'un",
    "en": "no signal at home since monday, can I speak to someone please",
}


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_a_request_for_a_person_beside_a_question_goes_to_a_person(chat, language: str) -> None:
    """ "ma facture est trop élevée et je veux parler à quelqu'un" got the higher-bill answer:
    the customer asked for a person, who takes over (bot/rasa/nlu/asks_for_person.py)."""
    body = chat(ASKS_FOR_A_PERSON[language])
    assert body["owner"] == "queued" and body["language"] == language
    assert texts(body)[0] == response_text("utter_escalate_request_human", language)


INSTALMENTS = {
    "nl": ("mijn factuur is veel hoger dan normaal", "kan ik die in twee keer betalen?"),
    "fr": ("ma facture est beaucoup plus élevée que d'habitude", "ok et je peux payer en 2 fois ?"),
    "en": ("my bill is much higher than usual", "can I pay it in 2 goes?"),
}


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_paying_in_instalments_goes_to_a_person(chat, language: str) -> None:
    """ "ok et je peux payer en 2 fois ?" after the higher-bill answer got "did you mean: due
    date / refund?" ("payé deux fois" is a refund): a payment arrangement is for a colleague."""
    bill, instalments = INSTALMENTS[language]
    chat(bill)
    body = chat(instalments)
    assert body["owner"] == "queued" and body["language"] == language
    assert texts(body)[0] == response_text("utter_escalate_payment_difficulty", language)


NOT_REGISTERED_ABROAD = {
    "nl": "hallo, mijn gsm zegt 'sim niet geregistreerd' sinds ik in frankrijk ben",
    "fr": "bonjour, mon téléphone affiche 'SIM non enregistrée' depuis que je suis en Espagne",
    "en": "hi, my phone says 'sim not registered' since I got to Italy",
}


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_a_phone_not_registered_abroad_is_no_fraud(chat, language: str) -> None:
    """ "mijn gsm zegt 'sim niet geregistreerd' sinds ik in frankrijk ben" was handed over as
    fraud ("That's serious ... block your SIM now"): it is the phone's network status abroad."""
    body = chat(NOT_REGISTERED_ABROAD[language])
    assert body["owner"] == "bot" and body["language"] == language
    assert texts(body)[0] == response_text("utter_coverage_abroad", language)


PHISHING = {
    "nl": (
        "ik kreeg een sms met een link om mijn pakje te betalen, is dat van jullie?",
        "ik heb al op de link geklikt",
    ),
    "fr": (
        "j'ai reçu un sms avec un lien pour payer mon colis, c'est de chez vous ?",
        "j'ai déjà cliqué sur le lien",
    ),
    "en": ("got a text with a link to pay for my parcel, is that from you?", "I already clicked the link"),
}


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_a_customer_who_clicked_the_phishing_link_goes_to_a_person(chat, language: str) -> None:
    """ "ik heb al op de link geklikt" after the spam-SMS article got the whole article again (in
    English "logged out"): the customer may have given their line away, a fraud case for a person
    (bot/rasa/nlu/phishing.py)."""
    question, clicked = PHISHING[language]
    assert chat(question)["owner"] == "bot"
    body = chat(clicked)
    assert body["owner"] == "queued" and body["language"] == language
    assert texts(body)[0] == response_text("utter_escalate_fraud", language)
