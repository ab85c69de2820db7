"""Rasa NLU component that makes the reply language explicit on every message.

The router decides the language with the conversation's history and the channel's
locale, and passes it as ``metadata.language``. Without metadata (``rasa shell``,
``rasa test``, a direct REST call) the component detects the language itself.
The language is emitted as the ``language`` entity, which fills the ``language``
slot that every response variant is conditioned on.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.language import Detector, choose_language, default_detector
from bot.settings import SUPPORTED_LANGUAGES, Settings

ENTITY = "language"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class LanguageTagger(GraphComponent, EntityExtractorMixin):
    """Adds the ``language`` entity (nl, fr or en) to every parsed message."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {}

    def __init__(self, settings: Settings, detector: Detector) -> None:
        self.settings = settings
        self.detector = detector

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageTagger:
        return cls(Settings.from_env(), default_detector())

    def language_for(self, message: Message) -> str | None:
        """The router's decision if given, else a clear signal in the text, else None.

        None leaves the ``language`` slot as it was (set at session start to the default).
        """
        metadata = message.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        given = metadata.get("language")
        if isinstance(given, str) and given in SUPPORTED_LANGUAGES:
            return given
        choice = choose_language(
            message.get(TEXT) or "",
            current=None,
            locale=None,
            default=self.settings.default_language,
            detector=self.detector,
            threshold=self.settings.language_confidence,
        )
        return choice.language if choice.source in ("detected", "marker") else None

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if message.get(TEXT) is None:
                continue
            language = self.language_for(message)
            if language is None:
                continue
            entity = {
                "entity": ENTITY,
                "value": language,
                "start": 0,
                "end": 0,
                "confidence_entity": 1.0,
                "extractor": self.__class__.__name__,
            }
            message.set(ENTITIES, [*(message.get(ENTITIES) or []), entity], add_to_output=True)
        return messages
