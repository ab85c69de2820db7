"""Shapes shared by our pipeline components.

``ConfiguredComponent``: untrained, built from its default config updated with the pipeline's.
``StoredComponent``: trained, its state written to and read back from its model resource.
``NotHelped``: untrained, turns a short message that means "the answer did not help" into ``deny``.
``first_in_ranking``: one answer put on top of the intent ranking without hiding a sensitive case.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Dict, List, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.core.taxonomy import is_escalation


class ConfiguredComponent(GraphComponent):
    """A component built from ``get_default_config()`` updated with the pipeline's settings."""

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        return cls({**cls.get_default_config(), **config})


class NotHelped(ConfiguredComponent):
    """A message ``reads`` says means "the answer did not help" ("I already did that", "can you
    do it for me?") becomes ``deny`` with ``flag`` set: right after an answer a person takes
    over. A sensitive case or a request for a person keeps its intent."""

    flag = ""

    @staticmethod
    def reads(text: str) -> bool:
        raise NotImplementedError

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {}

    def __init__(self, config: Dict[str, Any]) -> None:
        self.config = config

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            name = str((message.get(INTENT) or {}).get("name") or "")
            if is_escalation(name) or not self.reads(message.get(TEXT) or ""):
                continue
            message.set(INTENT, {"name": "deny", "confidence": 1.0}, add_to_output=True)
            message.set(self.flag, True, add_to_output=True)
        return messages


class StoredComponent(GraphComponent):
    """A trained component that keeps its state in its model resource.

    Subclasses implement ``restore(state)`` (``None``: nothing trained or nothing readable) and
    ``read(folder)``; ``train`` writes through ``self.storage()``. A model without the resource
    (an older model, a component added later) loads as untrained rather than failing.
    """

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        state: Any = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage, self._resource = model_storage, resource
        self.restore(state)

    def restore(self, state: Any) -> None:
        raise NotImplementedError

    @classmethod
    def read(cls, folder: Path) -> Any:
        raise NotImplementedError

    def storage(self) -> AbstractContextManager[Path]:
        """The folder to write the trained state to (``with self.storage() as folder``)."""
        return self._model_storage.write_to(self._resource)

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> GraphComponent:
        try:
            with model_storage.read_from(resource) as folder:
                state = cls.read(folder)
        except (ValueError, OSError):
            state = None
        return cls(config, model_storage, resource, state)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


def first_in_ranking(
    name: str, confidence: float, ranking: List[Dict[str, Any]]
) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    """``name`` on top with ``confidence``; the ordinary intents share what it leaves, escalation
    intents keep their own confidence so the escalation guard after the decision still sees a
    fraud report or a complaint."""
    decided = {"name": name, "confidence": confidence}

    def share(entry: Dict[str, Any]) -> float:
        return 1.0 if is_escalation(entry["name"]) else 1.0 - confidence

    rest = [
        {"name": e["name"], "confidence": float(e["confidence"]) * share(e)}
        for e in ranking
        if e["name"] != name
    ]
    return decided, [decided, *sorted(rest, key=lambda e: -e["confidence"])]
