"""Rasa NLU messages for components tested on tiny hand-made models."""

from __future__ import annotations

import numpy as np
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message


def message(vector: list[float]) -> Message:
    """A message whose sentence features (as the USE featuriser adds them) are ``vector``."""
    m = Message({"text": "x"})
    m.add_features(Features(np.array([vector], dtype=np.float32), "sentence", "text", "use"))
    return m


def classified(text: str, intent: str, confidence: float) -> Message:
    """A message the classifier gave ``intent`` with ``confidence``, as the pipeline's later steps see it."""
    m = Message({"text": text})
    m.set("intent", {"name": intent, "confidence": confidence}, add_to_output=True)
    return m
