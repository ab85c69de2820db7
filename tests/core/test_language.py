import pytest

from bot.core.language import choose_language, default_detector, locale_language


def choose(text: str, current: str | None = None, locale: str | None = None, default: str = "nl"):
    return choose_language(
        text,
        current=current,
        locale=locale,
        default=default,
        detector=default_detector(),
        threshold=0.7,
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        ("waarom moest ik deze maand 40 euro meer betalen", "nl"),
        ("mijn gsm zegt geen simkaart", "nl"),
        ("pourquoi ma facture est plus élevée ce mois-ci", "fr"),
        ("ça capte pas chez moi à Namur", "fr"),
        ("why is my bill higher than last month", "en"),
        ("how do I activate my new sim card", "en"),
    ],
)
def test_clear_messages_are_detected(text: str, expected: str) -> None:
    choice = choose(text, current=None)
    assert (choice.language, choice.source) == (expected, "detected")


@pytest.mark.parametrize("text", ["ok", "merci", "sim", "OK!", "👍", "1234", "/billing_due_date"])
@pytest.mark.parametrize("current", ["nl", "fr", "en"])
def test_short_or_ambiguous_messages_keep_the_conversation_language(text: str, current: str) -> None:
    choice = choose(text, current=current)
    assert (choice.language, choice.source) == (current, "conversation")


def test_a_clear_switch_mid_chat_switches() -> None:
    assert choose("bonjour, je voudrais une copie de ma facture", current="nl").language == "fr"
    assert choose("can you help me in English please", current="fr").language == "en"


def test_a_short_word_does_not_switch_an_ongoing_conversation() -> None:
    assert choose("bonjour", current="en").language == "en"


@pytest.mark.parametrize("current", ["nl", "fr", "en"])
def test_a_keyboard_mash_keeps_the_conversation_language(current: str) -> None:
    assert choose("zxqv plorf vrmmt", current=current).language == current
    assert choose("sdfghj qsdf wxcvb", current=current).language == current


def test_abbreviations_still_help_a_real_switch() -> None:
    assert choose("mijn gsm werkt niet meer", current="fr").language == "nl"
    assert choose("mon gsm ne capte plus depuis ce matin", current="nl").language == "fr"


@pytest.mark.parametrize(
    "text, expected", [("hallo", "nl"), ("hoi", "nl"), ("bonjour", "fr"), ("hello", "en")]
)
def test_greeting_words_open_a_new_conversation_in_their_language(text: str, expected: str) -> None:
    assert choose(text, current=None, locale="fr-BE").language == expected


def test_new_conversation_without_signal_uses_locale_then_default() -> None:
    assert choose("ok", current=None, locale="fr-BE").language == "fr"
    assert choose("ok", current=None, locale="en_GB").source == "locale"
    assert choose("ok", current=None, locale="de-DE", default="en").language == "en"
    assert choose("sim", current=None, locale=None, default="fr").source == "default"


@pytest.mark.parametrize(
    "locale, expected",
    [("fr-BE", "fr"), ("nl", "nl"), ("EN_us", "en"), ("de", None), (None, None), ("", None)],
)
def test_locale_language(locale: str | None, expected: str | None) -> None:
    assert locale_language(locale) == expected


@pytest.mark.parametrize(
    "text, expected",
    [("can I get 5G in Mechelen?", "en"), ("en in Vilvoorde dan?", "nl"), ("et à Namur ?", "fr")],
)
def test_place_names_do_not_decide_the_language(text: str, expected: str) -> None:
    assert choose(text, current=None).language == expected


def test_a_place_name_alone_keeps_the_conversation_language() -> None:
    assert choose("Kortrijk", current="en").language == "en"
    assert choose("3000", current="fr").language == "fr"


def test_content_words_drop_payloads_and_proper_names() -> None:
    from bot.core.language import content_words

    assert content_words("/billing_due_date") == []
    assert content_words("is er bereik in Gent") == ["is", "er", "bereik", "in"]
    assert content_words("MIJN FACTUUR") == ["mijn", "factuur"]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("bjr ma sim marche pas", "fr"),
        ("svp", "fr"),
        ("factuur te hoog aub", "nl"),
        ("thx", "en"),
        ("sim card broken pls", "en"),
    ],
)
def test_a_chat_abbreviation_decides_a_new_conversation_over_the_locale(text: str, language: str) -> None:
    chosen = choose_language(
        text,
        current=None,
        locale="nl-BE" if language != "nl" else "fr-BE",
        default="nl",
        detector=default_detector(),
        threshold=0.55,
    )
    assert chosen.language == language


def test_an_abbreviation_never_switches_an_ongoing_conversation() -> None:
    chosen = choose_language(
        "ok thx", current="nl", locale=None, default="nl", detector=default_detector(), threshold=0.55
    )
    assert chosen.language == "nl"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("what does the line 'verbruik buiten bundel' on my bill mean?", "en"),
        ('my phone says "Aucun service", what now', "en"),
        ("mijn gsm zegt 'pas de carte sim', wat moet ik doen?", "nl"),
        ("le message « geen simkaart » s'affiche sur mon téléphone", "fr"),
    ],
)
def test_quoted_text_is_the_writer_of_the_quote_not_the_customer(text: str, expected: str) -> None:
    assert choose(text, current=None).language == expected


def test_a_quote_that_is_the_whole_message_still_counts() -> None:
    from bot.core.language import content_words

    assert content_words("'geen simkaart'") == ["geen", "simkaart"]
    assert content_words("l'aide svp") == ["l", "aide", "svp"]  # an elision is not a quote


@pytest.mark.parametrize("text", ["we're in Kortrijk", "I'm in Gent", "isn't it", "they've cut me off"])
def test_english_contractions_read_as_english(text: str) -> None:
    assert choose(text, current=None).language == "en"


def test_irregular_contractions_are_spelled_out_as_words() -> None:
    from bot.core.language import content_words

    assert content_words("I can't log in") == ["i", "can", "not", "log", "in"]
    assert content_words("sim won’t connect") == ["sim", "will", "not", "connect"]
    assert content_words("it doesn't work") == ["it", "does", "not", "work"]


def test_dutch_elisions_are_not_taken_for_contractions() -> None:
    assert choose("da's 't zelfde probleem als gisteren", current=None).language == "nl"


@pytest.mark.parametrize("text, expected", [("hè, wat?", "nl"), ("quoi ?", "fr"), ("what?", "en")])
def test_a_customer_who_did_not_follow_is_answered_in_their_language(text: str, expected: str) -> None:
    assert choose(text, current=None, default="fr" if expected != "fr" else "nl").language == expected


@pytest.mark.parametrize(
    "text, expected",
    [("factur trop cher!!!", "fr"), ("trop cher", "fr"), ("nooit ontvangen", "nl"), ("never got it", "en")],
)
def test_a_short_typo_ridden_first_message_is_answered_in_the_language_of_its_adverb(
    text: str, expected: str
) -> None:
    """lingua gave "factur trop cher!!!" French by 0.03 only, so the Dutch default answered a
    French customer; "trop", "nooit", "never" belong to one language each."""
    assert choose(text, current=None, default="nl" if expected != "nl" else "en").language == expected


def test_warm_up_loads_the_models_before_the_first_message() -> None:
    """The gateway warms its detector at start: lingua's models are loaded then (~0.6 s), not
    while the first customer after a restart waits."""
    from bot.core.language import LinguaDetector

    detector = LinguaDetector()
    assert detector._detector is None
    detector.warm_up()
    assert detector._detector is not None
    assert detector.detect("mijn factuur is te hoog").language == "nl"
