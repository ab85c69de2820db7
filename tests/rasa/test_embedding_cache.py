"""The training-time cache of sentence embeddings (bot/rasa/nlu/embedding_cache.py).

A fake encoder stands in for the real ones (they are exercised by every trained model): it
records what it was asked to encode, so each test sees which texts were encoded again.
"""

from __future__ import annotations

from pathlib import Path
from typing import List

import numpy as np
import pytest
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.rasa.nlu import featurizer
from bot.rasa.nlu.embedding_cache import EmbeddingCache, encode_with_cache, encoder_version
from bot.rasa.nlu.featurizer import MultilingualSentenceFeaturizer
from bot.rasa.nlu.shorthand import SHORTHAND_TEXT


class FakeEncoder:
    def __init__(self) -> None:
        self.seen: List[List[str]] = []

    def __call__(self, texts: List[str]) -> np.ndarray:
        self.seen.append(list(texts))
        return np.array([[len(t), sum(map(ord, t)) % 97, 1.5] for t in texts], dtype=np.float32)

    @property
    def encoded(self) -> List[str]:
        return [text for batch in self.seen for text in batch]


def test_a_second_run_encodes_only_the_new_texts(tmp_path: Path) -> None:
    cache, encoder = EmbeddingCache(tmp_path, "use", "1.0"), FakeEncoder()
    first = encode_with_cache(["hoe betaal ik", "ma facture", "my bill"], encoder, cache, batch=2)
    assert encoder.encoded == ["hoe betaal ik", "ma facture", "my bill"]
    assert [len(batch) for batch in encoder.seen] == [2, 1]

    again = FakeEncoder()
    second = encode_with_cache(["my bill", "a new question", "hoe betaal ik"], again, cache, batch=2)
    assert again.encoded == ["a new question"]
    assert second[0].tolist() == first[2].tolist() and second[2].tolist() == first[0].tolist()
    assert second[1].tolist() == encoder(["a new question"])[0].tolist()
    assert all(v.dtype == np.float32 for v in second)


def test_a_text_repeated_in_the_data_is_encoded_once(tmp_path: Path) -> None:
    encoder = FakeEncoder()
    vectors = encode_with_cache(["hallo", "hallo", "bonjour"], encoder, EmbeddingCache(tmp_path, "e5"), 64)
    assert encoder.encoded == ["hallo", "bonjour"]
    assert vectors[0].tolist() == vectors[1].tolist()


def test_another_encoder_or_release_never_reads_the_old_vectors(tmp_path: Path) -> None:
    encode_with_cache(["hallo"], FakeEncoder(), EmbeddingCache(tmp_path, "use", "0.2.1"), 64)
    for cache in (EmbeddingCache(tmp_path, "use", "0.3.0"), EmbeddingCache(tmp_path, "e5", "0.2.1")):
        encoder = FakeEncoder()
        encode_with_cache(["hallo"], encoder, cache, 64)
        assert encoder.encoded == ["hallo"]


def test_the_version_is_the_installed_package_release() -> None:
    assert encoder_version("e5") not in ("", "unknown")
    assert encoder_version("no-such-encoder") == "unknown"


def test_a_broken_cache_file_costs_time_not_the_training(tmp_path: Path, caplog) -> None:
    (tmp_path / "use.sqlite").write_bytes(b"this is not a database" * 100)
    encoder = FakeEncoder()
    vectors = encode_with_cache(["hallo", "salut"], encoder, EmbeddingCache(tmp_path, "use"), 64)
    assert encoder.encoded == ["hallo", "salut"] and len(vectors) == 2
    assert "unreadable" in caplog.text


@pytest.fixture
def fake_use(monkeypatch: pytest.MonkeyPatch) -> FakeEncoder:
    encoder = FakeEncoder()
    monkeypatch.setitem(featurizer._ENCODERS, "use", encoder)
    return encoder


def component(cache: Path | str) -> MultilingualSentenceFeaturizer:
    config = {**MultilingualSentenceFeaturizer.get_default_config(), "model": "use", "cache": str(cache)}
    return MultilingualSentenceFeaturizer(config, "use")


def training_data(*texts: str) -> TrainingData:
    return TrainingData([Message(data={TEXT: text, "intent": "x"}) for text in texts])


def test_training_reads_and_fills_the_cache(tmp_path: Path, fake_use: FakeEncoder) -> None:
    component(tmp_path).process_training_data(training_data("hoe betaal ik", "kunde mij helpen"))
    assert (tmp_path / "use.sqlite").is_file()
    data = training_data("hoe betaal ik", "kunde mij helpen", "nieuwe vraag")
    fake_use.seen.clear()
    component(tmp_path).process_training_data(data)
    assert fake_use.encoded == ["nieuwe vraag"]
    _, sentence = data.training_examples[0].get_dense_features(TEXT)
    assert sentence.features.tolist() == [[13.0, sum(map(ord, "hoe betaal ik")) % 97, 1.5]]


def test_the_cache_keys_the_text_the_encoder_reads(tmp_path: Path, fake_use: FakeEncoder) -> None:
    """The written-out chat shorthand, not the typed text: a changed shorthand rule encodes again."""
    typed = Message(data={TEXT: "kunde mij helpen", "intent": "x", SHORTHAND_TEXT: "kunt ge mij helpen"})
    component(tmp_path).process_training_data(TrainingData([typed]))
    assert fake_use.encoded == ["kunt ge mij helpen"]
    rewritten = Message(data={TEXT: "kunde mij helpen", "intent": "x", SHORTHAND_TEXT: "kunt u mij helpen"})
    component(tmp_path).process_training_data(TrainingData([rewritten]))
    assert fake_use.encoded == ["kunt ge mij helpen", "kunt u mij helpen"]


def test_a_message_at_run_time_never_touches_the_cache(tmp_path: Path, fake_use: FakeEncoder) -> None:
    messages = [Message(data={TEXT: "hoe betaal ik"})]
    component(tmp_path / "cache").process(messages)
    assert not (tmp_path / "cache").exists()
    assert fake_use.encoded == ["hoe betaal ik"]


def test_an_empty_cache_setting_turns_it_off(tmp_path: Path, fake_use: FakeEncoder, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    component("").process_training_data(training_data("hallo"))
    component("").process_training_data(training_data("hallo"))
    assert fake_use.encoded == ["hallo", "hallo"]
    assert list(tmp_path.iterdir()) == []
