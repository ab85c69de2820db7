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
