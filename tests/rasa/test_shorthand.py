"""Chat shorthand and Flemish spoken forms: read as written words, the typed text kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.rasa.nlu.shorthand import (
    SHORTHAND,
    SHORTHAND_TEXT,
    ChatShorthand,
    capitalised_places,
    text_for_features,
    unshouted,
    written_out,
)

ROOT = Path(__file__).resolve().parents[2]


def tokenised(*texts: str) -> list[Message]:
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    messages = [Message(data={TEXT: t}) for t in texts]
    tokenizer.process(messages)
    return messages


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ("kunde gij eens zien wa da kost", "kun je jij eens zien wat dat kost"),
        ("Ik heb NIE genoeg data", "Ik heb niet genoeg data"),
        (
            "jveux savoir qd ma sim arrive, bcp de retard",
            "je veux savoir quand ma sim arrive, beaucoup de retard",
        ),
        ("how much r ur roaming fees b4 the 5th pls", "how much are your roaming fees before the 5th please"),
    ],
)
def test_shorthand_is_written_out(typed: str, written: str) -> None:
    assert written_out(typed) == written


@pytest.mark.parametrize(
    "ordinary",
    [
        "kan u mij helpen met mijn factuur",  # Dutch polite "you"
        "la facture dont je parle",  # French "whose"
        "ni la 4G ni la 5G ne marchent",
        "c'est g\u00e9nial",
        "my data is gone",
    ],
)
def test_ordinary_words_of_the_three_languages_are_left_alone(ordinary: str) -> None:
    assert written_out(ordinary) == ordinary
    [message] = ChatShorthand({}).process(tokenised(ordinary))
    assert message.get(SHORTHAND_TEXT) is None
    assert all(t.lemma == t.text for t in message.get(TOKENS_NAMES[TEXT]))


def test_the_typed_text_and_token_offsets_stay_the_lemmas_change() -> None:
    """Entities, the transcript and the reply language read the text as typed."""
    [message] = ChatShorthand({}).process(tokenised("hebde gij mijn betaling al gezien"))
    assert message.get(TEXT) == "hebde gij mijn betaling al gezien"
    tokens = message.get(TOKENS_NAMES[TEXT])
    assert [(t.text, t.start, t.end) for t in tokens[:2]] == [("hebde", 0, 5), ("gij", 6, 9)]
    assert [t.lemma for t in tokens[:3]] == ["heb je", "jij", "mijn"]
    assert text_for_features(message) == "heb je jij mijn betaling al gezien"


def test_character_ngrams_of_shorthand_match_the_written_form(tmp_path: Path) -> None:
    """The count vectors read lemmas: 'wa da kost' is featurised as 'wat dat kost'."""
    typed, written = tokenised("wa da kost", "wat dat kost")
    ChatShorthand({}).process([typed])
    featurizer = CountVectorsFeaturizer(
        {
            **CountVectorsFeaturizer.get_default_config(),
            "analyzer": "char_wb",
            "min_ngram": 2,
            "max_ngram": 4,
        },
        LocalModelStorage(tmp_path),
        Resource("count_vectors"),
        ExecutionContext(GraphSchema({}), node_name="count_vectors"),
    )
    featurizer.train(
        TrainingData([Message(data={TEXT: "wat dat kost", "intent": "x"}), *tokenised("andere")])
    )
    featurizer.process([typed, written])
    vectors = [m.get_sparse_features(TEXT)[1].features.toarray() for m in (typed, written)]
    assert np.array_equal(vectors[0], vectors[1])


def test_training_examples_get_the_same_treatment() -> None:
    data = TrainingData(tokenised("kwil nen nieuwe sim"))
    ChatShorthand({}).process_training_data(data)
    assert data.training_examples[0].get(SHORTHAND_TEXT) == "ik wil een nieuwe sim"


def test_no_shorthand_maps_onto_another_shorthand_or_is_empty() -> None:
    assert all(written and written.lower() not in SHORTHAND for written in SHORTHAND.values())
    assert all(key == key.lower() and " " not in key for key in SHORTHAND)


def test_the_pipeline_reads_shorthand_right_after_the_tokenizer() -> None:
    names = [c["name"] for c in yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]]
    assert names.index("bot.rasa.nlu.shorthand.ChatShorthand") == names.index("WhitespaceTokenizer") + 1


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("WAAROM IS MIJN FACTUUR ZO HOOG??", "Waarom is mijn factuur zo hoog??"),
        ("POURQUOI MA FACTURE EST SI ÉLEVÉE", "Pourquoi ma facture est si élevée"),
        ("!!! WHY IS MY INTERNET NOT WORKING AGAIN", "!!! Why is my internet not working again"),
        ("GEEN BEREIK MEER SINDS GISTEREN in Gent", "Geen bereik meer sinds gisteren in gent"),  # mostly
    ],
)
def test_a_message_in_capitals_is_read_in_lower_case(typed: str, read: str) -> None:
    assert unshouted(typed) == read
    [message] = ChatShorthand({}).process(tokenised(typed))
    assert message.get(TEXT) == typed  # the typed text stays (entities, transcript, language)
    assert text_for_features(message) == read.replace(" gent", " Gent")  # a town keeps its capital


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("en in gent?", "en in Gent?"),
        ("et à gand ?", "et à Gand ?"),
        ("en in namen?", "en in Namen?"),  # not "names": it asked the bot its name
        ("geen bereik in liège en mons", "geen bereik in Liège en Mons"),
        ("mijn scherm is geel", "mijn scherm is geel"),  # a colour first
        ("in Gent", "in Gent"),
    ],
)
def test_a_belgian_town_in_lower_case_is_read_with_its_capital(typed: str, read: str) -> None:
    assert capitalised_places(typed) == read
    [message] = ChatShorthand({}).process(tokenised(typed))
    assert message.get(TEXT) == typed and text_for_features(message) == read


@pytest.mark.parametrize(
    "ordinary", ["Is er 5G in Gent?", "my PIN and PUK", "SIM", "SMS OK", "Mijn IBAN is BE12 3456 7890 1234"]
)
def test_ordinary_capitals_and_short_abbreviations_are_left_alone(ordinary: str) -> None:
    assert unshouted(ordinary) == ordinary


def test_shouted_shorthand_is_written_out_in_lower_case() -> None:
    [message] = ChatShorthand({}).process(tokenised("WA KOST DA NU WEER"))
    assert text_for_features(message) == "wat kost dat nu weer"
