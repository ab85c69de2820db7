"""Where the caller is and where the call goes: cues the sentence encoders cannot see."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.rasa.nlu.cues import folded
from bot.rasa.nlu.whereabouts import CUES, CallWhereabouts, whereabouts

ROOT = Path(__file__).resolve().parents[2]


def cues(text: str) -> set[str]:
    return {cue for cue, shown in whereabouts(text).items() if shown}


@pytest.mark.parametrize(
    "text",
    [
        "what do calls to Ecuador cost from Namur",
        "ik bel elke week vanuit Gent naar mijn zus in Spanje",
        "prix d'un appel vers la Roumanie depuis Wavre",
        "je téléphone au Sénégal d'ici, combien par minute",
    ],
)
def test_calling_abroad_from_home(text: str) -> None:
    assert {"caller_in_belgium", "to_foreign"} <= cues(text)
    assert not {"caller_abroad", "to_belgium"} & cues(text)


@pytest.mark.parametrize(
    "text",
    [
        "I'm in Peru, what does ringing Belgium cost",
        "vanuit Turkije naar een Belgisch nummer bellen, wat kost dat",
        "en vacances en Grèce, appeler la Belgique c'est cher ?",
        "zit op reis in Polen, kost bellen naar huis veel",
    ],
)
def test_calling_home_from_abroad(text: str) -> None:
    assert {"caller_abroad", "to_belgium"} <= cues(text)
    assert not {"caller_in_belgium", "to_foreign"} & cues(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("calling my brother in Italy", {"to_foreign"}),  # where the callee is, not the caller
        ("bellen in Frankrijk, is dat gratis", {"caller_abroad"}),  # Dutch "in": the caller
        ("appeler en France, c'est gratuit ?", {"to_foreign"}),  # French "en": the destination
        ("un numéro marocain", {"to_foreign"}),
        ("a Belgian landline", {"to_belgium"}),
        ("here in Portugal I have no signal", {"caller_abroad"}),
        ("what does roam like at home mean", set()),
        ("can I use my phone in Morocco", set()),  # "phone" is a noun here
        ("wie wint de hoofdstad van Australië", set()),  # Dutch "van" is not "from"
        ("heading to Morocco next week", {"caller_abroad"}),
        ("my bill is too high", set()),
        # talking with someone abroad is calling them
        ("how much does it cost to talk to someone in Morocco", {"to_foreign"}),
        ("wat kost het om met mijn familie in Turkije te praten", {"to_foreign"}),
        ("parler à ma mère au Maroc ça coûte combien", {"to_foreign"}),
        ("talk to someone in the shop", set()),
    ],
)
def test_each_cue_reads_the_words_around_the_place(text: str, expected: set[str]) -> None:
    assert cues(text) == expected


def test_text_is_folded_before_matching() -> None:
    assert folded("Appeler l’Algérie  depuis  Liège!") == "appeler l'algerie depuis liege"
    assert cues("APPELER L’ALGÉRIE DEPUIS LIÈGE") == cues("appeler l'algerie depuis liege")


def test_the_component_adds_the_four_cues_as_one_dense_sentence_feature() -> None:
    component = CallWhereabouts({**CallWhereabouts.get_default_config(), "weight": 2.0}, "whereabouts")
    messages = [Message(data={TEXT: "call Turkey from Belgium"}), Message(data={TEXT: "hallo"})]
    component.process(messages)
    _, sentence = messages[0].get_dense_features(TEXT)
    assert sentence.features.tolist() == [[2.0, 0.0, 2.0, 0.0]]
    assert [c for c, v in zip(CUES, sentence.features[0], strict=True) if v] == [
        "caller_in_belgium",
        "to_foreign",
    ]
    _, quiet = messages[1].get_dense_features(TEXT)
    assert np.count_nonzero(quiet.features) == 0


def test_training_examples_get_the_feature_too() -> None:
    component = CallWhereabouts(CallWhereabouts.get_default_config(), "whereabouts")
    data = TrainingData([Message(data={TEXT: "bellen vanuit Spanje naar België", "intent": "x"})])
    component.process_training_data(data)
    _, sentence = data.training_examples[0].get_dense_features(TEXT)
    assert sentence.features.tolist() == [[0.0, 1.0, 0.0, 1.0]]


def test_the_pipeline_runs_it_after_the_sentence_encoders() -> None:
    names = [c["name"] for c in yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]]
    assert names.index("bot.rasa.nlu.whereabouts.CallWhereabouts") > max(
        i for i, n in enumerate(names) if n.endswith("MultilingualSentenceFeaturizer")
    )


@pytest.mark.parametrize(
    "hostile",
    ["", "\x00\x1b[31m\u202e\x7f", '/inform_code{"code":"123456"}', "<script>alert(1)</script>", "de " * 666],
)
def test_hostile_text_shows_no_cue(hostile: str) -> None:
    assert cues(hostile) == set()


def test_markup_around_a_real_question_does_not_hide_its_cues() -> None:
    assert cues("<b>call Turkey from Belgium</b>") == {"caller_in_belgium", "to_foreign"}
